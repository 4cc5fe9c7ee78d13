/** Order statistics for the simulator's timings (greeting delay, jitter, pacing lead). */

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Nearest-rank percentile of an ascending-sorted list (p in 0..100): the smallest value with at
 * least p % of the values at or below it. NaN for an empty list.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  return sorted[nearestRank(n, p) - 1] as number;
}

/** The 1-based rank of the p-th percentile among n values: at least p % at or below it. */
function nearestRank(n: number, p: number): number {
  return Math.max(1, Math.ceil((p / 100) * n));
}

/**
 * The same nearest-rank percentile as `percentileOfSorted` for p ≥ 50, without sorting: it keeps
 * only the values above the rank. A call's figures are taken as it hangs up, and when a thousand
 * calls hang up together a sort per call held the bench's event loop long enough to show as a gap
 * in the calls still playing.
 */
export function upperPercentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 50 && p <= 100)) throw new RangeError(`upper percentile must be from 50 to 100, got ${p}`);
  const n = values.length;
  if (n === 0) return NaN;
  const keep = n - nearestRank(n, p) + 1;
  // The `keep` largest values so far, ascending: top[0] is the answer once every value is seen.
  const top = new Float64Array(keep).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v <= (top[0] as number)) continue;
    let j = 0;
    while (j + 1 < keep && (top[j + 1] as number) < v) {
      top[j] = top[j + 1] as number;
      j++;
    }
    top[j] = v;
  }
  return top[0] as number;
}

/** Sorts a copy (the input is left alone) and reads p50, p99 and max from it. */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN,
  };
}

/** Joins many per-call sample lists into one typed array, without intermediate copies. */
export function concatSamples(lists: readonly ArrayLike<number>[]): Float64Array {
  let total = 0;
  for (const list of lists) total += list.length;
  const out = new Float64Array(total);
  let at = 0;
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) out[at++] = list[i] as number;
  }
  return out;
}

/** Rounds for display and JSON: timings in ms with 0.1 ms resolution; NaN becomes null. */
export function roundMs(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 10) / 10 : null;
}

/** How many values fall at or under each bound, above the previous one; the last bucket (null) is above every bound. */
export function histogram(values: ArrayLike<number>, boundsMs: readonly number[]): { upToMs: number | null; count: number }[] {
  const buckets = [...boundsMs.map((upToMs) => ({ upToMs: upToMs as number | null, count: 0 })), { upToMs: null, count: 0 }];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    let b = 0;
    while (b < boundsMs.length && v > (boundsMs[b] as number)) b++;
    (buckets[b] as { count: number }).count++;
  }
  return buckets;
}
