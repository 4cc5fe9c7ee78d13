/**
 * The PABX Docker media server's side of an ASP call, as its client code behaves
 * (media-server/ws/client.py, client_asp.py, sip/call.py, sip/streaming_port.py): it waits for
 * protocol.capabilities, sends session.start (8 kHz pcm_s16le by default, its VAD settings,
 * metadata), and once accepted:
 * - sends no caller audio until the first response.end (the greeting), then streams everything the
 *   caller says or not in 1600-byte chunks (its AUDIO_SEND_BUFFER_MAX) with the 12-byte header, flushing early with `audio.end`
 *   when its VAD hears 500 ms of silence after speech;
 * - between response.start and response.end it only watches for speech (its barge-in): 2 loud
 *   frames among the last 5 drop what it holds of the bot and resume the stream;
 * - plays the bot's audio at real time (heard on arrival here: voicebot sends at real time), and
 *   silence of its own when it has none;
 * - on `call.action` hangup ends the SIP call: session.end, then (one session per connection here)
 *   the socket closes. The real media server keeps one connection for all its calls.
 */
import { AUDIO_HEADER_BYTES, DIRECTION_INBOUND, AUDIO_MAGIC, sessionHash } from "../transports/asp-protocol.ts";
import type { CallWire, WireEvents } from "./wire.ts";

export interface AspTarget {
  /** ws://HOST:PORT[/tenant][?token=…], the media server's WEBSOCKET_URL. */
  url: string;
  /** metadata.caller_number in session.start (the real client sends none). */
  caller?: string;
  /** The media server's AUDIO_SEND_BUFFER_MAX: caller audio goes in chunks of this many bytes (default 1600). */
  chunkBytes?: number;
}

/** The client's default AUDIO_SEND_BUFFER_MAX. */
export const DEFAULT_CHUNK_BYTES = 1600;
/** Its VAD's silence_threshold_ms: this much quiet after speech sends `audio.end`. */
const SPEECH_END_MS = 500;
/** No bot audio for this long: the media server's playback buffer is empty and it plays silence. */
const QUIET_AFTER_MS = 40;
/** Speech above −45 dBFS, the simulated caller's own threshold. */
const LOUD_SQUARED = (32768 * 10 ** (-45 / 20)) ** 2;

export class AspWire implements CallWire {
  readonly target: string;
  readonly idleTimeoutMs = 0;
  readonly digitsUnsupported = "ASP carries no keypad digits (the media server sends none): give a spoken script";
  framesSkipped = 0;
  private readonly header: Uint8Array;
  private readonly chunk: Uint8Array;
  private fill = AUDIO_HEADER_BYTES;
  private ws: WebSocket | null = null;
  private events: WireEvents | null = null;
  private closing = false;
  private greetingDone = false;
  private responding = false;
  private speaking = false;
  private quietMs = 0;
  private lastHeardMs = 0;
  /** The caller's last five frames, loud or not (bit 0 the newest): the client's VAD ring buffer. */
  private loudRing = 0;

