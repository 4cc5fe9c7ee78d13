/**
 * The FreeSWITCH side of a mod_audio_stream call, as the fixtures show a real FreeSWITCH 1.10.12
 * behaving: a WebSocket to the stream URL, the metadata as the first text frame, then one binary
 * 20 ms frame per tick (silence included), no DTMF on the socket (digits are ESL `DTMF` events),
 * and close 1000 "Normal closure" to hang up. What the caller hears depends on the module build:
 * - stream (voxcom-us fork): raw `streamAudio` is played as it comes, one frame per tick;
 * - file (community module): each `streamAudio` becomes a temp file and a `mod_audio_stream::play`
 *   event, and only `uuid_broadcast` plays it; `uuid_break` stops it.
 */
import { FRAME_MS, frameSamplesFor } from "../media/pcm.ts";
import { broadcastAudio, readServerText, tempFilePath, type BroadcastAudio } from "./stream-audio.ts";
import type { FakeFreeswitch, FreeswitchChannel } from "./fake-freeswitch.ts";
import { FreeswitchPlayout } from "./freeswitch-playout.ts";
import { CallListener } from "./listener.ts";
import type { CallWire, WireEvents } from "./wire.ts";

export interface AudiostreamTarget {
  /** The stream URL FreeSWITCH is given, e.g. ws://127.0.0.1:8085/stream/default/<uuid>; `?rate=` is added. */
  url: string;
  /** Which module build is emulated: `stream` (voxcom-us fork) or `file` (community module). */
  playback: "stream" | "file";
  /** The fake FreeSWITCH whose ESL voicebot is logged in to; null = none (no DTMF, no file playback, no uuid_kill). */
  freeswitch: FakeFreeswitch | null;
  /** Sent as `?token=` (AUDIOSTREAM_TOKEN). */
  token?: string;
}

export interface AudiostreamFigures {
  playback: "stream" | "file";
  /** `streamAudio` messages received. */
  messages: number;
  /** Stream mode: each raw message's arrival against the 20 ms grid (|interval − whole frames|), after the first. */
  arrivalJitterMs: number[];
  /** Stream mode: how far ahead of real time the server's audio arrived (CallListener's pacing lead). */
  maxLeadMs: number;
  leadP99Ms: number;
  /** Stream mode: the injected audio ran dry and resumed within a frame (a hole in the bot's voice). */
  underruns: number;
  /** File mode: temp files written, and played by `uuid_broadcast`. */
  filesWritten: number;
  filesPlayed: number;
  /** When `uuid_break` arrived, ms from the call start. */
  breaksAtMs: number[];
  /** `uuid_transfer`: when it arrived (ms from the call start, and epoch ms to match server stamps) and its arguments. */
  transfer: { atMs: number; receivedAtEpochMs: number; destination: string } | null;
  /** The ESL command that ended FreeSWITCH's side of the call, if any. */
  endedBy: "uuid_kill" | "uuid_transfer" | "uuid_audio_stream stop" | null;
  /** The server's own close of the WebSocket, if it closed first. */
  serverClose: { code: number; reason: string } | null;
}

/** FreeSWITCH's first text frame: the caller, the number dialled, and the channel's uuid (for URLs without it). */
export function simulatedMetadata(uuid: string): string {
  return JSON.stringify({ caller: "0612345678", dnis: "8000", uuid });
}
/** After a server close or `stop`, how long voicebot gets to send `uuid_kill` or `uuid_transfer`. */
export const HANGUP_GRACE_MS = 1000;
/** More than this unsent makes a frame wait: a PBX does not queue seconds of audio. */
const MAX_BUFFERED_BYTES = 16 * 1024;

