import { FRAME_MS } from "./pcm.ts";

/** Something that writes one frame per tick: a call's playout. */
export interface ClockTarget {
  onTick(): void;
  /** `periods` of its ticks were skipped: the event loop was blocked too long to catch them up. */
  onSkipped?(periods: number): void;
}

/** Upper bounds (ms) of the lateness and duration histograms. */
export const CLOCK_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100] as const;

export interface ClockStats {
  /** Frame slots run (one per call phase per 20 ms). */
  ticks: number;
  /** Slots that ran more than one slot late (the loop was blocked); each still sent its frames. */
  lateTicks: number;
  /** Slots given up because the loop was blocked for more than MAX_CATCH_UP periods. */
  skippedTicks: number;
  wakeups: number;
  /** How late each wake-up was against its deadline: counts per CLOCK_BUCKETS_MS bound (+Inf last). */
  latenessBuckets: number[];
  latenessSumMs: number;
  /** How long one wake-up took to write its calls' frames. */
  durationBuckets: number[];
  durationSumMs: number;
}

/**
 * Calls are spread over this many phases of the 20 ms period. Writing a frame costs a syscall,
 * and 200 of them back to back take milliseconds: the last call would get its frame that much
 * later, by a different amount every time. Four phases cut each burst, and that jitter, by four.
 */
export const PHASES = 4;
const SLOT_MS = FRAME_MS / PHASES;
/**
 * Beyond this many overdue periods the clock jumps ahead rather than bursting audio: a call
 * then resumes where it was, a little later, instead of getting more than 40 ms at once (the
 * pacing lead must stay under 60 ms). Nothing queued is lost, only delayed.
 */
const MAX_CATCH_UP = 2;

/**
 * One 20 ms clock for every call (DESIGN: per-call timers drift and cost more), run on a
 * monotonic deadline, not on setInterval, so lateness never accumulates: a late wake-up still
 * targets `start + n × slot`, and overdue slots are caught up (so no caller falls behind real
 * time) up to MAX_CATCH_UP periods, after which the clock skips ahead — a larger burst would be
 * garbled by the PBX anyway (PROTOCOLS §1.6). Each call belongs to one phase for its whole life,
 * so it still gets exactly one tick every 20 ms.
 */
export class PlayoutClock<T extends ClockTarget = ClockTarget> {
  readonly stats: ClockStats = {
    ticks: 0, lateTicks: 0, skippedTicks: 0, wakeups: 0,
    latenessBuckets: new Array<number>(CLOCK_BUCKETS_MS.length + 1).fill(0), latenessSumMs: 0,
    durationBuckets: new Array<number>(CLOCK_BUCKETS_MS.length + 1).fill(0), durationSumMs: 0,
  };
  private readonly phases: Set<T>[] = Array.from({ length: PHASES }, () => new Set<T>());
  private readonly phaseOf = new Map<T, Set<T>>();
  /** Targets moving to another phase: they tick once at the given slot, then join that slot's phase. */
  private readonly moving = new Map<T, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private startedAt = 0;
  private slot = 0;
  /** One-shot work to run right after the next run's frames (see afterRun). */
  private after: (() => void)[] = [];

  /**
   * A target that throws is dropped (its call ends) so it cannot stop every other call's audio.
   * `onBlocked` hears of each wake-up so late that ticks were skipped: every call was silent that long.
   */
  constructor(
    private readonly onTargetError: (target: T, err: unknown) => void,
    private readonly onBlocked: ((lateMs: number) => void) | null = null,
  ) {}

  add(target: T): void {
    let phase = this.phases[0] as Set<T>;
    for (const p of this.phases) if (p.size < phase.size) phase = p;
    phase.add(target);
    this.phaseOf.set(target, phase);
    if (this.timer === null) this.start();
  }

  /**
   * `next` takes `old`'s place: the same phase (or the same pending slot), so the call's frames keep
   * their rhythm when another object starts writing them. Without `old` registered, `next` is added.
   */
  replace(old: T, next: T): void {
    const phase = this.phaseOf.get(old);
    const slot = this.moving.get(old);
    if (phase === undefined && slot === undefined) {
      this.add(next);
      return;
    }
    this.phaseOf.delete(old);
    this.moving.delete(old);
    if (phase !== undefined) this.phaseOf.set(next, phase);
    // A moving target is out of its phase's set until its slot comes (see moveTo).
    if (slot !== undefined) this.moving.set(next, slot);
    else if (phase !== undefined) {
      phase.delete(old);
      phase.add(next);
    }
  }

  remove(target: T): void {
    this.phaseOf.get(target)?.delete(target);
    this.phaseOf.delete(target);
    this.moving.delete(target);
    if (this.phaseOf.size === 0) this.stop();
  }

  /**
   * The target's next tick comes at the next slot instead of up to 20 ms later (a reply's first
   * audio is ready: send it now). Returns how many slots (5 ms each) earlier that is: the pacing
   * lead the call gained, which `delay` must give back while the call is quiet.
   */
  expedite(target: T): number {
    const next = this.nextSlotOf(target);
    if (next === null || next <= this.slot + 1) return 0;
    this.moveTo(target, this.slot + 1);
    return next - (this.slot + 1);
  }

