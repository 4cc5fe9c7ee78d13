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
  private readonly stepOf = new Map<Recorder, number>();
  private readonly steps: Set<Recorder>[] = Array.from({ length: STEPS }, () => new Set<Recorder>());
  private timer: ReturnType<typeof setInterval> | null = null;
  private step = 0;

  constructor(private readonly intervalMs = 500) {
    if (!(Number.isFinite(intervalMs) && intervalMs > 0 && intervalMs <= 1000)) {
      throw new Error(`recorder flush interval ${intervalMs} ms is not allowed: more than 0 and at most 1000 (recordings are flushed at least once a second)`);
    }
  }

  add(recorder: Recorder): void {
    if (this.stepOf.has(recorder)) return;
    let step = 0;
    for (let i = 1; i < STEPS; i++) if ((this.steps[i] as Set<Recorder>).size < (this.steps[step] as Set<Recorder>).size) step = i;
    this.stepOf.set(recorder, step);
    (this.steps[step] as Set<Recorder>).add(recorder);
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.step = (this.step + 1) % STEPS;
      for (const r of this.steps[this.step] as Set<Recorder>) r.handOverBuffered();
    }, this.intervalMs / STEPS);
    // Live calls keep the process up; an idle timer must not.
    this.timer.unref();
  }

  remove(recorder: Recorder): void {
    const step = this.stepOf.get(recorder);
    if (step === undefined) return;
    this.stepOf.delete(recorder);
    this.steps[step]?.delete(recorder);
    if (this.stepOf.size === 0) this.clearTimer();
  }

  /** Stops the timer and flushes every recorder still registered one last time. */
  async stop(): Promise<void> {
    this.clearTimer();
    const last = [...this.stepOf.keys()].map((r) => r.flush());
    this.stepOf.clear();
    for (const step of this.steps) step.clear();
    await Promise.all(last);
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
