/**
 * One mod_audio_stream WebSocket: admitted on its first message (the metadata text, or audio when
 * the dialplan gave none), then binary s16le re-framed into 20 ms frames for the call, control
 * text, and the bot's audio back through a PlaybackSender. ESL supplies what the WebSocket cannot:
 * DTMF, file playback and hang-up (PROTOCOLS.md §2). Nothing here throws into Bun's handlers: every
 * fault ends this connection only, with one log line.
 */
import { CallTimer } from "./call-timer.ts";
import { LegClose } from "./leg-close.ts";
import type { Logger } from "../log.ts";
import { frameSamplesFor } from "../media/pcm.ts";
import type { FreeswitchMediaControl } from "./freeswitch-control.ts";
import { createPlayback, type PlaybackMode, type PlaybackSender } from "./audiostream-playback.ts";
import { describe, excerpt, parseDtmfMessage, parseMetadata, type MixType, type StreamMetadata, type StreamRequest } from "./audiostream-url.ts";
import type { AdmitCall, CallLeg, CallLegEvents, LegCloseReason, TransportStats } from "./types.ts";

/** The part of Bun's ServerWebSocket a connection uses. */
export interface StreamSocket {
  /** Bun: bytes sent, -1 queued under back-pressure, 0 dropped. */
  send(data: string): number;
  /** 1 while open; Bun runs the close handler soon after it leaves 1. */
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
}

export interface StreamConnectionContext {
  readonly admit: AdmitCall;
  readonly log: Logger;
  readonly stats: TransportStats;
  readonly playback: PlaybackMode;
  readonly control: FreeswitchMediaControl | null;
  readonly resolveTenant: (id: string | null) => string | null;
  readonly firstMessageTimeoutMs: number;
  /** File mode: how long the bot's audio may wait for ESL before the call is given up (tests shorten it). */
  readonly eslWaitLimitMs?: number;
  onGone(connection: AudioStreamConnection): void;
}

/** How long FreeSWITCH gets to close the stream after `uuid_kill` or a CHANNEL_HANGUP. */
const CLOSE_WAIT_MS = 2000;
/** Longest wait for file-mode audio to finish playing before `uuid_kill` (a 6 s chunk plus gaps). */
const DRAIN_CAP_MS = 10_000;
/** With stereo/mixed, no audio this long into the call means the parked-channel trap. */
const NO_AUDIO_WARN_MS = 3000;
/** Unsent bytes (in seconds of base64 audio) past which FreeSWITCH is taken as not reading. */
const BUFFERED_LIMIT_S: Record<PlaybackMode, number> = { stream: 1, file: 13 };

type Phase = "awaiting-first" | "in-call" | "ending" | "closed";
const NO_METADATA: StreamMetadata = { caller: null, dnis: null, tenant: null, callId: null };


export class AudioStreamConnection implements CallLeg {
  id = "";
  readonly transport = "audiostream";
  tenant = "";
  callerNumber: string | null = null;
  dnis: string | null = null;
  readonly reportsPlayedAudio: boolean;
  readonly playsAhead: boolean;
  readonly frameSamples: number;
  metadata: string | null = null;

  private phase: Phase = "awaiting-first";
  private log: Logger;
  private events: CallLegEvents | null = null;
  private control: FreeswitchMediaControl | null = null;
  private unwatch: (() => void) | null = null;
  private playback: PlaybackSender | null = null;
  private readonly legClose = new LegClose();
  /** One timer at a time: first message, no audio (stereo/mixed), close wait, drain before uuid_kill. */
  private readonly timer = new CallTimer((error) => this.onHandlerFailure(error));
  private awaitingAudio = false;
  private warnedText = false;
  /** The dialplan forwards digits as `{"type":"dtmf"}` text: the wire has DTMF events after all. */
  private textDigits = false;
  private readonly bytesPerSample: number;
  private readonly bufferedLimit: number;
  /** The frame being filled (caller side, and FreeSWITCH's own output in stereo); reused. */
  private readonly caller: Int16Array;
  private readonly played: Int16Array;
  private fill = 0;