  /** The target's next tick comes `slots` slots (≤ PHASES − 1) later: a longer gap, once, in silence. */
  delay(target: T, slots: number): void {
    const next = this.nextSlotOf(target);
    if (next === null || slots <= 0) return;
    this.moveTo(target, next + Math.min(slots, PHASES - 1));
  }

  private nextSlotOf(target: T): number | null {
    const moving = this.moving.get(target);
    if (moving !== undefined) return moving;
    const phase = this.phaseOf.get(target);
    if (!phase) return null;
    const p = this.phases.indexOf(phase);
    // The first slot after the last one run that belongs to its phase.
    return this.slot + 1 + ((p - ((this.slot + 1) % PHASES) + PHASES) % PHASES);
  }

  private moveTo(target: T, slot: number): void {
    this.phaseOf.get(target)?.delete(target);
    this.moving.set(target, slot);
  }

  get size(): number {
    return this.phaseOf.size;
  }

  /**
   * Milliseconds until the next slot is due: what other work may take without making a call's
   * frame late. Negative when the clock is behind; Infinity when it is not running.
   */
  msUntilNextSlot(): number {
    if (this.timer === null) return Infinity;
    return this.startedAt + (this.slot + 1) * SLOT_MS - performance.now();
  }

  /**
   * Runs `fn` once, right after the next run has sent its frames: the moment with the most time
   * before another frame is due. When the clock is not running it runs on the next turn instead.
   */
  afterRun(fn: () => void): void {
    if (this.timer === null) setImmediate(fn);
    else this.after.push(fn);
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // Work waiting for a run that will not come runs on the next turn.
    const due = this.after;
    this.after = [];
    for (const fn of due) setImmediate(fn);
  }

  private start(): void {
    this.startedAt = performance.now();
    this.slot = 0;
    this.schedule();
  }

  private schedule(): void {
    const due = this.startedAt + (this.slot + 1) * SLOT_MS;
    this.timer = setTimeout(this.run, Math.max(0, due - performance.now()));
  }

  private readonly run = (): void => {
    const now = performance.now();
    const lateness = now - (this.startedAt + (this.slot + 1) * SLOT_MS);
    let overdue = Math.floor((now - this.startedAt) / SLOT_MS) - this.slot;
    const maxOverdue = MAX_CATCH_UP * PHASES;
    if (overdue > maxOverdue) {
      this.skip(overdue - maxOverdue);
      overdue = maxOverdue;
      this.onBlocked?.(lateness);
    }
    if (overdue > 1) this.stats.lateTicks += overdue - 1;
    for (let i = 0; i < Math.max(1, overdue); i++) {
      this.slot++;
      this.stats.ticks++;
      this.tickPhase(this.phases[this.slot % PHASES] as Set<T>);
    }
    const stats = this.stats;
    stats.wakeups++;
    stats.latenessSumMs += lateness;
    (stats.latenessBuckets[bucketOf(lateness)] as number)++;
    const took = performance.now() - now;
    stats.durationSumMs += took;
    (stats.durationBuckets[bucketOf(took)] as number)++;
    if (this.phaseOf.size > 0) this.schedule();
    else this.timer = null;
    if (this.after.length > 0) this.runAfter();
  };

  /** Runs the waiting after-run work; what it queues itself waits for the next run. */
  private runAfter(): void {
    const due = this.after;
    this.after = [];
    for (const fn of due) fn();
  }

  /** Gives up the next `slots` slots; each target is told how many of its ticks went with them. */
  private skip(slots: number): void {
    this.stats.skippedTicks += slots;
    const from = this.slot;
    this.slot += slots;
    for (const [i, phase] of this.phases.entries()) {
      // Slots from+1 … from+slots that belong to phase i (slot n ticks phase n % PHASES).
      const periods = Math.floor((this.slot - i) / PHASES) - Math.floor((from - i) / PHASES);
      if (periods === 0) continue;
      for (const target of phase) {
        try {
          target.onSkipped?.(periods);
        } catch (err) {
          this.drop(phase, target, err);
        }
      }
    }
  }

  private tickPhase(phase: Set<T>): void {
    if (this.moving.size > 0) this.tickMoving(phase);
    for (const target of phase) {
      try {
        target.onTick();
      } catch (err) {
        this.drop(phase, target, err);
      }
    }
  }

  private drop(phase: Set<T>, target: T, err: unknown): void {
    phase.delete(target);
    this.phaseOf.delete(target);
    this.onTargetError(target, err);
  }

  private tickMoving(phase: Set<T>): void {
    for (const [target, slot] of this.moving) {
      if (slot > this.slot) continue;
      this.moving.delete(target);
      // Ticks now, through the phase it joins (which ticks right after this).
      phase.add(target);
      this.phaseOf.set(target, phase);
    }
  }
}

function bucketOf(ms: number): number {
  let i = 0;
  while (i < CLOCK_BUCKETS_MS.length && ms > (CLOCK_BUCKETS_MS[i] as number)) i++;
  return i;
}
