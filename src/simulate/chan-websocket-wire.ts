/**
 * The Asterisk side of a chan_websocket call, as Asterisk 23.5 behaves in the captures
 * (fixtures/chan_websocket): it dials out to the server with subprotocol `media` (the dial string's
 * `v()` as the query, websocket_client.conf's password as Basic auth), sends MEDIA_START first, the
 * caller's frames one per 20 ms (a SIP phone's continuous audio), DTMF_END per digit, and a bare
 * close 1000 when the caller hangs up. What the server sends goes through AsteriskMediaQueue, played
 * one frame per tick; HANGUP ends the call with close 1000.
 */
import { encodeEvent, encodeMediaStart, MAX_MESSAGE_BYTES, parseCommand } from "../transports/chan-websocket-codec.ts";
import { frameSamplesFor } from "../media/pcm.ts";
import { AsteriskMediaQueue, XOFF_LEVEL, XON_LEVEL, type QueueFigures } from "./chan-websocket-queue.ts";
import type { CallWire, WireEvents } from "./wire.ts";

export interface ChanWebsocketTarget {
  /** websocket_client.conf's uri, e.g. ws://127.0.0.1:8086/asterisk (the dial string's v() is added as the query). */
  url: string;
  /** WEBSOCKET_TOKEN, sent as websocket_client.conf's password (Basic auth). */
  token?: string;
  /** Control messages in JSON (the dial option f(json)) instead of plain text. */
  json?: boolean;
  /** v(caller=…,dnis=…): what the dialplan passes. */
  caller?: string;
  dnis?: string;
  /** v(uuid=${VB_UUID}): the rendered dialplan's call id, which /next answers for. */
  uuid?: string;
}

export interface ChanWebsocketFigures extends QueueFigures {
  flushes: number;
  /** FLUSH_MEDIA received → the next tick, which plays nothing queued before it, per flush that found audio playing. */
  stopAfterFlushMs: number[];
  /** Flushes after which the server sent new audio that played within 100 ms (the bot went on talking). */
  audioSoonAfterFlush: number;
  /** Audio still queued when HANGUP came, in ms (the goodbye cut short). */
  queuedAtHangupMs: number;
  /** Ticks where the queue ran dry between two frames of the bot's voice (a 20 ms hole). */
  holes: number;
}

type Tick = "audio" | "silence" | "dry";

function isSilent(frame: Uint8Array): boolean {
  for (let i = 0; i < frame.length; i++) if (frame[i] !== 0) return false;
  return true;
}

const FORMAT_BY_RATE: Record<number, string> = { 8000: "slin", 16000: "slin16", 24000: "slin24", 32000: "slin32", 48000: "slin48" };
/** More than this unsent makes a caller frame wait: Asterisk does not queue seconds of caller audio. */
const MAX_BUFFERED_BYTES = 16 * 1024;

export class ChanWebsocketWire implements CallWire {
  readonly target: string;
  readonly idleTimeoutMs = 0;
  readonly digitsUnsupported = null;
  framesSkipped = 0;
  private readonly url: string;
  private readonly frameBytes: number;
  private readonly json: boolean;
  private readonly silence: Uint8Array;
  private readonly out: Uint8Array;
  private readonly queue: AsteriskMediaQueue;
  private ws: WebSocket | null = null;
  private events: WireEvents | null = null;
  private closing = false;
  private flushAtMs: number | null = null;
  private playedLastTick = false;
  /** The last two ticks: what played (a dry tick between two of audio is a hole). */
  private last: Tick = "silence";
  private beforeLast: Tick = "silence";
  /** The last flush's stop time, while new audio within 100 ms of it is watched for. */
  private stoppedAtMs: number | null = null;
  private readonly counts = { flushes: 0, stopAfterFlushMs: [] as number[], audioSoonAfterFlush: 0, queuedAtHangupMs: 0, holes: 0 };

  constructor(private readonly options: ChanWebsocketTarget, private readonly channelId: string, private readonly rate: number) {
    if (FORMAT_BY_RATE[rate] === undefined) throw new Error(`chan_websocket carries slin at ${Object.keys(FORMAT_BY_RATE).join(", ")} Hz, not ${rate} Hz`);
    const url = new URL(options.url);
    url.search = `caller=${encodeURIComponent(options.caller ?? "0612345678")}&dnis=${encodeURIComponent(options.dnis ?? "3000")}${options.uuid === undefined ? "" : `&uuid=${options.uuid}`}`;
    this.url = url.href;
    this.target = url.host + url.pathname;
    this.json = options.json === true;
    this.frameBytes = frameSamplesFor(rate) * 2;
    this.silence = new Uint8Array(this.frameBytes);
    this.out = new Uint8Array(this.frameBytes);
    this.queue = new AsteriskMediaQueue(this.frameBytes, (event, id) => this.ws?.send(encodeEvent(this.json, this.channelId, event, id)));
  }

  figures(): ChanWebsocketFigures {
    return { ...this.queue.figures, ...this.counts };
  }

