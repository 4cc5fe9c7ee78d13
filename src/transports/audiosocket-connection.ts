/**
 * One accepted AudioSocket TCP connection: waits for the UUID, turns the connection into a
 * CallLeg, feeds inbound messages to the call's handlers and writes its audio back
 * (PROTOCOLS.md §1.3–1.6). Nothing here throws into Bun's socket handlers: every fault ends
 * this connection only, with one log line.
 */
import { LegClose } from "./leg-close.ts";
import type { Logger } from "../log.ts";
import { frameSamplesFor } from "../media/pcm.ts";
import { SharedFrames } from "../media/shared-frames.ts";
import type { AdmitCall, CallLeg, CallLegEvents, LegCloseReason, TransportStats } from "./types.ts";
import { AudioSocketParser, AudioSocketProtocolError, HANGUP_MESSAGE, Kind, hexByte, rateForKind, uuidToString } from "./audiosocket-codec.ts";
import { AudioFrameOut } from "./audiosocket-frame-out.ts";
import { MULAW_FRAME_BYTES, MulawDetector, decodeMulaw, type MulawVerdict } from "./mulaw.ts";

/** The part of Bun's socket a connection uses (Bun's `socket.write` does not buffer: it returns what it took). */
export interface WireSocket {
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
  terminate(): void;
}

export interface ConnectionContext {
  readonly admit: AdmitCall;
  readonly log: Logger;
  readonly stats: TransportStats;
  readonly uuidTimeoutMs: number;
  onGone(connection: AudioSocketConnection): void;
}

/** After our 0x00, how long a peer that is not reading may keep the socket before it is cut. */
const HANGUP_FLUSH_MS = 1000;
/** Inbound frames of every AudioSocket call, decoded and handed on at once (media/shared-frames.ts). */
const INBOUND = new SharedFrames();
const HEADER_BYTES = 3;
/** Frames a second, for the header overhead in the pending-bytes limit. */
const FRAMES_PER_SECOND = 50;

type Phase = "awaiting-uuid" | "in-call" | "ending" | "closed";

const ERROR_CODE_NAMES: ReadonlyArray<[number, string]> = [
  [0x01, "hangup of calling party"],
  [0x02, "frame forwarding error"],
  [0x04, "memory error"],
];

function describeErrorCode(payload: Uint8Array): string {
  if (payload.length === 0) return "no error code";
  const code = payload[0]!;
  const names = ERROR_CODE_NAMES.filter(([bit]) => code & bit).map(([, name]) => name);
  const unknown = code & ~0x07;
  if (unknown) names.push(`unknown bits ${hexByte(unknown)}`);
  return `code ${hexByte(code)} (${names.length > 0 ? names.join(", ") : "none set"})`;
}

export class AudioSocketConnection implements CallLeg {
  id = "";
  readonly transport = "audiosocket";
  readonly tenant = "default";
  readonly callerNumber = null;
  readonly dnis = null;
  readonly metadata = null;
  readonly reportsPlayedAudio = false;
  readonly dtmfEvents = true;
  readonly playbackPendingMs = 0;
  readonly playsAhead = false;
  sampleRate = 8000;
  frameSamples = frameSamplesFor(8000);

  private phase: Phase = "awaiting-uuid";
  private log: Logger;
  private events: CallLegEvents | null = null;
  private readonly legClose = new LegClose();
  private bytesSeen = 0;
  private timer: ReturnType<typeof setTimeout> | null;
  private readonly parser = new AudioSocketParser(
    (kind, payload) => this.onMessage(kind, payload),
    (kind, bytes, start, end) => this.onAudioBytes(kind, bytes, start, end),
  );
  private readonly mulaw = new MulawDetector();
  /** The buffer inbound samples are decoded into (shared: INBOUND), kept while frames keep their length. */
  private view = INBOUND.get(0);
  private readonly out = new AudioFrameOut(8000);
  private pending = new Uint8Array(0);
  private pendingStart = 0;
  private pendingEnd = 0;
  private endWhenFlushed = false;
  /** Odd-length 0x10 payloads outside μ-law are logged once per call. */
  private warnedOdd = false;

