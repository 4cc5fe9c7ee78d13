/**
 * One fake FreeSWITCH for many simulated mod_audio_stream calls: it owns a fake Event Socket that
 * voicebot's ESL client logs in to, routes each command to the call whose uuid it names (as
 * FreeSWITCH's mod_commands does, with its replies), and emits the events FreeSWITCH would for a
 * call (DTMF, mod_audio_stream::*, CHANNEL_HANGUP). Bundled into the binary: quiet, no test imports.
 */
import { startFakeEsl, type FakeEsl } from "../../tests/fakes/esl.ts";

/** What FreeSWITCH does to one channel when voicebot commands it; `atMs` is when the command arrived. */
export interface FreeswitchChannel {
  /** `uuid_broadcast <uuid> <path> <leg>`; returns FreeSWITCH's reply. */
  broadcast(path: string, leg: string): string;
  /** `uuid_break <uuid> all`. */
  breakPlayback(atMs: number): void;
  /** `uuid_kill <uuid> [cause]`. */
  kill(cause: string): void;
  /** `uuid_audio_stream <uuid> stop [text]`. */
  stopStream(text: string | null): void;
  /** `uuid_transfer <uuid> <destination…>`. */
  transfer(destination: string, atMs: number): void;
}

export interface FakeFreeswitchOptions {
  /** The Event Socket's TCP port; 0 or none = any free port. */
  port?: number;
  /** event_socket.conf's password (default ClueCon, as FreeSWITCH's and ESL_PASSWORD's). */
  password?: string;
}

export const DEFAULT_ESL_PASSWORD = "ClueCon";
const NO_CHANNEL = "-ERR No such channel!\n";
/** mod_audio_stream answers this for an unknown uuid (fixtures README, section g). */
const STREAM_FAILED = "-ERR Operation Failed\n";

export class FakeFreeswitch {
  private readonly channels = new Map<string, FreeswitchChannel>();

  private constructor(
    private readonly esl: FakeEsl,
    readonly password: string,
  ) {
    esl.onCommand((line) => this.onCommand(line));
  }

  static async start(options: FakeFreeswitchOptions = {}): Promise<FakeFreeswitch> {
    const password = options.password ?? DEFAULT_ESL_PASSWORD;
    return new FakeFreeswitch(await startFakeEsl({ password, port: options.port ?? 0 }), password);
  }

  get host(): string {
    return this.esl.host;
  }

  get port(): number {
    return this.esl.port;
  }

  /** The settings voicebot needs to reach this fake (VOICEBOT_ names). */
  serverEnv(): Record<string, string> {
    return { VOICEBOT_ESL_HOST: this.host, VOICEBOT_ESL_PORT: String(this.port), VOICEBOT_ESL_PASSWORD: this.password };
  }

  /** Resolves once voicebot's ESL client has logged in and subscribed to events. */
  async waitForVoicebot(timeoutMs: number): Promise<void> {
    try {
      await this.esl.waitForCommand("event ", timeoutMs);
    } catch {
      throw new Error(
        `voicebot did not log in to the fake FreeSWITCH Event Socket at ${this.host}:${this.port} within ${Math.round(timeoutMs / 1000)} s: ` +
        `run it with ESL_HOST=${this.host} ESL_PORT=${this.port} ESL_PASSWORD=${this.password}`,
      );
    }
  }

  /** The first command starting with `prefix` (e.g. `bgapi uuid_broadcast`) not yet returned, waiting for it if needed. */
  waitForCommand(prefix: string, timeoutMs: number): Promise<{ line: string; at: number }> {
    return this.esl.waitForCommand(prefix, timeoutMs);
  }

  /** FreeSWITCH goes away (restarting, or not started yet): ESL clients are cut off and the port refuses them. */
  stopListening(): void {
    this.esl.stopListening();
  }

  /** FreeSWITCH is back: its Event Socket accepts connections on the same port again. */
  listenAgain(): void {
    this.esl.listenAgain();
  }

  /** Routes commands naming `uuid` to `channel` until the returned function is called. */
  attach(uuid: string, channel: FreeswitchChannel): () => void {
    this.channels.set(uuid, channel);
    return () => {
      if (this.channels.get(uuid) === channel) this.channels.delete(uuid);
    };
  }

  /** The caller pressed a key: FreeSWITCH's `DTMF` event (the only way a digit reaches voicebot). */
  dtmf(uuid: string, digit: string): void {
    this.esl.emit({ name: "DTMF", uuid, headers: { "DTMF-Digit": digit, "DTMF-Duration": "2000", "DTMF-Source": "RTP" } });
  }

  /** A `CUSTOM mod_audio_stream::<name>` event with its JSON (or text) body. */
  streamEvent(uuid: string, name: "connect" | "disconnect" | "error" | "json" | "play", body: string): void {
    this.esl.emit({ name: "CUSTOM", subclass: `mod_audio_stream::${name}`, uuid, body });
  }

  /** The channel is gone. */
  hangup(uuid: string, cause: string): void {
    this.esl.emit({ name: "CHANNEL_HANGUP", uuid, headers: { "Hangup-Cause": cause } });
  }

  async stop(): Promise<void> {
    this.channels.clear();
    await this.esl.stop();
  }

  /** FreeSWITCH's reply to one `api`/`bgapi` command, or null for commands no call handles. */
  private onCommand(line: string): string | null {
    const words = line.trim().replace(/^(?:bg)?api\s+/, "").split(/\s+/);
    const [command, uuid = ""] = words;
    const channel = this.channels.get(uuid);
    const atMs = performance.now();
    switch (command) {
      case "uuid_broadcast":
        return channel ? channel.broadcast(words[2] ?? "", words[3] ?? "aleg") : NO_CHANNEL;
      case "uuid_break":
        channel?.breakPlayback(atMs);
        return channel ? "+OK\n" : NO_CHANNEL;
      case "uuid_kill":
        channel?.kill(words[2] ?? "NORMAL_CLEARING");
        return channel ? "+OK\n" : NO_CHANNEL;
      case "uuid_transfer":
        channel?.transfer(words.slice(2).join(" "), atMs);
        return channel ? "+OK\n" : NO_CHANNEL;
      case "uuid_audio_stream":
        if (words[2] !== "stop" || !channel) return channel ? null : STREAM_FAILED;
        // Only the first word of the text is sent (fixtures README 0.4).
        channel.stopStream(words[3] ?? null);
        return "+OK Success\n";
      default:
        return null;
    }
  }
}
