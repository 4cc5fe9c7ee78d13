import type { Recorder } from "./recorder.ts";

/** Each interval is cut into this many steps; each recorder is flushed in one of them. */
const STEPS = 10;

/**
 * One timer for every live call's recorder, instead of one per call. Each recorder has a step of
 * its own within the interval and is flushed then, once per interval, so the recording worker gets
 * an even trickle instead of one burst of every call's audio. The recorders flushed in one step
 * hand their buffers over in the same turn, which the recording writer sends as one message.
 * A step visits only its own recorders, and asks for no promise of the write: at a thousand
 * calls that is two thousand hand-overs a second on the event loop.
 */
export class RecorderFlusher {
  /** The recorders of each step; a recorder is in one of them. */
  private readonly steps: Set<Recorder>[] = Array.from({ length: STEPS }, () => new Set<Recorder>());
  private timer: ReturnType<typeof setInterval> | null = null;
  private step = 0;

  constructor(private readonly intervalMs = 500) {
    if (!(Number.isFinite(intervalMs) && intervalMs > 0 && intervalMs <= 1000)) {
      throw new Error(`recorder flush interval ${intervalMs} ms is not allowed: more than 0 and at most 1000 (recordings are flushed at least once a second)`);
    }
  }

  add(recorder: Recorder): void {
    if (this.steps.some((step) => step.has(recorder))) return;
    const lightest = this.steps.reduce((min, step) => (step.size < min.size ? step : min));
    lightest.add(recorder);
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.step = (this.step + 1) % STEPS;
      for (const r of this.steps[this.step] as Set<Recorder>) r.handOverBuffered();
    }, this.intervalMs / STEPS);
    // Live calls keep the process up; an idle timer must not.
    this.timer.unref();
  }

  remove(recorder: Recorder): void {
    if (!this.steps.some((step) => step.delete(recorder))) return;
    if (this.steps.every((step) => step.size === 0)) this.clearTimer();
  }

  /** Stops the timer and flushes every recorder still registered one last time. */
  async stop(): Promise<void> {
    this.clearTimer();
    const last = this.steps.flatMap((step) => [...step].map((r) => r.flush()));
    for (const step of this.steps) step.clear();
    await Promise.all(last);
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
