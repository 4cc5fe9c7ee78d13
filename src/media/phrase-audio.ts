/** How a rendered phrase is shaped: the silence around the speech trimmed, the level brought to −3 dBFS. */

/** Kept before the first and after the last audible sample, so joined phrases and digits sound natural. */
const LEAD_IN_MS = 30;
const TAIL_MS = 150;
/** Before a call's first words nothing is to be set apart: its lead-in shrinks to this. */
const CALL_START_LEAD_MS = 5;
/** Comfortable telephone loudness: peaks at −3 dBFS. */
const TARGET_PEAK = Math.round(32767 * 10 ** (-3 / 20));
/** Below this fraction of the peak (−40 dB) a sample counts as silence when trimming. */
const SILENCE_FRACTION = 0.01;

export function peakOf(samples: Int16Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.abs(samples[i] as number);
    if (v > peak) peak = v;
  }
  return peak;
}

/** The speech with exactly LEAD_IN_MS before and TAIL_MS after it (zero-padded where the TTS gave less). */
export function trimSilence(samples: Int16Array, sampleRate: number): Int16Array {
  const threshold = Math.max(1, peakOf(samples) * SILENCE_FRACTION);
  let first = 0;
  while (first < samples.length && Math.abs(samples[first] as number) <= threshold) first++;
  if (first === samples.length) return samples;
  let last = samples.length - 1;
  while (Math.abs(samples[last] as number) <= threshold) last--;
  const lead = Math.round((sampleRate * LEAD_IN_MS) / 1000);
  const tail = Math.round((sampleRate * TAIL_MS) / 1000);
  const trimmed = new Int16Array(lead + (last - first + 1) + tail);
  const from = Math.max(0, first - lead);
  const to = Math.min(samples.length, last + 1 + tail);
  trimmed.set(samples.subarray(from, to), lead - (first - from));
  return trimmed;
}

/**
 * The segments of a call's first utterance from the phrase cache: the first begins
 * CALL_START_LEAD_MS before its speech instead of LEAD_IN_MS, so the caller hears the bot a frame
 * sooner (the cache keeps the whole lead-in, which sets phrases apart later in the call). Views of
 * the cached audio: nothing is copied.
 */
export function callStartSegments(segments: Int16Array[], sampleRate: number): Int16Array[] {
  const first = segments[0];
  const drop = Math.round((sampleRate * (LEAD_IN_MS - CALL_START_LEAD_MS)) / 1000);
  if (first === undefined || first.length <= drop) return segments;
  return [first.subarray(drop), ...segments.slice(1)];
}

/** Scales in place so the peak sits at −3 dBFS; silence is left alone. */
export function normalisePeak(samples: Int16Array): void {
  const peak = peakOf(samples);
  if (peak === 0) return;
  const gain = TARGET_PEAK / peak;
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round((samples[i] as number) * gain);
}
