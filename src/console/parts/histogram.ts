/** Percentiles out of a Prometheus histogram family as /api/health gives it (cumulative buckets). */
import type { MetricFamily } from "../types.ts";

/** The bucket bound (in the family's unit) under which a share `q` of the observations fell; null with none. */
export function percentile(family: MetricFamily | undefined, q: number): number | null {
  if (family === undefined) return null;
  const buckets = family.samples
    .filter((s) => s.name?.endsWith("_bucket") === true && s.labels?.le !== undefined)
    .map((s) => ({ le: s.labels?.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels?.le), count: s.value }));
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    if (b !== undefined && b.count >= q * total) return Number.isFinite(b.le) ? b.le : (buckets[i - 1]?.le ?? null);
  }
  return null;
}

export function total(family: MetricFamily | undefined): number {
  return family === undefined ? 0 : family.samples.reduce((sum, s) => (s.name === undefined || !s.name.endsWith("_bucket") ? sum + s.value : sum), 0);
}