  constructor(
    private readonly socket: StreamSocket,
    readonly peer: string,
    private readonly request: StreamRequest,
    readonly sampleRate: number,
    private readonly mix: MixType,
    private readonly ctx: StreamConnectionContext,
  ) {
    this.log = ctx.log.child("audiostream", { peer });
    this.reportsPlayedAudio = mix === "stereo";
    this.playsAhead = ctx.playback === "file";
    this.frameSamples = frameSamplesFor(sampleRate);
    this.bytesPerSample = mix === "stereo" ? 4 : 2;
    this.bufferedLimit = Math.ceil(((sampleRate * 2 * 4) / 3) * BUFFERED_LIMIT_S[ctx.playback]);
    this.caller = new Int16Array(this.frameSamples);
    this.played = new Int16Array(mix === "stereo" ? this.frameSamples : 0);
    this.timer.set(ctx.firstMessageTimeoutMs, () => this.onFirstMessageTimeout());
  }

  sendAudio(samples: Int16Array): boolean {
    if (this.phase !== "in-call") return false;
    return this.playback!.push(samples);
  }

  flushPlayback(): void {
    if (this.phase === "in-call") this.playback!.flush();
  }

  get dtmfEvents(): boolean {
    return this.textDigits || (this.control?.connected ?? false);
  }

  get playbackPendingMs(): number {
    return this.phase === "in-call" ? this.playback!.pendingMs() : 0;
  }

  hangup(): void {
    if (this.phase !== "in-call") return;
    this.phase = "ending";
    const control = this.control;
    if (control === null || !control.connected) {
      this.log.warn("hanging up by closing the stream: without a connected ESL, FreeSWITCH keeps the call parked in silence (the shipped dialplan must end it)");
      this.closeSocket(1000, "bot hung up");
      this.finishLeg("server-hangup");
      return;
    }
    const drainMs = Math.min(DRAIN_CAP_MS, this.playback!.pendingMs());
    this.log.info("hanging up over ESL (uuid_kill)", { after_ms: Math.round(drainMs) });
    this.timer.set(drainMs, () => {
      control.hangup(this.id);
      this.timer.set(CLOSE_WAIT_MS, () => this.closeUnclosed("uuid_kill", "server-hangup"));
    });
  }

  onMessage(data: string | Uint8Array): void {
    if (this.phase === "closed") return;
    try {
      if (this.phase === "awaiting-first") {
        this.clearTimer();
        this.startCall(typeof data === "string" ? data : null);
        if (typeof data === "string" || !this.admitted()) return;
      }
      if (typeof data === "string") this.onText(data);
      else this.onBinary(data);
    } catch (error) {
      this.onHandlerFailure(error);
    }
  }

  onSocketClosed(code: number, reason: string): void {
    const was = this.phase;
    this.release();
    const detail = code === 1006 ? "connection lost (1006, no close frame)" : `close ${code}${reason ? ` "${reason}"` : ""}`;
    if (was === "awaiting-first") {
      this.log.warn(`stream closed before any message (${detail})${this.parkedHint()}`);
    } else if (was === "in-call") {
      this.log.info(`FreeSWITCH ended the stream (${detail})`);
      this.finishLeg("caller-hangup", detail);
    } else if (was === "ending") {
      this.finishLeg("server-hangup");
    }
    this.ctx.onGone(this);
  }

  /** Server shutdown: the stream closes, and the call too (FreeSWITCH would keep it parked in silence). */
  shutdown(): void {
    if (this.phase === "closed") return;
    if (this.phase !== "awaiting-first") this.releaseChannel();
    this.closeSocket(1001, "voicebot is shutting down");
    this.finishLeg("shutdown");
  }