export class AudiostreamWire implements CallWire, FreeswitchChannel {
  readonly target: string;
  readonly idleTimeoutMs = 0;
  readonly digitsUnsupported: string | null;
  framesSkipped = 0;
  private readonly url: URL;
  private readonly fs: FakeFreeswitch | null;
  private readonly playout: FreeswitchPlayout;
  private readonly silence: Uint8Array;
  private readonly arrivals: CallListener;
  /** Decoded audioData, reused: the same memory as bytes, as a Buffer (to decode into) and as samples. */
  private scratch = new Uint8Array(0);
  private scratchBuffer = Buffer.alloc(0);
  private scratchSamples = new Int16Array(0);
  private readonly files = new Map<string, BroadcastAudio>();
  private ws: WebSocket | null = null;
  private events: WireEvents | null = null;
  private detach: () => void = () => {};
  /** The socket is closing or closed from FreeSWITCH's side (hang-up, kill, stop): its close is expected. */
  private closing = false;
  /** FreeSWITCH's side of the call is over (hang-up, kill or transfer). */
  private channelGone = false;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private lastArrivalMs: number | null = null;
  private readonly counts: AudiostreamFigures;

  constructor(target: AudiostreamTarget, private readonly uuid: string, private readonly rate: number) {
    this.url = streamUrl(target, rate);
    this.target = this.url.href.replace(/([?&]token=)[^&]*/, "$1…");
    this.fs = target.freeswitch;
    if (target.playback === "file" && this.fs === null) {
      throw new Error("file playback needs the fake FreeSWITCH's Event Socket: the community module only writes temp files, and voicebot plays them with uuid_broadcast over ESL");
    }
    this.digitsUnsupported = this.fs === null
      ? "DTMF needs the fake FreeSWITCH's Event Socket: mod_audio_stream carries no DTMF on the WebSocket, FreeSWITCH only sends ESL DTMF events"
      : null;
    this.playout = new FreeswitchPlayout(rate);
    this.silence = new Uint8Array(frameSamplesFor(rate) * 2);
    this.arrivals = new CallListener(0, null);
    this.counts = {
      playback: target.playback, messages: 0, arrivalJitterMs: [], maxLeadMs: 0, leadP99Ms: 0, underruns: 0,
      filesWritten: 0, filesPlayed: 0, breaksAtMs: [], transfer: null, endedBy: null, serverClose: null,
    };
  }

  connect(events: WireEvents): Promise<void> {
    this.events = events;
    if (this.fs !== null) this.detach = this.fs.attach(this.uuid, this);
    return new Promise<void>((resolve, reject) => {
      // Exactly the module's handshake: Origin, no User-Agent, no subprotocol, no permessage-deflate.
      const ws = new WebSocket(this.url.href, { headers: { Origin: `http://${this.url.host}` }, perMessageDeflate: false });
      ws.binaryType = "nodebuffer";
      let open = false;
      ws.addEventListener("open", () => {
        open = true;
        this.ws = ws;
        // The call ended while the socket was opening (uuid_kill, an abort): FreeSWITCH closes at once.
        if (this.closing) {
          ws.close(1000, "Normal closure");
          resolve();
          return;
        }
        ws.send(simulatedMetadata(this.uuid));
        this.fs?.streamEvent(this.uuid, "connect", `{"status":"connected"}`);
        resolve();
      });
      ws.addEventListener("error", (event) => {
        if (!open) reject(new Error(connectError((event as ErrorEvent).message ?? "")));
      });
      ws.addEventListener("message", (event: MessageEvent<string | Uint8Array>) => this.onMessage(event.data));
      ws.addEventListener("close", (event) => {
        if (!open) reject(new Error(`the server closed the connection during the upgrade (${event.code})`));
        else this.onClose(event.code, event.reason);
      });
    });
  }

