/**
 * FreeswitchMediaControl over the Event Socket (PROTOCOLS.md §2, §3.3): routes each channel's DTMF,
 * `mod_audio_stream::play` and CHANNEL_HANGUP events (by Unique-ID) to the call watching it, and
 * drives playback and hang-up with `bgapi`. Commands are fire-and-forget from per-frame code, so a
 * failure is logged with the call's uuid and never thrown.
 */
import type { Logger } from "../log.ts";
import type { EslEvent } from "./esl-codec.ts";
import type { EslClient } from "./esl.ts";
import type { ChannelListener, FreeswitchMediaControl } from "./freeswitch-control.ts";

const PLAY_EVENT = "mod_audio_stream::play";
/** One argument of an mod_commands line: no whitespace or controls, nor quotes or backslashes (they group and escape). */
const ARGUMENT = /^[^\s\x00-\x1f\x7f'"\\]{1,1024}$/;

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class EslMediaControl implements FreeswitchMediaControl {
  private readonly channels = new Map<string, ChannelListener>();
  private readonly unsubscribe: () => void;
  private readonly unlistenUp: () => void;

  constructor(
    private readonly client: EslClient,
    private readonly log: Logger,
  ) {
    this.unsubscribe = client.onEvent((event) => this.route(event));
    this.unlistenUp = client.onConnected(() => this.announceUp());
  }

  get connected(): boolean {
    return this.client.connected;
  }

  watch(uuid: string, listener: ChannelListener): () => void {
    this.channels.set(uuid, listener);
    return () => {
      if (this.channels.get(uuid) === listener) this.channels.delete(uuid);
    };
  }

  broadcast(uuid: string, file: string): void {
    if (this.valid(uuid, "file", file)) this.send(uuid, `uuid_broadcast ${uuid} ${file} aleg`);
  }

  breakPlayback(uuid: string): void {
    this.send(uuid, `uuid_break ${uuid} all`);
  }

  hangup(uuid: string): void {
    this.send(uuid, `uuid_kill ${uuid} NORMAL_CLEARING`);
  }

  /** Stops routing events; the client itself belongs to whoever made it. */
  close(): void {
    this.unsubscribe();
    this.unlistenUp();
    this.channels.clear();
  }

  private announceUp(): void {
    for (const [uuid, listener] of [...this.channels]) {
      try {
        listener.onControlUp();
      } catch (error) {
        this.log.error("channel listener failed when ESL came back", { call: uuid, error: describe(error) });
      }
    }
  }

  private valid(uuid: string, what: string, value: string): boolean {
    if (ARGUMENT.test(value)) return true;
    this.log.error(`ESL command not sent: ${what} is not one plain argument (no spaces, line breaks, quotes or backslashes)`, {
      call: uuid,
      [what]: value,
    });
    return false;
  }

  private send(uuid: string, command: string): void {
    if (!this.valid(uuid, "uuid", uuid)) return;
    const verb = command.slice(0, command.indexOf(" "));
    if (!this.client.connected) {
      this.log.warn("ESL is down: command dropped", { call: uuid, command: verb });
      return;
    }
    this.client.bgapi(command).catch((error: unknown) => {
      this.log.warn("ESL command failed", { call: uuid, command: verb, error: describe(error) });
    });
  }

  private route(event: EslEvent): void {
    if (event.uuid === null) return;
    const listener = this.channels.get(event.uuid);
    if (!listener) return;
    try {
      if (event.name === "DTMF") {
        const digit = event.headers.get("DTMF-Digit");
        if (digit) listener.onDtmf(digit);
      } else if (event.name === "CUSTOM" && event.subclass === PLAY_EVENT) {
        const file = playedFile(event.body);
        if (file === null) this.log.warn("mod_audio_stream::play event without a file in its body", { call: event.uuid, body: event.body.slice(0, 200) });
        else listener.onPlay(file);
      } else if (event.name === "CHANNEL_HANGUP") {
        listener.onHangup();
      }
    } catch (error) {
      this.log.error("channel listener failed on an ESL event", { call: event.uuid, event: event.name, error: describe(error) });
    }
  }
}

/** The `file` of a `::play` body: `{"audioDataType":"raw","sampleRate":16000,"file":"…"}`. */
function playedFile(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    const file = typeof parsed === "object" && parsed !== null ? (parsed as { file?: unknown }).file : undefined;
    return typeof file === "string" && file !== "" ? file : null;
  } catch {
    return null;
  }
}