  constructor(
    private readonly socket: WireSocket,
    readonly peer: string,
    private readonly ctx: ConnectionContext,
  ) {
    this.log = ctx.log.child("audiosocket", { peer });
    this.timer = setTimeout(() => this.onUuidTimeout(), ctx.uuidTimeoutMs);
  }

  sendAudio(samples: Int16Array): boolean {
    if (this.phase !== "in-call" || samples.length === 0 || samples.length > 0x7fff) return false;
    const length = this.out.write(samples);
    const start = this.out.start;
    if (!this.send(this.out.bytes, start, start + length, this.sampleRate * 2 + FRAMES_PER_SECOND * HEADER_BYTES)) return false;
    this.ctx.stats.framesOut++;
    this.ctx.stats.bytesOut += length;
    return true;
  }

  /** Asterisk plays each frame as it arrives: nothing is held there to drop. */
  flushPlayback(): void {}

  hangup(): void {
    if (this.phase !== "in-call") return;
    this.phase = "ending";
    this.log.info("hanging up from our side (0x00)");
    this.send(HANGUP_MESSAGE, 0, HANGUP_MESSAGE.length, Infinity);
    if (this.pendingStart === this.pendingEnd) {
      this.closeSocket();
    } else {
      this.endWhenFlushed = true;
      this.timer = setTimeout(() => this.closeSocket("terminate"), HANGUP_FLUSH_MS);
    }
    this.finishLeg("server-hangup");
  }

  onData(chunk: Uint8Array): void {
    if (this.phase !== "awaiting-uuid" && this.phase !== "in-call") return;
    this.ctx.stats.bytesIn += chunk.length;
    this.bytesSeen += chunk.length;
    try {
      this.parser.push(chunk);
    } catch (error) {
      if (error instanceof AudioSocketProtocolError) this.onProtocolError(error.message);
      else this.onHandlerFailure(error);
    }
  }

  onDrain(): void {
    while (this.pendingStart < this.pendingEnd) {
      const wanted = this.pendingEnd - this.pendingStart;
      const written = this.socket.write(this.pending, this.pendingStart, wanted);
      if (written <= 0) return;
      this.pendingStart += written;
      if (written < wanted) return;
    }
    this.pendingStart = this.pendingEnd = 0;
    if (this.endWhenFlushed) this.closeSocket();
  }

  onSocketClosed(): void {
    const was = this.phase;
    this.phase = "closed";
    this.clearTimer();
    if (was === "awaiting-uuid") {
      if (this.bytesSeen === 0) {
        this.log.warn("connection closed with zero bytes: Asterisk does this when the channel is not answered; put Answer() before AudioSocket() in the dialplan");
      } else {
        this.log.warn(`connection closed after ${this.bytesSeen} bytes, before a complete UUID message`);
      }
    } else if (was === "in-call") {
      this.log.info("caller hung up (connection closed)");
      this.finishLeg("caller-hangup");
    }
    this.ctx.onGone(this);
  }

  /** Server shutdown. */
  shutdown(): void {
    if (this.phase === "closed") return;
    const hadLeg = this.phase === "in-call";
    this.closeSocket();
    if (hadLeg) this.finishLeg("shutdown");
  }

  private onMessage(kind: number, payload: Uint8Array): void {
    if (this.phase === "awaiting-uuid") {
      if (kind !== Kind.Uuid) throw new AudioSocketProtocolError(`first message is kind ${hexByte(kind)}, expected the UUID (0x01)`);
      this.startCall(payload);
      return;
    }
    if (this.phase !== "in-call") return;
    switch (kind) {
      case Kind.Uuid:
        throw new AudioSocketProtocolError(`second UUID message ${uuidToString(payload)} (the call is ${this.id})`);
      case Kind.Dtmf:
        this.events!.onDtmf(String.fromCharCode(payload[0]!));
        return;
      case Kind.Hangup:
        this.endByPeer("info", "the PBX sent hang-up (0x00)");
        return;
      case Kind.Error:
        this.endByPeer("warn", `the PBX sent error (0xff): ${describeErrorCode(payload)}`);
        return;
      default:
        this.onAudioMessage(kind, payload);
    }
  }

