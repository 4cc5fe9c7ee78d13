/** A fixed-bucket latency histogram: one array of counts, no allocation per observation. */

/** Upper bounds in seconds, suited to a 1 s turn budget (Prometheus `le`). */
export const LATENCY_BUCKETS_S: readonly number[] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5];

export class LatencyHistogram {
  /** Per bucket, the last one for everything above the highest bound. */
  readonly counts = new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0);
  sumSeconds = 0;

  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const s = ms / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && s > (LATENCY_BUCKETS_S[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sumSeconds += s;
  }
}
