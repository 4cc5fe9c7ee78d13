/**
 * What the speech-API fakes that stream at the caller's rate (Deepgram Aura's speak endpoint,
 * Google Cloud TTS) give their tests: the requests seen, the counts, the first-byte delay, faults on
 * demand and the exact samples they produce. Bundled with the fakes.
 */
import type { FaultPlan } from "./fault-plan.ts";
import { renderSpeech } from "./speech.ts";

export interface SpeechFakeCounts {
  requests: number;
  /** Refused because the request itself was wrong. */
  rejected: number;
  faulted: number;
  completed: number;
  /** The client went away before the end of the audio. */
  cancelled: number;
}

export interface SpeechFakeControls<F, S> {
  readonly requests: readonly S[];
  readonly counts: Readonly<SpeechFakeCounts>;
  ttfbMs: number;
  /** The next `times` valid requests get `fault`. */
  failNext(fault: F, times?: number): void;
  /** Every valid request gets `fault` (after the queued ones) until called with null. */
  failAlways(fault: F | null): void;
  /** The exact samples this fake produces for `text` at `rate`. */
  pcmFor(text: string, rate: number): Int16Array;
}

export function speechFakeControls<F, S>(o: { faults: FaultPlan<F>; requests: S[]; counts: SpeechFakeCounts; ttfbMs: number; msPerChar: number }): SpeechFakeControls<F, S> {
  return {
    requests: o.requests,
    counts: o.counts,
    ttfbMs: o.ttfbMs,
    failNext: (fault, times) => o.faults.failNext(fault, times),
    failAlways: (fault) => o.faults.failAlways(fault),
    pcmFor: (text, rate) => renderSpeech(text, o.msPerChar, rate),
  };
}

export function newSpeechFakeCounts(): SpeechFakeCounts {
  return { requests: 0, rejected: 0, faulted: 0, completed: 0, cancelled: 0 };
}
