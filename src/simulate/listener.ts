/**
 * What the simulated caller heard: when the bot spoke and for how long, how soon the greeting
 * came, and how evenly the frames were paced. Pure bookkeeping over (payload, rate, arrival time),
 * so tests feed it synthetic frame sequences with made-up clocks.
 */
import { upperPercentile } from "./stats.ts";

/** A frame is speech when its RMS is above −45 dBFS (full scale = 32768). */
const SPEECH_RMS = 32768 * 10 ** (-45 / 20);
const SPEECH_RMS_SQUARED = SPEECH_RMS * SPEECH_RMS;
/**
 * The greeting starts at the first frame with any sample at or above −54 dBFS: lower than the
 * speech threshold so a soft first syllable counts, higher than zero so rounding noise does not.
 */
const SOUND_PEAK = 64;
/** Speech separated by less than this is one utterance (pauses between words and clauses). */
const UTTERANCE_GAP_MS = 400;

export interface Utterance {
  /** From the call start (UUID sent) to the first speech frame's arrival. */
  startMs: number;
  /** From the first speech frame's arrival to the end of the last one's audio. */
  durationMs: number;
}

export interface HeardSummary {
  greetingDelayMs: number | null;
  utterances: Utterance[];
  frames: number;
  jitterMs: number[];
  /** The longest time between two consecutive frames' arrivals (0 before the second frame). */
  longestGapMs: number;
  /** When that gap ended, from the call start (UUID sent): a storm's stall shows early in every call. */
  longestGapEndMs: number;
  maxLeadMs: number;
  leadP99Ms: number;
}

export class CallListener {
  frames = 0;
  greetingDelayMs: number | null = null;
  /** Arrival time of the last speech frame (same clock as `nowMs`); −Infinity before any. */
  lastSpeechAtMs = -Infinity;
  /** When the last speech frame's audio ends (arrival + its duration); −Infinity before any. */
  lastSpeechEndMs = -Infinity;
  /** Arrival time of the last audio frame of any kind; the call start before the first. */
  lastFrameAtMs: number;
  /** Arrival time of the last frame with any sound in it (speech or its quiet parts); −Infinity before any. */
  lastSoundAtMs = -Infinity;

  private readonly utterances: Utterance[] = [];
  private readonly jitterMs: number[] = [];
  private longestGapMs = 0;
  private longestGapEndMs = 0;
  private readonly leadsMs: number[] = [];
  private maxLeadMs = 0;
  private utteranceStartMs = -1;
  private previousArrivalMs = -1;
  private previousDurationMs = 0;
  /** Where a real-time player of the received audio would be when its queue runs dry. */
  private playedUntilMs = -Infinity;
  private readonly recorded: Int16Array[] | null;

  constructor(
    private readonly callStartMs: number,
    private readonly recordRate: number | null,
  ) {
    this.lastFrameAtMs = callStartMs;
    this.recorded = recordRate === null ? null : [];
  }

  /**
   * One audio message: `payload[start, end)` is s16le mono at `sampleRate`, `nowMs` its arrival
   * time. The payload is only read during the call (it may be a reused socket buffer).
   */
  onAudio(payload: Uint8Array, sampleRate: number, nowMs: number, start = 0, end = payload.length): void {
    const samples = (end - start) >> 1;
    const durationMs = (samples * 1000) / sampleRate;
    this.frames++;
    this.lastFrameAtMs = nowMs;

    if (this.previousArrivalMs >= 0) {
      const gap = nowMs - this.previousArrivalMs;
      if (gap > this.longestGapMs) {
        this.longestGapMs = gap;
        this.longestGapEndMs = nowMs - this.callStartMs;
      }
      this.jitterMs.push(Math.abs(gap - this.previousDurationMs));
    }
    this.previousArrivalMs = nowMs;
    this.previousDurationMs = durationMs;

    // Lead = audio received before this frame minus the time a real-time player needed for it.
    // A late frame lets the player run dry; the count restarts there instead of banking credit.
    if (this.playedUntilMs < nowMs) this.playedUntilMs = nowMs;
    const lead = this.playedUntilMs - nowMs;
    this.leadsMs.push(lead);
    if (lead > this.maxLeadMs) this.maxLeadMs = lead;
    this.playedUntilMs += durationMs;

    const copy = this.recorded !== null && sampleRate === this.recordRate ? new Int16Array(samples) : null;
    let sumSquares = 0;
    let peak = 0;
    for (let i = 0; i < samples; i++) {
      const s = ((payload[start + 2 * i] as number) | ((payload[start + 2 * i + 1] as number) << 8)) << 16 >> 16;
      sumSquares += s * s;
      const magnitude = s < 0 ? -s : s;
      if (magnitude > peak) peak = magnitude;
      if (copy !== null) copy[i] = s;
    }
    if (copy !== null) this.recorded?.push(copy);

    if (peak >= SOUND_PEAK) {
      this.lastSoundAtMs = nowMs;
      if (this.greetingDelayMs === null) this.greetingDelayMs = nowMs - this.callStartMs;
    }
    if (this.utteranceStartMs >= 0 && nowMs - this.lastSpeechEndMs >= UTTERANCE_GAP_MS) this.closeUtterance();
    if (samples > 0 && sumSquares > SPEECH_RMS_SQUARED * samples) {
      if (this.utteranceStartMs < 0) this.utteranceStartMs = nowMs;
      this.lastSpeechAtMs = nowMs;
      this.lastSpeechEndMs = nowMs + durationMs;
    }
  }

  /** Ends an utterance still open at the end of the call and returns the figures. */
  finish(): HeardSummary {
    if (this.utteranceStartMs >= 0) this.closeUtterance();
    return {
      greetingDelayMs: this.greetingDelayMs,
      utterances: this.utterances.slice(),
      frames: this.frames,
      jitterMs: this.jitterMs,
      longestGapMs: this.longestGapMs,
      longestGapEndMs: this.longestGapEndMs,
      maxLeadMs: this.maxLeadMs,
      leadP99Ms: this.leadsMs.length > 0 ? upperPercentile(this.leadsMs, 99) : 0,
    };
  }

  /** Everything heard at the recording rate, in order (empty when not recording). */
  recording(): Int16Array {
    const parts = this.recorded ?? [];
    let total = 0;
    for (const p of parts) total += p.length;
    const out = new Int16Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private closeUtterance(): void {
    this.utterances.push({
      startMs: this.utteranceStartMs - this.callStartMs,
      durationMs: this.lastSpeechEndMs - this.utteranceStartMs,
    });
    this.utteranceStartMs = -1;
  }
}