  private startCall(text: string | null): void {
    const metadata = text === null ? NO_METADATA : this.readMetadata(text);
    const tenantHint = this.request.tenantId ?? metadata.tenant;
    const tenant = this.ctx.resolveTenant(tenantHint);
    if (tenant === null) {
      this.ctx.stats.connectionsRejected++;
      this.log.warn("stream refused: unknown tenant", { tenant: tenantHint });
      this.closeSocket(1008, "unknown tenant");
      return;
    }
    const callId = this.request.callId ?? metadata.callId;
    this.id = callId ?? crypto.randomUUID();
    this.tenant = tenant;
    this.callerNumber = metadata.caller;
    this.dnis = metadata.dnis;
    this.log = this.ctx.log.child("audiostream", { peer: this.peer, call: this.id });
    // Without FreeSWITCH's own uuid, ESL commands would name a channel that does not exist.
    this.control = callId === null ? null : this.ctx.control;
    this.playback = createPlayback(this.ctx.playback, {
      callId: this.id, sampleRate: this.sampleRate, control: this.control, log: this.log, stats: this.ctx.stats, eslWaitLimitMs: this.ctx.eslWaitLimitMs,
      sendText: (t) => this.sendText(t), onUnplayable: (detail) => this.onUnplayable(detail),
    });
    this.phase = "in-call";
    this.log.info("call connected", { tenant, caller: this.callerNumber, dnis: this.dnis, rate: this.sampleRate, mix: this.mix });
    this.warnAboutSetup(callId === null);
    this.events = this.ctx.admit(this);
    if (this.legClose.admitted(this.events, this.log)) return;
    if (this.phase !== "in-call" || this.control === null) return;
    this.unwatch = this.control.watch(this.id, {
      onDtmf: (digit) => this.guard(() => {
        if (this.phase === "in-call") this.events!.onDtmf(digit);
      }),
      onPlay: (file) => {
        if (this.phase === "in-call" || this.phase === "ending") this.playback!.onPlay(file);
      },
      onControlUp: () => {
        if (this.phase === "in-call" || this.phase === "ending") this.playback!.onControlUp();
      },
      // The voxcom fork deadlocks, and never closes the stream, when a call ends during playback.
      onHangup: () => {
        if (this.phase === "in-call") this.timer.set(CLOSE_WAIT_MS, () => this.closeUnclosed("CHANNEL_HANGUP", "caller-hangup"));
      },
    });
  }

  /** A method, so the phase is read again after callbacks that may have changed it. */
  private admitted(): boolean {
    return this.phase === "in-call";
  }

  private readMetadata(text: string): StreamMetadata {
    this.metadata = text;
    const { fields, json, ignored } = parseMetadata(text);
    if (!json) this.log.debug("metadata is not a JSON object; kept as text", { metadata: excerpt(text) });
    for (const problem of ignored) this.log.warn(`metadata: ${problem}`);
    return fields;
  }

  private warnAboutSetup(randomId: boolean): void {
    if (randomId) this.log.warn("no call id in the URL or metadata: using a random one, so DTMF, file playback and hang-up cannot reach this call over ESL; put ${uuid} in the URL (/stream/<tenant>/${uuid})");
    if (this.ctx.playback === "file" && this.control === null && !randomId) this.log.warn("AUDIOSTREAM_PLAYBACK=file without ESL: the caller hears nothing (the community module only writes files; ESL must uuid_broadcast them)");
    if (this.mix === "mixed") this.log.warn("mix=mixed: the bot hears itself in the caller's audio (use mono)");
    if (this.mix !== "mono") {
      this.timer.set(NO_AUDIO_WARN_MS, () => this.log.warn(`no audio ${NO_AUDIO_WARN_MS} ms into the call${this.parkedHint()}`));
      this.awaitingAudio = true;
    }
  }

  private parkedHint(): string {
    return this.mix === "mono" ? "" : `: with mix=${this.mix}, mod_audio_stream sends no audio while the channel is parked (use mono)`;
  }

  private onText(text: string): void {
    const digit = parseDtmfMessage(text);
    if (digit !== null) {
      this.textDigits = true;
      if (this.phase === "in-call") this.events!.onDtmf(digit);
      return;
    }
    const what = { text: excerpt(text) };
    if (this.warnedText) return this.log.debug("ignored text message", what);
    this.warnedText = true;
    this.log.warn('ignored a text message that is not {"type":"dtmf","digit":…} (stop <text> and send_text send such words; further ones are logged at debug)', what);
  }

  private onBinary(bytes: Uint8Array): void {
    const length = bytes.length;
    this.ctx.stats.framesIn++;
    this.ctx.stats.bytesIn += length;
    if (length % this.bytesPerSample !== 0) {
      this.onProtocolError(1003, `binary frame of ${length} bytes is not a whole number of ${this.bytesPerSample}-byte ${this.mix} s16le samples`);
      return;
    }
    if (length > this.sampleRate * this.bytesPerSample) {
      this.onProtocolError(1009, `binary frame of ${length} bytes is over 1 s of audio (${this.sampleRate * this.bytesPerSample} bytes at ${this.sampleRate} Hz ${this.mix})`);
      return;
    }
    if (this.awaitingAudio) this.clearTimer();
    if (this.phase === "in-call") this.reframe(bytes);
  }

