/**
 * One ASP session, one call: the CallLeg the call layer talks to. Its connection (asp-connection.ts)
 * routes the session's messages here and carries what it sends.
 *
 * How the media server's client behaves decides the shape (media-server/sip/call.py):
 * - it sends no audio until our first response.end (the greeting), so the call is started with one
 *   frame of silence instead of waiting for the caller's audio;
 * - between response.start and the end of its playback it sends no audio either (its capture only
 *   watches for barge-in), so response.start/end bracket the bot's speech: start on the first frame
 *   that is not silence, end after HANGOVER_FRAMES of silence or on flushPlayback;
 * - it plays what it receives from a buffer at real time but has no way to flush it from our side:
 *   frames go one per clock tick, so our barge-in stops the audio within a frame;
 * - its own barge-in clears its buffer and resumes its capture: caller audio arriving mid-response
 *   is that, and the rest of the response is dropped like the reference agent's would be.
 */
import type { Logger } from "../log.ts";
import { frameSamplesFor } from "../media/pcm.ts";
import { LegClose } from "./leg-close.ts";
import type { Negotiated } from "./asp-negotiate.ts";
import {
  AUDIO_HEADER_BYTES, hangupActionMessage, hashHead, responseEndMessage, responseStartMessage, sameHash, sessionEndedMessage, sessionHash,
  writeOutboundHeader, type SessionStatistics,
} from "./asp-protocol.ts";
import type { AdmitCall, CallLeg, CallLegEvents, LegCloseReason, TransportStats } from "./types.ts";

/** What a session needs from its connection. */
export interface AspWire {
  /** False when the socket could not take it (the connection then ends). */
  sendText(text: string): boolean;
  sendBinary(bytes: Uint8Array): boolean;
}

export interface AspSessionInit {
  sessionId: string;
  peer: string;
  tenant: string;
  callerNumber: string | null;
  dnis: string | null;
  metadata: string;
  negotiated: Negotiated;
  wire: AspWire;
  log: Logger;
  stats: TransportStats;
  /** After our hang-up, how long to wait for the client's session.end before forgetting the session. */
  endWaitMs: number;
  onGone(session: AspSession): void;
}

/** Silence that ends a response: short pauses inside a reply keep the client's capture paused. */
const HANGOVER_FRAMES = 10;
/** Audio sent before the client saw our response.start is still in flight: not a barge-in. */
const BARGE_IN_GRACE_MS = 300;

type Phase = "live" | "ending" | "closed";

export class AspSession implements CallLeg {
  readonly transport = "asp";
  readonly reportsPlayedAudio = false;
  /** ASP carries no keypad events: with DTMF_INBAND=auto the caller's tones are heard in the audio. */
  readonly dtmfEvents = false;
  readonly playsAhead = false;
  readonly playbackPendingMs = 0;
  readonly id: string;
  readonly peer: string;
  readonly tenant: string;
  readonly callerNumber: string | null;
  readonly dnis: string | null;
  readonly metadata: string;
  readonly sampleRate: number;
  readonly frameSamples: number;
  /** The first 4 bytes of md5(session_id): how the connection finds this session for an audio frame. */
  readonly hashHead: number;
  negotiated: Negotiated;

  private phase: Phase = "live";
  private readonly log: Logger;
  private events: CallLegEvents | null = null;
  private readonly legClose = new LegClose();
  private readonly hash: Uint8Array;
  private readonly startedAt = Date.now();
  private endTimer: ReturnType<typeof setTimeout> | null = null;
  /** The caller's frame being filled, and the bot's frame with its header; both reused. */
  private readonly frame: Int16Array;
  private fill = 0;
  private readonly out: Uint8Array;
  private readonly outSamples: Int16Array;

  private responseOpen = false;
  private responseStartedAt = 0;
  private quietFrames = 0;
  /** The client cut this response off (its barge-in): the rest of it is not sent. */
  private muted = false;
  private lastSpeechEndAt = 0;
  private readonly counts = { framesIn: 0, framesOut: 0, speechStarts: 0, speechEnds: 0, bargeIns: 0, latencyMsSum: 0, latencies: 0 };

