/**
 * The last hour of the figures the console charts (active calls, calls started, underruns, the
 * caller's speech end → first bot frame p50/p95), sampled from /metrics' families every 10 s so a
 * page opened now shows the hour before it. The percentiles are of each interval's turns alone.
 */
import type { MetricFamily } from "./prometheus.ts";
import type { TrendPoint } from "./health-shapes.ts";

const INTERVAL_MS = 10_000;
const KEPT = 360;
const FIRST_AUDIO = "voicebot_turn_first_audio_seconds";

interface Totals {
  callsStarted: number;
  underruns: number;
  /** Cumulative bucket counts by upper bound, in order. */
  buckets: { le: number; count: number }[];
}

function scalar(families: readonly MetricFamily[], name: string): number {
  const family = families.find((f) => f.name === name);
  return family === undefined ? 0 : family.samples.reduce((sum, s) => sum + s.value, 0);
}

function totalsOf(families: readonly MetricFamily[]): Totals {
  const histogram = families.find((f) => f.name === FIRST_AUDIO);
  const buckets = (histogram?.samples ?? [])
    .filter((s) => s.name === `${FIRST_AUDIO}_bucket` && s.labels?.le !== undefined)
    .map((s) => ({ le: s.labels?.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels?.le), count: s.value }));
  return { callsStarted: scalar(families, "voicebot_calls_started_total"), underruns: scalar(families, "voicebot_playout_underruns_total"), buckets };
}

/** The bucket bound below which a share `q` of the interval's turns fell (the largest finite bound for the overflow). */
export function quantile(now: Totals["buckets"], before: Totals["buckets"], q: number): number | null {
  const counts = now.map((b, i) => b.count - (before[i]?.count ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const target = q * total;
  for (let i = 0; i < now.length; i++) {
    if ((counts[i] ?? 0) >= target) {
      const le = now[i]?.le ?? 0;
      return Number.isFinite(le) ? le : (now[i - 1]?.le ?? null);
    }
  }
  return null;
}

export class MetricsTrend {
  private readonly points: TrendPoint[] = [];
  private last: Totals;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly metrics: () => MetricFamily[], intervalMs = INTERVAL_MS) {
    this.last = totalsOf(metrics());
    this.timer = setInterval(() => this.sample(Date.now()), intervalMs);
    this.timer.unref();
  }

  sample(at: number): void {
    const families = this.metrics();
    const now = totalsOf(families);
    this.points.push({
      at,
      activeCalls: scalar(families, "voicebot_active_calls"),
      callsStarted: Math.max(0, now.callsStarted - this.last.callsStarted),
      underruns: Math.max(0, now.underruns - this.last.underruns),
      firstAudioP50: quantile(now.buckets, this.last.buckets, 0.5),
      firstAudioP95: quantile(now.buckets, this.last.buckets, 0.95),
    });
    if (this.points.length > KEPT) this.points.shift();
    this.last = now;
  }

  get history(): readonly TrendPoint[] {
    return this.points;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