  /** Any message size into exactly-20 ms frames; stereo is split into caller (left) and played (right). */
  private reframe(bytes: Uint8Array): void {
    const stereo = this.mix === "stereo";
    for (let b = 0; b < bytes.length; b += this.bytesPerSample) {
      this.caller[this.fill] = ((bytes[b]! | (bytes[b + 1]! << 8)) << 16) >> 16;
      if (stereo) this.played[this.fill] = ((bytes[b + 2]! | (bytes[b + 3]! << 8)) << 16) >> 16;
      if (++this.fill < this.frameSamples) continue;
      this.fill = 0;
      this.events!.onAudio(this.caller);
      if (stereo && this.phase === "in-call") this.events!.onPlayedAudio?.(this.played);
      if (this.phase !== "in-call") return;
    }
  }

  private sendText(text: string): boolean {
    if (this.socket.send(text) === 0) {
      if (this.socket.readyState === 1) this.onWriteFailure("the socket dropped a message (Bun's back-pressure limit)");
      return false;
    }
    this.ctx.stats.framesOut++;
    this.ctx.stats.bytesOut += text.length;
    const buffered = this.socket.getBufferedAmount();
    if (buffered > this.bufferedLimit) {
      this.onWriteFailure(`${buffered} bytes waiting for FreeSWITCH to read`);
      return false;
    }
    return true;
  }

  private closeUnclosed(after: string, reason: LegCloseReason): void {
    const detail = `FreeSWITCH did not close the stream within ${CLOSE_WAIT_MS} ms of ${after}`;
    this.log.warn(`${detail}; closing it`);
    this.closeSocket(1000, "call ended");
    this.finishLeg(reason, detail);
  }

  private onWriteFailure(detail: string): void {
    this.log.warn(`FreeSWITCH is not reading our audio: ${detail}; closing the stream`);
    this.releaseChannel();
    this.closeSocket(1011, "not reading");
    this.finishLeg("write-error", detail);
  }

  /** File mode with ESL down too long: the caller cannot hear the bot, and FreeSWITCH cannot be told to hang up. */
  private onUnplayable(detail: string): void {
    if (this.phase !== "in-call" && this.phase !== "ending") return;
    this.log.error(`${detail}; ending the call by closing the stream (FreeSWITCH keeps the channel parked until the caller hangs up)`);
    this.closeSocket(1011, "ESL down: playback impossible");
    this.finishLeg("write-error", detail);
  }

  private onProtocolError(code: number, message: string): void {
    this.ctx.stats.protocolErrors++;
    this.log.warn(`protocol error: ${message}; closing the stream`);
    this.releaseChannel();
    this.closeSocket(code, code === 1009 ? "frame too large" : "bad audio frame");
    this.finishLeg("protocol-error", message);
  }

  /** A call handler threw: the call cannot go on. */
  private onHandlerFailure(error: unknown): void {
    const message = describe(error);
    this.log.error(`call handler failed: ${message}; hanging up`);
    const hadLeg = this.phase === "in-call" || this.phase === "ending";
    if (hadLeg) this.releaseChannel();
    this.closeSocket(1011, "internal error");
    if (hadLeg) this.finishLeg("internal-error", message);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.onHandlerFailure(error);
    }
  }

  private onFirstMessageTimeout(): void {
    if (this.phase !== "awaiting-first") return;
    this.ctx.stats.protocolErrors++;
    this.log.warn(`nothing received within ${this.ctx.firstMessageTimeoutMs} ms of the upgrade; closing the stream${this.parkedHint()}`);
    this.closeSocket(1008, "no message received");
  }

  /** Ends the FreeSWITCH call itself: once the stream is gone it would stay parked in silence. */
  private releaseChannel(): void {
    if (this.control?.connected) this.control.hangup(this.id);
  }

  /** Bun may run the close handler inside close(), so the phase is set first. */
  private closeSocket(code: number, reason: string): void {
    if (this.phase === "closed") return;
    this.release();
    this.socket.close(code, reason);
    this.ctx.onGone(this);
  }

  private release(): void {
    this.phase = "closed";
    this.clearTimer();
    this.unwatch?.();
    this.unwatch = null;
    this.playback?.close();
  }

  private finishLeg(reason: LegCloseReason, detail?: string): void {
    if (this.id !== "") this.legClose.close(reason, detail, this.log);
  }

  private clearTimer(): void {
    this.timer.clear();
    this.awaitingAudio = false;
  }
}
