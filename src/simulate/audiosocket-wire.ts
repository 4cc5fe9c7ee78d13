/**
 * The Asterisk side of an AudioSocket call, as a real Asterisk behaves (fixtures README): UUID
 * first, then a 20 ms audio frame every 20 ms for the whole call, one 0x03 message per DTMF digit,
 * and a plain TCP close to hang up. The bot's audio is heard as it arrives.
 */
import type { Socket } from "bun";
import { frameSamplesFor } from "../media/pcm.ts";
import {
  AudioSocketParser,
  Kind,
  encodeMessage,
  hexByte,
  kindForRate,
  rateForKind,
  uuidFromString,
  writeAudioMessage,
} from "../transports/audiosocket-codec.ts";
import type { CallWire, WireEvents } from "./wire.ts";

/** Asterisk hangs up when no frame came for 2 s. */
const PBX_IDLE_TIMEOUT_MS = 2000;

/** The silence message of each kind, shared by every call: sockets copy what they write. */
const silenceByKind = new Map<number, Uint8Array>();
function silenceMessage(kind: number, frameSamples: number): Uint8Array {
  let message = silenceByKind.get(kind);
  if (!message) {
    message = new Uint8Array(3 + frameSamples * 2);
    writeAudioMessage(message, kind, new Int16Array(frameSamples));
    silenceByKind.set(kind, message);
  }
  return message;
}

export interface AudioSocketTarget {
  host: string;
  port: number;
}

export class AudioSocketWire implements CallWire {
  readonly target: string;
  readonly idleTimeoutMs = PBX_IDLE_TIMEOUT_MS;
  readonly digitsUnsupported = null;
  framesSkipped = 0;
  private readonly kind: number;
  private readonly frameSamples: number;
  private readonly uuidBytes: Uint8Array;
  private readonly message: Uint8Array;
  private readonly parser: AudioSocketParser;
  private socket: Socket<undefined> | null = null;
  private events: WireEvents | null = null;
  private pendingWrite: Uint8Array | null = null;
  private arrivalMs = 0;
  private closed = false;

  constructor(private readonly endpoint: AudioSocketTarget, uuid: string, rate: number) {
    const kind = kindForRate(rate);
    if (kind === undefined) throw new Error(`sample rate ${rate} Hz has no AudioSocket kind (allowed: 8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000)`);
    this.kind = kind;
    this.frameSamples = frameSamplesFor(rate);
    this.uuidBytes = uuidFromString(uuid);
    this.message = new Uint8Array(3 + this.frameSamples * 2);
    this.parser = new AudioSocketParser(this.onMessage, this.onAudio);
    this.target = `${endpoint.host}:${endpoint.port}`;
  }

  async connect(events: WireEvents): Promise<void> {
    this.events = events;
    try {
      this.socket = await Bun.connect({
        hostname: this.endpoint.host,
        port: this.endpoint.port,
        socket: {
          binaryType: "uint8array",
          data: (_socket, chunk) => this.onData(chunk),
          drain: () => this.flushPending(),
          close: (_socket, err) => {
            if (this.closed) return;
            if (err) events.failed(`connection lost: ${err.message}`);
            else events.serverEnded(false);
          },
          error: (_socket, err) => events.failed(`socket error: ${err.message}`),
        },
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new Error(code === "ECONNREFUSED" ? "connection refused (is voicebot serve listening there?)" : err instanceof Error ? err.message : String(err));
    }
    this.socket.setNoDelay(true);
    this.write(encodeMessage(Kind.Uuid, this.uuidBytes));
    // Asterisk's first audio follows the UUID at once, often in the same read.
    this.tick(null);
  }

  /** One 20 ms frame: the caller's voice, or shared silence. */
  tick(frame: Int16Array | null): void {
    if (this.pendingWrite !== null) {
      this.framesSkipped++;
      return;
    }
    if (frame === null) this.write(silenceMessage(this.kind, this.frameSamples));
    else this.write(this.message, writeAudioMessage(this.message, this.kind, frame));
  }

  sendDigit(digit: string): void {
    this.write(encodeMessage(Kind.Dtmf, new Uint8Array([digit.charCodeAt(0)])));
  }

  /** A plain close, as Asterisk does for a caller hang-up and after the server's 0x00. */
  close(): void {
    this.closed = true;
    this.socket?.end();
  }

  private write(bytes: Uint8Array, length = bytes.length): void {
    const socket = this.socket;
    if (socket === null || this.closed) return;
    const written = socket.write(bytes, 0, length);
    // Rare (loopback, small frames): keep the tail, skip frames until the socket drains.
    if (written >= 0 && written < length) this.pendingWrite = bytes.slice(written, length);
  }

  private flushPending(): void {
    const pending = this.pendingWrite;
    if (pending === null || this.socket === null || this.closed) return;
    const written = this.socket.write(pending);
    this.pendingWrite = written >= 0 && written < pending.length ? pending.slice(written) : null;
  }

  private onData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.arrivalMs = performance.now();
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.events?.failed(`protocol error from the server: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private readonly onAudio = (kind: number, bytes: Uint8Array, start: number, end: number): void => {
    if (!this.closed) this.events?.heard(bytes, start, end, rateForKind(kind) as number, this.arrivalMs);
  };

  /** Every message but audio. */
  private readonly onMessage = (kind: number): void => {
    const events = this.events;
    if (this.closed || events === null) return;
    if (kind === Kind.Hangup) events.serverEnded(true);
    else events.failed(`server sent kind ${hexByte(kind)}: only audio (0x10-0x18) and hang-up (0x00) may go to the PBX, which hangs up on anything else`);
  };
}