  private startCall(uuid: Uint8Array): void {
    this.clearTimer();
    this.id = uuidToString(uuid);
    this.log = this.ctx.log.child("audiosocket", { peer: this.peer, call: this.id });
    this.phase = "in-call";
    this.log.info("call connected");
    this.events = this.ctx.admit(this);
    this.legClose.admitted(this.events, this.log);
  }

  /**
   * Every audio message: once the call is in and its codec settled, a frame is decoded straight
   * from the socket's chunk; the rest (before the call, while slin and μ-law are told apart) takes
   * the general path with a view of the payload.
   */
  private onAudioBytes(kind: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.phase !== "in-call" || this.mulaw.state === "undecided") {
      this.onMessage(kind, bytes.subarray(start, end));
      return;
    }
    this.ctx.stats.framesIn++;
    this.deliverPayload(kind, bytes, start, end);
  }

  private onAudioMessage(kind: number, payload: Uint8Array): void {
    this.ctx.stats.framesIn++;
    if (this.mulaw.state === "undecided" && !this.settleCodec(kind, payload)) return;
    if (this.phase === "in-call") this.deliverPayload(kind, payload, 0, payload.length);
  }

  /** While slin and μ-law are not told apart yet: false when this payload was held (or skipped), not to be delivered now. */
  private settleCodec(kind: number, payload: Uint8Array): boolean {
    let verdict: MulawVerdict;
    let deliverNow = true;
    if (kind === Kind.Slin8 && payload.length === MULAW_FRAME_BYTES) {
      verdict = this.mulaw.hold(payload, performance.now());
      if (verdict === "undecided") return false;
      deliverNow = false; // released with the held ones
    } else if (kind === Kind.Slin8 && payload.length % 2 === 1) {
      if (!this.mulaw.holding) {
        // Not slin (always whole samples), and no reason yet to call the stream μ-law: the next frames decide.
        this.warnOdd(`skipped an odd-length 0x10 payload (${payload.length} bytes) before the call's codec was known`);
        return false;
      }
      verdict = this.mulaw.settleOnOddFrame(performance.now());
    } else {
      this.mulaw.settleAsSlin();
      verdict = "slin";
    }
    if (verdict === "mulaw") {
      this.log.warn("caller audio is μ-law labelled as slin (0x10), as Dial(AudioSocket/...) sends with c(ulaw): decoding it; use c(slin) or c(slin16) instead");
    }
    this.releaseHeld();
    return deliverNow;
  }

  private releaseHeld(): void {
    for (const payload of this.mulaw.takeHeld()) {
      if (this.phase !== "in-call") return;
      this.deliverPayload(Kind.Slin8, payload, 0, payload.length);
    }
  }

  /** The audio in `bytes[start, end)`, decoded as the call's codec says. */
  private deliverPayload(kind: number, bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (kind === Kind.Slin8 && this.mulaw.state === "mulaw") {
      const samples = this.samplesFor(length);
      decodeMulaw(bytes, samples, start, end);
      this.deliver(kind, samples);
    } else if (length % 2 === 0) {
      this.deliver(kind, this.decodeSlin(bytes, start, end));
    } else {
      // Old Asterisk sends comfort noise this way, and bridges pass on a peer's odd frame (fixture d03): the stray byte goes.
      this.warnOdd(`odd-length slin payload (${length} bytes) for kind 0x10: its last byte is dropped`);
      if (length > 1) this.deliver(kind, this.decodeSlin(bytes, start, end));
    }
  }

  private deliver(kind: number, samples: Int16Array): void {
    const rate = rateForKind(kind)!;
    if (rate !== this.sampleRate) {
      this.sampleRate = rate;
      this.out.setRate(rate);
      this.frameSamples = frameSamplesFor(rate);
      this.events!.onRateChange(rate);
      if (this.phase !== "in-call") return;
    }
    this.events!.onAudio(samples);
  }

  private warnOdd(message: string): void {
    if (!this.warnedOdd) this.log.warn(`${message} (further odd payloads are not logged)`);
    this.warnedOdd = true;
  }

  /** s16le `bytes[start, end)` into the reused sample buffer (an odd last byte is left out). */
  private decodeSlin(bytes: Uint8Array, start: number, end: number): Int16Array {
    const samples = this.samplesFor((end - start) >> 1);
    for (let i = 0, b = start; i < samples.length; i++, b += 2) {
      samples[i] = ((bytes[b]! | (bytes[b + 1]! << 8)) << 16) >> 16;
    }
    return samples;
  }

  private samplesFor(count: number): Int16Array {
    if (this.view.length !== count) this.view = INBOUND.get(count);
    return this.view;
  }

  /** Writes `bytes[start, end)` now, or queues it behind bytes the socket has not taken yet. False when over `limit`. */
  private send(bytes: Uint8Array, start: number, end: number, limit: number): boolean {
    let from = start;
    if (this.pendingStart === this.pendingEnd) {
      const written = this.socket.write(bytes, start, end - start);
      if (written < 0) return false;
      if (written === end - start) return true;
      from += written;
    }
    const queued = this.pendingEnd - this.pendingStart + (end - from);
    if (queued > limit) {
      this.onWriteOverflow(queued);
      return false;
    }
    if (queued > this.pending.length - this.pendingStart) {
      if (queued > this.pending.length) {
        const grown = new Uint8Array(Math.max(queued, this.pending.length * 2));
        grown.set(this.pending.subarray(this.pendingStart, this.pendingEnd));
        this.pending = grown;
      } else {
        this.pending.copyWithin(0, this.pendingStart, this.pendingEnd);
      }
      this.pendingEnd -= this.pendingStart;
      this.pendingStart = 0;
    }
    this.pending.set(bytes.subarray(from, end), this.pendingEnd);
    this.pendingEnd += end - from;
    return true;
  }

  private onWriteOverflow(queued: number): void {
    const detail = `${queued} bytes (over 1 s of audio) waiting for the peer to read`;
    this.log.warn(`peer is not reading our audio: ${detail}; closing the connection`);
    this.closeSocket("terminate");
    this.finishLeg("write-error", detail);
  }

  private onProtocolError(message: string): void {
    this.ctx.stats.protocolErrors++;
    this.log.warn(`protocol error: ${message}; closing the connection`);
    this.closeSocket();
    this.finishLeg("protocol-error", message);
  }

  /** A call handler threw: the call cannot go on, so hand the caller back to the dialplan with 0x00. */
  private onHandlerFailure(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`call handler failed: ${message}; hanging up`);
    if (this.phase === "in-call") {
      this.phase = "ending";
      this.send(HANGUP_MESSAGE, 0, HANGUP_MESSAGE.length, Infinity);
      this.closeSocket();
      this.finishLeg("internal-error", message);
    } else {
      this.closeSocket();
    }
  }

  private endByPeer(level: "info" | "warn", detail: string): void {
    this.log[level](`${detail}; ending the call`);
    this.closeSocket();
    this.finishLeg("caller-hangup", detail);
  }

  private onUuidTimeout(): void {
    this.timer = null;
    if (this.phase !== "awaiting-uuid") return;
    this.ctx.stats.protocolErrors++;
    this.log.warn(`no UUID message within ${this.ctx.uuidTimeoutMs} ms (${this.bytesSeen} bytes received); closing the connection`);
    this.closeSocket();
  }

  /** Bun runs the close handler inside end()/terminate(), so the phase is set first. */
  private closeSocket(how: "end" | "terminate" = "end"): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.clearTimer();
    if (how === "end") this.socket.end();
    else this.socket.terminate();
  }

  private finishLeg(reason: LegCloseReason, detail?: string): void {
    if (this.id !== "") this.legClose.close(reason, detail, this.log);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