  tick(frame: Int16Array | null, nowMs: number): void {
    const heard = this.playout.next(nowMs);
    this.events?.heard(heard, 0, heard.length, this.playout.frameRate, nowMs);
    const ws = this.ws;
    if (ws === null || this.closing) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) this.framesSkipped++;
    else ws.send(frame ?? this.silence);
  }

  sendDigit(digit: string): void {
    this.fs?.dtmf(this.uuid, digit);
  }

  /** The caller hangs up: close 1000 "Normal closure" right after the last frame, then CHANNEL_HANGUP. */
  close(): void {
    clearTimeout(this.graceTimer);
    this.closeSocket();
    if (!this.channelGone) {
      this.channelGone = true;
      this.fs?.hangup(this.uuid, "NORMAL_CLEARING");
    }
    this.detach();
  }

  figures(callStartMs: number): AudiostreamFigures {
    const lead = this.arrivals.finish();
    return {
      ...this.counts,
      maxLeadMs: lead.maxLeadMs,
      leadP99Ms: lead.leadP99Ms,
      underruns: this.playout.underruns,
      breaksAtMs: this.counts.breaksAtMs.map((at) => at - callStartMs),
      transfer: this.counts.transfer && { ...this.counts.transfer, atMs: this.counts.transfer.atMs - callStartMs },
    };
  }

  broadcast(path: string, leg: string): string {
    const audio = this.files.get(path);
    if (audio === undefined) {
      this.events?.failed(`voicebot sent uuid_broadcast ${path}, a file this call's stream never wrote: the caller hears nothing`);
      return "-ERR Operation Failed\n";
    }
    if (leg !== "aleg" && leg !== "both") {
      this.events?.failed(`voicebot sent uuid_broadcast … ${leg}: only aleg (or both) plays to the caller's channel`);
      return "+OK Message sent\n";
    }
    if ("error" in audio) this.events?.failed(audio.error);
    else {
      this.playout.queueFile(audio.samples, audio.sampleRate);
      this.counts.filesPlayed++;
    }
    return "+OK Message sent\n";
  }

  breakPlayback(atMs: number): void {
    this.counts.breaksAtMs.push(atMs);
    this.playout.breakFiles();
    this.events?.playbackBroken(atMs);
  }

  kill(cause: string): void {
    this.counts.endedBy = "uuid_kill";
    this.channelGone = true;
    this.closeSocket();
    this.fs?.hangup(this.uuid, cause);
    this.events?.serverEnded(true);
  }

  /** The stream ends but the call stays up (parked) until voicebot kills or transfers it. */
  stopStream(text: string | null): void {
    this.counts.endedBy ??= "uuid_audio_stream stop";
    if (text !== null && !this.closing) this.ws?.send(text);
    this.closeSocket();
    this.awaitHangup();
  }

  transfer(destination: string, atMs: number): void {
    this.counts.transfer = { atMs, receivedAtEpochMs: performance.timeOrigin + atMs, destination };
    this.counts.endedBy = "uuid_transfer";
    this.channelGone = true;
    this.closeSocket();
    this.events?.serverEnded(true);
  }

  private closeSocket(): void {
    if (this.closing) return;
    this.closing = true;
    this.ws?.close(1000, "Normal closure");
  }

  /** The call waits, parked and silent, for voicebot's ESL hang-up or transfer; then the server hung up without one. */
  private awaitHangup(): void {
    if (this.fs === null) {
      this.events?.serverEnded(false);
      return;
    }
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => this.events?.serverEnded(false), HANGUP_GRACE_MS);
  }

  private onClose(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.counts.serverClose = { code, reason };
    // The module reports every server close as 1000 "" and keeps the call; a drop is an ::error.
    if (code === 1006) this.fs?.streamEvent(this.uuid, "error", `{"status":"error","message":{"code":1,"error":"Connection closed without WebSocket CLOSE (abnormal EOF)"}}`);
    else this.fs?.streamEvent(this.uuid, "disconnect", `{"status":"disconnected","message":{"code":1000,"reason":""}}`);
    this.awaitHangup();
  }

  private onMessage(data: string | Uint8Array): void {
    const events = this.events;
    if (events === null || this.closing) return;
    if (typeof data !== "string") {
      events.failed(`the server sent a binary frame (${data.length} bytes): mod_audio_stream ignores them, so the caller hears nothing; send streamAudio JSON text`);
      return;
    }
    const atMs = performance.now();
    const text = readServerText(data);
    if (text.kind === "other") {
      this.fs?.streamEvent(this.uuid, "json", data);
      return;
    }
    if (text.kind === "refused") {
      events.failed(`mod_audio_stream refuses the server's streamAudio ("${text.error}"): FreeSWITCH logs it, fires mod_audio_stream::json and plays nothing`);
      return;
    }
    this.counts.messages++;
    const bytes = this.decode(text.audioData);
    if (this.counts.playback === "stream" && text.audioDataType === "raw") this.inject(bytes, text.sampleRate, atMs);
    else this.writeFile(bytes, text.audioDataType, text.sampleRate, text.meta);
  }

  /** The voxcom fork plays raw audio at once, copied through when its rate is the stream's. */
  private inject(bytes: number, sampleRate: number, atMs: number): void {
    if (sampleRate !== this.rate) {
      this.events?.failed(`streamAudio at ${sampleRate} Hz into a ${this.rate} Hz stream: the voxcom fork copies it through unconverted, so the caller hears it at the wrong speed (declare the stream's own rate)`);
      return;
    }
    if (bytes % 2 !== 0) {
      this.events?.failed(`raw streamAudio of ${bytes} bytes: s16le audio is whole 2-byte samples`);
      return;
    }
    // The server sends one message per 20 ms tick (a talk spurt's first one is longer: its margin),
    // so jitter is the distance from that grid, whatever each message holds.
    if (this.lastArrivalMs !== null) {
      const interval = atMs - this.lastArrivalMs;
      this.counts.arrivalJitterMs.push(Math.abs(interval - Math.max(1, Math.round(interval / FRAME_MS)) * FRAME_MS));
    }
    this.lastArrivalMs = atMs;
    this.arrivals.onAudio(this.scratch.subarray(0, bytes), sampleRate, atMs);
    this.playout.inject(this.scratchSamples, bytes >> 1, atMs);
  }

  /** The community module (and the fork, for non-raw types): a temp file and a `::play` event. */
  private writeFile(bytes: number, type: string, sampleRate: number, meta: Record<string, unknown>): void {
    const path = tempFilePath(this.uuid, this.counts.filesWritten++, type, sampleRate);
    this.files.set(path, broadcastAudio(path, type, sampleRate, this.scratch.slice(0, bytes)));
    this.fs?.streamEvent(this.uuid, "play", JSON.stringify({ ...meta, file: path }));
  }

  /** base64 into the reused scratch buffer; returns the byte count. */
  private decode(base64: string): number {
    const needed = (base64.length >> 2) * 3;
    if (this.scratch.length < needed) {
      const buffer = new ArrayBuffer(needed + (needed & 1));
      this.scratch = new Uint8Array(buffer);
      this.scratchBuffer = Buffer.from(buffer);
      this.scratchSamples = new Int16Array(buffer);
    }
    return this.scratchBuffer.write(base64, "base64");
  }
}