  constructor(private readonly init: AspSessionInit) {
    this.id = init.sessionId;
    this.peer = init.peer;
    this.tenant = init.tenant;
    this.callerNumber = init.callerNumber;
    this.dnis = init.dnis;
    this.metadata = init.metadata;
    this.negotiated = init.negotiated;
    this.sampleRate = init.negotiated.audio.sample_rate;
    this.frameSamples = frameSamplesFor(this.sampleRate);
    this.hash = sessionHash(init.sessionId);
    this.hashHead = hashHead(this.hash);
    this.log = init.log.child("asp", { peer: init.peer, call: init.sessionId });
    this.frame = new Int16Array(this.frameSamples);
    this.out = new Uint8Array(AUDIO_HEADER_BYTES + this.frameSamples * 2);
    writeOutboundHeader(this.out, this.hash);
    this.outSamples = new Int16Array(this.out.buffer, AUDIO_HEADER_BYTES, this.frameSamples);
  }

  /** Whether an audio frame's header names this session (all 8 bytes of the hash). */
  owns(bytes: Uint8Array): boolean {
    return sameHash(bytes, 2, this.hash);
  }

  get live(): boolean {
    return this.phase === "live";
  }

  /** Hands the leg to the call layer, then starts it: the client sends no audio before our greeting. */
  admit(admit: AdmitCall): void {
    try {
      this.events = admit(this);
      if (this.legClose.admitted(this.events, this.log)) return;
      this.events.onAudio(new Int16Array(this.frameSamples));
    } catch (error) {
      this.failed(error);
    }
  }