  connect(events: WireEvents): Promise<void> {
    this.events = events;
    return new Promise<void>((resolve, reject) => {
      // Exactly Asterisk's upgrade: no Origin, no User-Agent, subprotocol media.
      const headers: Record<string, string> = this.options.token === undefined ? {} : { Authorization: `Basic ${Buffer.from(`asterisk:${this.options.token}`).toString("base64")}` };
      const ws = new WebSocket(this.url, { protocols: ["media"], headers } as unknown as string[]);
      ws.binaryType = "arraybuffer";
      let open = false;
      let failure = "";
      ws.addEventListener("error", (event) => (failure = (event as ErrorEvent).message ?? ""));
      ws.addEventListener("open", () => {
        open = true;
        this.ws = ws;
        ws.send(encodeMediaStart({
          json: this.json, connectionId: "voicebot", channel: `WebSocket/voicebot/0x${this.channelId.slice(0, 8)}`, channelId: this.channelId,
          format: FORMAT_BY_RATE[this.rate]!, optimalFrameSize: this.frameBytes, ptime: 20, variables: { MEDIA_WEBSOCKET_CONNECTION_ID: "voicebot", MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: String(this.frameBytes) },
        }));
        resolve();
      });
      ws.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => {
        if (typeof event.data === "string") this.onCommand(event.data);
        else this.onAudio(new Uint8Array(event.data));
      });
      ws.addEventListener("close", (event) => {
        if (!open) reject(new Error(notConnected(failure, event.code)));
        else this.onClose(event.code, event.reason);
      });
    });
  }

  tick(frame: Int16Array | null, nowMs: number): void {
    const ws = this.ws;
    if (ws === null || this.closing) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) this.framesSkipped++;
    else if (frame === null) ws.send(this.silence);
    else {
      const out = this.out;
      for (let i = 0, o = 0; i < frame.length; i++, o += 2) {
        out[o] = frame[i]! & 0xff;
        out[o + 1] = (frame[i]! >> 8) & 0xff;
      }
      ws.send(out);
    }
    this.play(nowMs);
  }

  sendDigit(digit: string): void {
    if (!this.closing) this.ws?.send(encodeEvent(this.json, this.channelId, "DTMF_END", digit));
  }

  /** The caller hangs up: Asterisk only closes (fixture s5c). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.ws?.close(1000);
  }

  /** Asterisk's channel timer: one queued frame, or its own silence. */
  private play(nowMs: number): void {
    const frame = this.queue.next();
    const events = this.events!;
    const now: Tick = frame === null ? "dry" : isSilent(frame) ? "silence" : "audio";
    if (now === "audio" && this.last === "dry" && this.beforeLast === "audio") this.counts.holes++;
    this.beforeLast = this.last;
    this.last = now;
    this.playedLastTick = frame !== null;
    if (this.flushAtMs !== null) {
      this.counts.stopAfterFlushMs.push(nowMs - this.flushAtMs);
      this.stoppedAtMs = nowMs;
      this.flushAtMs = null;
    }
    if (this.stoppedAtMs !== null && now === "audio") {
      if (nowMs - this.stoppedAtMs <= 100) this.counts.audioSoonAfterFlush++;
      this.stoppedAtMs = null;
    }
    if (frame === null) {
      events.heard(this.silence, 0, this.frameBytes, this.rate, nowMs);
      return;
    }
    events.heard(frame, 0, this.frameBytes, this.rate, nowMs);
  }

  private onAudio(bytes: Uint8Array): void {
    if (this.closing) return;
    if (bytes.length > MAX_MESSAGE_BYTES) {
      this.events?.failed(`the server sent a ${bytes.length}-byte message: Asterisk cannot fit it ("Cannot fit huge websocket frame") and hangs up with close 1009`);
      return;
    }
    this.queue.push(bytes);
  }

  private onCommand(text: string): void {
    if (this.closing) return;
    const command = parseCommand(text, this.json);
    if (command === null) {
      this.events?.failed(`the server sent ${JSON.stringify(text.slice(0, 80))}: Asterisk only logs "command unknown" (a ${this.json ? "JSON" : "plain-text"} call)`);
      return;
    }
    const now = performance.now();
    switch (command.command) {
      case "HANGUP":
        this.counts.queuedAtHangupMs = this.queue.length * 20;
        this.closing = true;
        this.ws?.close(1000);
        this.events?.serverEnded(true);
        return;
      case "FLUSH_MEDIA":
        this.counts.flushes++;
        if (this.queue.flush() || this.playedLastTick) this.flushAtMs ??= now;
        this.events?.playbackBroken(now);
        return;
      case "MARK_MEDIA":
        this.queue.mark(command.id);
        return;
      case "REPORT_QUEUE_DRAINED":
        this.queue.reportDrained();
        return;
      case "PAUSE_MEDIA":
      case "CONTINUE_MEDIA":
        this.queue.setPaused(command.command === "PAUSE_MEDIA");
        return;
      case "GET_STATUS":
        this.ws?.send(this.status());
        return;
      default:
        // ANSWER (already answered), buffering: nothing the model needs.
        return;
    }
  }

  private status(): string {
    const q = this.queue;
    if (this.json) {
      return JSON.stringify({ event: "STATUS", channel_id: this.channelId, queue_length: q.length, xon_level: XON_LEVEL, xoff_level: XOFF_LEVEL, queue_full: q.queueFull, bulk_media: false, media_paused: q.mediaPaused });
    }
    return `STATUS channel_id:${this.channelId} queue_length:${q.length} xon_level:${XON_LEVEL} xoff_level:${XOFF_LEVEL} queue_full:${q.queueFull} bulk_media:false media_paused:${q.mediaPaused}`;
  }

  private onClose(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    if (code === 1000 || code === 1001) this.events?.serverEnded(false);
    else this.events?.failed(`the server closed the connection: ${code}${reason ? ` ${reason}` : ""}`);
  }
}

function notConnected(failure: string, code: number): string {
  const status = /Expected 101 status code: (\d+)/.exec(failure)?.[1];
  if (status === "401") return "the upgrade was refused with HTTP 401: give WEBSOCKET_TOKEN (websocket_client.conf password)";
  if (status !== undefined) return `the upgrade was refused with HTTP ${status}`;
  if (/Failed to connect|ECONNREFUSED/.test(failure)) return "connection refused (is that voicebot's chan_websocket port, WEBSOCKET_HOST/WEBSOCKET_PORT?)";
  return `the server closed the connection before it opened (${code})`;
}
