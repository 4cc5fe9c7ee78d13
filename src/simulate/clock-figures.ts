/**
 * How late a playout clock woke up over a run, the server's (from /metrics) and the bench
 * client's own: a late server clock is the server stalling; a late client clock means the bench
 * itself could not keep up, and its figures say more about the client than the server.
 */
import { CLOCK_BUCKETS_MS, type ClockStats } from "../media/playout-clock.ts";

export interface Lateness {
  wakeups: number;
  /** Wake-ups more than 10 ms late, and more than 50 ms late. */
  over10Ms: number;
  over50Ms: number;
}

const LATENESS = "voicebot_clock_tick_lateness_seconds";

function sample(text: string, name: string, le?: string): number | null {
  const labels = le === undefined ? "" : `\\{le="${le.replace(".", "\\.")}"\\}`;
  const m = new RegExp(`^${name}${labels} ([^\\s]+)$`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

/** The server clock's lateness counts in a /metrics text; null when absent. */
export function serverLateness(text: string): Lateness | null {
  const wakeups = sample(text, `${LATENESS}_count`);
  const upTo10 = sample(text, `${LATENESS}_bucket`, "0.01");
  const upTo50 = sample(text, `${LATENESS}_bucket`, "0.05");
  if (wakeups === null || upTo10 === null || upTo50 === null) return null;
  return { wakeups, over10Ms: wakeups - upTo10, over50Ms: wakeups - upTo50 };
}

/** What happened between two readings. */
export function latenessBetween(before: Lateness | null, after: Lateness | null): Lateness | null {
  if (before === null || after === null) return null;
  return { wakeups: after.wakeups - before.wakeups, over10Ms: after.over10Ms - before.over10Ms, over50Ms: after.over50Ms - before.over50Ms };
}

/** Wake-ups later than `ms` (one of CLOCK_BUCKETS_MS) in a clock's per-bucket counts. */
function countOver(buckets: readonly number[], ms: number): number {
  let n = 0;
  for (let i = CLOCK_BUCKETS_MS.indexOf(ms as (typeof CLOCK_BUCKETS_MS)[number]) + 1; i < buckets.length; i++) n += buckets[i] as number;
  return n;
}

/** A clock's own lateness counts (the bench client's). */
export function clockLateness(stats: ClockStats): Lateness {
  return { wakeups: stats.wakeups, over10Ms: countOver(stats.latenessBuckets, 10), over50Ms: countOver(stats.latenessBuckets, 50) };
}