/** The URL with the module's constraints checked and `?rate=` (and the token) set. */
function streamUrl(target: AudiostreamTarget, rate: number): URL {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new Error(`stream URL ${JSON.stringify(target.url)} is not a URL: give ws://HOST:PORT/stream/TENANT/CALL`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new Error(`stream URL ${JSON.stringify(target.url)} is not ws:// or wss://: mod_audio_stream refuses it ("invalid websocket uri")`);
  }
  if (!/^[A-Za-z0-9.-]+$/.test(url.hostname)) {
    throw new Error(`stream URL host ${JSON.stringify(url.hostname)} is not allowed by mod_audio_stream: letters, digits, . and - only (no IPv6 literal)`);
  }
  const given = url.searchParams.get("rate");
  if (given !== null && given !== String(rate)) throw new Error(`stream URL says ?rate=${given} but the call runs at ${rate} Hz: give one rate`);
  url.searchParams.set("rate", String(rate));
  if (target.token !== undefined) url.searchParams.set("token", target.token);
  return url;
}

function connectError(message: string): string {
  const status = /Expected 101 status code: (\d+)/.exec(message);
  if (status?.[1] === "401") return "the upgrade was refused with HTTP 401: the server wants AUDIOSTREAM_TOKEN as ?token=";
  if (status) return `the upgrade was refused with HTTP ${status[1]}`;
  if (/Failed to connect|ECONNREFUSED/.test(message)) return "connection refused (is voicebot serve's audiostream listener there?)";
  return message || "the WebSocket failed";
}
