import type { Recorder } from "./recorder.ts";

/**
 * One timer for every live call's recorder, instead of one per call: each tick starts an async
 * flush of every recorder (a write dispatch is ~1 µs of loop time; the disk work is off the loop).
 */
export class RecorderFlusher {
  private readonly recorders = new Set<Recorder>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly intervalMs = 500) {
    if (!(Number.isFinite(intervalMs) && intervalMs > 0 && intervalMs <= 1000)) {
      throw new Error(`recorder flush interval ${intervalMs} ms is not allowed: more than 0 and at most 1000 (recordings are flushed at least once a second)`);
    }
  }

  add(recorder: Recorder): void {
    this.recorders.add(recorder);
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const r of this.recorders) void r.flush();
    }, this.intervalMs);
    // Live calls keep the process up; an idle timer must not.
    this.timer.unref();
  }

  remove(recorder: Recorder): void {
    this.recorders.delete(recorder);
    if (this.recorders.size === 0) this.clearTimer();
  }

  /** Stops the timer and flushes every recorder still registered one last time. */
  async stop(): Promise<void> {
    this.clearTimer();
    const last = [...this.recorders].map((r) => r.flush());
    this.recorders.clear();
    await Promise.all(last);
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
