import { FRAME_MS } from "./pcm.ts";

/** Something that writes one frame per tick: a call's playout. */
export interface ClockTarget {
  onTick(): void;
}

export interface ClockStats {
  ticks: number;
  /** Ticks that ran more than one period late (the loop was blocked); each still sent its frame. */
  lateTicks: number;
  /** Ticks given up because the loop was blocked for more than MAX_CATCH_UP periods. */
  skippedTicks: number;
}

/** Beyond this many overdue periods the clock jumps ahead rather than bursting audio. */
const MAX_CATCH_UP = 3;

/**
 * One 20 ms clock for every call (DESIGN: per-call timers drift and cost more). It runs on a
 * monotonic deadline, not on setInterval, so lateness never accumulates: a tick that fires late
 * still targets `start + n × 20 ms`, and overdue ticks are caught up (a frame each, so a caller
 * never falls behind real time) up to MAX_CATCH_UP, after which the clock skips ahead — a burst
 * larger than that would be garbled by the PBX anyway (PROTOCOLS §1.6).
 */
export class PlayoutClock {
  readonly stats: ClockStats = { ticks: 0, lateTicks: 0, skippedTicks: 0 };
  private readonly targets = new Set<ClockTarget>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private startedAt = 0;
  private tickIndex = 0;

  /** A target that throws is dropped (its call ends) so it cannot stop every other call's audio. */
  constructor(private readonly onTargetError: (target: ClockTarget, err: unknown) => void) {}

  add(target: ClockTarget): void {
    this.targets.add(target);
    if (this.timer === null) this.start();
  }

  remove(target: ClockTarget): void {
    this.targets.delete(target);
    if (this.targets.size === 0) this.stop();
  }

  get size(): number {
    return this.targets.size;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private start(): void {
    this.startedAt = performance.now();
    this.tickIndex = 0;
    this.schedule();
  }

  private schedule(): void {
    const due = this.startedAt + (this.tickIndex + 1) * FRAME_MS;
    this.timer = setTimeout(this.run, Math.max(0, due - performance.now()));
  }

  private readonly run = (): void => {
    const now = performance.now();
    let overdue = Math.floor((now - this.startedAt) / FRAME_MS) - this.tickIndex;
    if (overdue > MAX_CATCH_UP) {
      this.stats.skippedTicks += overdue - MAX_CATCH_UP;
      this.tickIndex += overdue - MAX_CATCH_UP;
      overdue = MAX_CATCH_UP;
    }
    if (overdue > 1) this.stats.lateTicks += overdue - 1;
    for (let i = 0; i < Math.max(1, overdue); i++) {
      this.tickIndex++;
      this.stats.ticks++;
      for (const target of this.targets) {
        try {
          target.onTick();
        } catch (err) {
          this.targets.delete(target);
          this.onTargetError(target, err);
        }
      }
    }
    if (this.targets.size > 0) this.schedule();
    else this.timer = null;
  };
}