  constructor(private readonly asp: AspTarget, private readonly sessionId: string, private readonly rate: number) {
    this.target = asp.url.replace(/([?&]token=)[^&]*/, "$1…");
    this.header = new Uint8Array(AUDIO_HEADER_BYTES);
    this.header[0] = AUDIO_MAGIC;
    this.header[1] = DIRECTION_INBOUND;
    this.header.set(sessionHash(sessionId), 2);
    const chunkBytes = asp.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!(Number.isInteger(chunkBytes) && chunkBytes >= 2 && chunkBytes % 2 === 0)) throw new Error(`chunk of ${chunkBytes} bytes: give an even number of bytes, at least 2`);
    this.chunk = new Uint8Array(AUDIO_HEADER_BYTES + chunkBytes);
    this.chunk.set(this.header);
  }

  /** Resolves once session.started accepted the session. */
  connect(events: WireEvents): Promise<void> {
    this.events = events;
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.asp.url);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      let started = false;
      let failure = "";
      ws.addEventListener("error", (event) => (failure = (event as ErrorEvent).message ?? ""));
      ws.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => {
        if (typeof event.data !== "string") return this.onAudio(event.data);
        const message = parse(event.data);
        if (!started) {
          if (message?.type === "protocol.capabilities") return this.sendStart();
          if (message?.type !== "session.started") return;
          if (message.status === "accepted" || message.status === "accepted_with_changes") {
            started = true;
            return resolve();
          }
          reject(new Error(`session.start rejected: ${JSON.stringify(message.errors ?? []).slice(0, 200)}`));
          return this.close();
        }
        this.onControl(message, event.data);
      });
      ws.addEventListener("close", (event) => {
        if (!started) reject(new Error(failure || `closed before session.started (${event.code}${event.reason ? ` ${event.reason}` : ""})`));
        else this.onClose(event.code, event.reason);
      });
    });
  }

  tick(frame: Int16Array | null): void {
    const ws = this.ws;
    if (ws === null || this.closing) return;
    const now = performance.now();
    if (now - this.lastHeardMs > QUIET_AFTER_MS) this.events?.quiet?.(now);
    if (!this.greetingDone) return;
    const loud = frame !== null && isLoud(frame);
    this.loudRing = ((this.loudRing << 1) | (loud ? 1 : 0)) & 0b11111;
    if (this.responding) {
      // Monitor mode: nothing is sent; its VAD (2 of the last 5 frames loud) is a barge-in: playback dropped, stream resumed.
      if (popcount5(this.loudRing) < 2) return;
      this.responding = false;
      this.events?.playbackBroken(now);
    }
    const samples = frame?.length ?? (this.rate / 50);
    for (let i = 0; i < samples; i++) {
      const s = frame === null ? 0 : frame[i]!;
      this.chunk[this.fill++] = s & 0xff;
      this.chunk[this.fill++] = (s >> 8) & 0xff;
      if (this.fill === this.chunk.length) this.flush();
    }
    if (loud) {
      this.speaking = true;
      this.quietMs = 0;
    } else if (this.speaking && (this.quietMs += 20) >= SPEECH_END_MS) {
      this.speaking = false;
      this.flush();
      ws.send(JSON.stringify({ type: "audio.end", session_id: this.sessionId }));
    }
  }

  sendDigit(): void {
    this.events?.failed(this.digitsUnsupported);
  }

  /** The caller hangs up: session.end (the client does not wait for session.ended), then the socket closes. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    const ws = this.ws;
    if (ws === null) return;
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "session.end", session_id: this.sessionId, timestamp: new Date().toISOString(), reason: "hangup" }));
    ws.close(1000);
  }

  private sendStart(): void {
    const now = new Date().toISOString();
    const metadata: Record<string, string> = { source: "media-server" };
    if (this.asp.caller !== undefined) metadata.caller_number = this.asp.caller;
    // Field order as SessionStartMessage.to_dict() writes it.
    this.ws?.send(JSON.stringify({
      type: "session.start",
      session_id: this.sessionId,
      audio: { sample_rate: this.rate, encoding: "pcm_s16le", channels: 1, frame_duration_ms: 20 },
      vad: { enabled: true, silence_threshold_ms: 500, min_speech_ms: 250, threshold: 0.5, ring_buffer_frames: 5, speech_ratio: 0.4, prefix_padding_ms: 300 },
      timestamp: now,
      call_id: `sim-${this.sessionId.slice(0, 8)}@voicebot-simulate`,
      metadata,
    }));
  }

  private onControl(message: Record<string, unknown> | null, raw: string): void {
    const events = this.events;
    if (events === null || this.closing) return;
    switch (message?.type) {
      case "response.start":
        this.responding = true;
        return;
      case "response.end":
        this.responding = false;
        this.greetingDone = true;
        return;
      case "call.action":
        if (message.action !== "hangup") return events.failed(`unexpected call.action ${raw.slice(0, 120)}`);
        // The SIP call ends (the bot's audio was sent at real time: nothing is left to play).
        this.close();
        events.serverEnded(true);
        return;
      case "session.ended":
      case "session.updated":
        return;
      default:
        events.failed(`the server sent an unexpected message: ${raw.slice(0, 120)}`);
    }
  }

  private onAudio(data: ArrayBuffer): void {
    if (this.events === null || this.closing) return;
    const bytes = new Uint8Array(data);
    if (bytes.length < AUDIO_HEADER_BYTES || bytes[0] !== AUDIO_MAGIC || bytes[1] !== 0x01) {
      return this.events.failed(`the server sent a binary message that is not an outbound ASP audio frame (${bytes.length} bytes)`);
    }
    for (let i = 0; i < 8; i++) {
      if (bytes[2 + i] !== this.header[2 + i]) return this.events.failed("the server sent audio for another session");
    }
    this.lastHeardMs = performance.now();
    this.events.heard(bytes, AUDIO_HEADER_BYTES, bytes.length, this.rate, this.lastHeardMs);
  }

  private onClose(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.events?.failed(`the server closed the connection: ${code}${reason ? ` ${reason}` : ""}`);
  }

  private flush(): void {
    if (this.fill === AUDIO_HEADER_BYTES) return;
    this.ws?.send(this.chunk.subarray(0, this.fill));
    this.fill = AUDIO_HEADER_BYTES;
  }
}

function isLoud(frame: Int16Array): boolean {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  return sum / frame.length > LOUD_SQUARED;
}

function popcount5(bits: number): number {
  return (bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1) + ((bits >> 3) & 1) + ((bits >> 4) & 1);
}

function parse(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