  sendAudio(samples: Int16Array): boolean {
    if (this.phase !== "live") return false;
    const silent = isSilent(samples);
    if (!this.responseOpen) {
      if (silent) return true;
      if (!this.openResponse()) return false;
    } else if (silent) {
      if (++this.quietFrames >= HANGOVER_FRAMES) return this.closeResponse(this.muted);
    } else {
      this.quietFrames = 0;
    }
    if (this.muted) return true;
    let bytes = this.out;
    if (samples.length === this.frameSamples) {
      this.outSamples.set(samples);
    } else {
      bytes = new Uint8Array(AUDIO_HEADER_BYTES + samples.byteLength);
      writeOutboundHeader(bytes, this.hash);
      bytes.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), AUDIO_HEADER_BYTES);
    }
    if (!this.init.wire.sendBinary(bytes)) return false;
    this.counts.framesOut++;
    this.init.stats.framesOut++;
    this.init.stats.bytesOut += bytes.length;
    return true;
  }

  /** Our barge-in: at most a frame is queued at the client; the response ends (interrupted) now. */
  flushPlayback(): void {
    if (this.phase !== "live" || !this.responseOpen) return;
    if (!this.muted) this.counts.bargeIns++;
    this.closeResponse(true);
  }

  /** The bot hangs up: the client ends the SIP call after playing what it holds, then sends session.end. */
  hangup(reason?: string): void {
    if (this.phase !== "live") return;
    // Before response.end: the client runs the action once that response has played out.
    // A failed write has closed the connection, and this leg with it.
    if (!this.init.wire.sendText(hangupActionMessage(this.id, reason))) return;
    if (this.responseOpen) this.closeResponse(false);
    this.log.info("the bot hung up; waiting for the media server's session.end", { reason });
    this.phase = "ending";
    this.endTimer = setTimeout(() => this.forget(), this.init.endWaitMs);
    this.finishLeg("server-hangup");
  }

  /** Caller audio at offset AUDIO_HEADER_BYTES of `bytes`, any whole number of samples. */
  onAudio(bytes: Uint8Array): void {
    if (this.phase !== "live") return;
    this.counts.framesIn++;
    this.init.stats.bytesIn += bytes.length;
    if (this.responseOpen && !this.muted && Date.now() - this.responseStartedAt > BARGE_IN_GRACE_MS) {
      this.muted = true;
      this.counts.bargeIns++;
      this.log.info("the media server cut the bot off (its barge-in): the rest of this response is dropped");
    }
    try {
      this.deliver(bytes);
    } catch (error) {
      this.failed(error);
    }
  }

  private deliver(bytes: Uint8Array): void {
    const frame = this.frame;
    for (let b = AUDIO_HEADER_BYTES; b < bytes.length; b += 2) {
      frame[this.fill] = ((bytes[b]! | (bytes[b + 1]! << 8)) << 16) >> 16;
      if (++this.fill < frame.length) continue;
      this.fill = 0;
      this.init.stats.framesIn++;
      this.events?.onAudio(frame);
      if (this.phase !== "live") return;
    }
  }

  /** The client's VAD: hints, kept for the statistics (the call runs its own VAD). */
  onSpeechStart(): void {
    this.counts.speechStarts++;
  }

  onSpeechEnd(): void {
    this.counts.speechEnds++;
    this.lastSpeechEndAt = Date.now();
  }

  /** session.end: the call is over on the client's side; session.ended carries the statistics. */
  onEnd(reason: string | null): void {
    if (this.phase === "closed") return;
    this.init.wire.sendText(sessionEndedMessage(this.id, (Date.now() - this.startedAt) / 1000, this.statistics()));
    const wasLive = this.phase === "live";
    this.forget();
    if (wasLive) {
      this.log.info("the media server ended the session", { reason: reason ?? undefined });
      this.finishLeg("caller-hangup", `session.end${reason ? ` (${reason})` : ""}`);
    }
  }

  /** The connection is gone, or closed for a fault: the call ends with it. */
  onConnectionEnded(reason: LegCloseReason, detail: string): void {
    const wasLive = this.phase === "live";
    this.forget();
    if (wasLive) this.finishLeg(reason, detail);
  }

  /** Server stopping: the client hangs the SIP call up rather than keep a call no one answers. */
  shutdown(): void {
    const wasLive = this.phase === "live";
    if (wasLive) this.init.wire.sendText(hangupActionMessage(this.id, "shutdown"));
    this.forget();
    if (wasLive) this.finishLeg("shutdown");
  }

  statistics(): SessionStatistics {
    const c = this.counts;
    return {
      audio_frames_received: c.framesIn,
      audio_frames_sent: c.framesOut,
      vad_speech_events: Math.max(c.speechStarts, c.speechEnds),
      barge_in_count: c.bargeIns,
      average_response_latency_ms: c.latencies === 0 ? 0 : Math.round(c.latencyMsSum / c.latencies),
    };
  }

  private openResponse(): boolean {
    if (!this.init.wire.sendText(responseStartMessage(this.id))) return false;
    const now = Date.now();
    if (this.lastSpeechEndAt > 0) {
      this.counts.latencyMsSum += now - this.lastSpeechEndAt;
      this.counts.latencies++;
      this.lastSpeechEndAt = 0;
    }
    this.responseOpen = true;
    this.responseStartedAt = now;
    this.quietFrames = 0;
    this.muted = false;
    return true;
  }

  private closeResponse(interrupted: boolean): boolean {
    this.responseOpen = false;
    this.muted = false;
    return this.init.wire.sendText(responseEndMessage(this.id, interrupted));
  }

  /** A call handler threw: the call cannot go on. */
  private failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`call handler failed: ${message}; hanging up`);
    if (this.phase !== "live") return;
    this.init.wire.sendText(hangupActionMessage(this.id, "internal error"));
    this.phase = "ending";
    this.endTimer = setTimeout(() => this.forget(), this.init.endWaitMs);
    this.finishLeg("internal-error", message);
  }

  private forget(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    if (this.endTimer !== null) clearTimeout(this.endTimer);
    this.endTimer = null;
    this.init.onGone(this);
  }

  private finishLeg(reason: LegCloseReason, detail?: string): void {
    this.legClose.close(reason, detail, this.log);
  }
}

function isSilent(samples: Int16Array): boolean {
  for (let i = 0; i < samples.length; i++) if (samples[i] !== 0) return false;
  return true;
}
