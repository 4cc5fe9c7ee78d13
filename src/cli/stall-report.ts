import type { Logger } from "../log.ts";

/** Shorter hold-ups are counted in /metrics only (voicebot_clock_skipped_ticks_total). */
const REPORT_FROM_MS = 500;
/** At most one line this often; the next one counts those left out. */
const EVERY_MS = 10_000;

/**
 * The admin's line for a held-up event loop: every call was silent meanwhile, and Asterisk hangs
 * up a call after 2 s without a frame. The cause is outside the call path (a stalled disk, a
 * suspended VM, a CPU taken by another process), so the line says how long, not why.
 */
export function stallReporter(log: Logger, now: () => number = Date.now): (lateMs: number) => void {
  let lastAt = -Infinity;
  let leftOut = 0;
  let worstLeftOutMs = 0;
  return (lateMs) => {
    if (lateMs < REPORT_FROM_MS) return;
    const at = now();
    if (at - lastAt < EVERY_MS) {
      leftOut++;
      worstLeftOutMs = Math.max(worstLeftOutMs, lateMs);
      return;
    }
    const fields = leftOut > 0 ? { ms: Math.round(lateMs), moreSinceLastLine: leftOut, worstOfThoseMs: Math.round(worstLeftOutMs) } : { ms: Math.round(lateMs) };
    log.warn("the event loop was held up: every call's audio stopped meanwhile (past 2 s, Asterisk hangs up)", fields);
    lastAt = at;
    leftOut = 0;
    worstLeftOutMs = 0;
  };
}
