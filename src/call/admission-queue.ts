/**
 * New-call work (a call's rows, its recorder, its dialog's start and first prompt) waits here and
 * runs a slice at a time: at most `budgetMs` of it per turn of the event loop, oldest first, and
 * while calls are paced only in the room left before the clock's next slot. So do the other bursts
 * calls that arrived together bring (their digits, their ends). A storm of a thousand calls then
 * never pushes back the playout clock (the only thing that paces frames), so every call in
 * progress stays on time, and the new calls start in arrival order as fast as the spare time
 * allows.
 */

export interface Scheduler {
  /** Runs `fn` on a later turn of the event loop, after timers and I/O due now. */
  later(fn: () => void): void;
  /** Runs `fn` once there is room before the next frames are due: for a backlog, not the first job. */
  whenRoom(fn: () => void): void;
  now(): number;
  /** How long work may run now without delaying a call's next frame; Infinity when no audio is paced. */
  roomMs(): number;
}

const LOOP: Scheduler = { later: (fn) => setImmediate(fn), whenRoom: (fn) => setImmediate(fn), now: () => performance.now(), roomMs: () => Infinity };

/** What the playout clock offers a scheduler (media/playout-clock.ts). */
export interface PacingClock {
  afterRun(fn: () => void): void;
  msUntilNextSlot(): number;
}

/** Left free before the clock's next slot: the I/O that comes in meanwhile needs it. */
const SLOT_MARGIN_MS = 1;
/** With less room than this before the next slot, a slice waits for the clock's next run. */
const MIN_ROOM_MS = 2;

/**
 * Slices ride on the playout clock while it paces calls. A job arriving at an idle queue runs on
 * the next turn (a quiet server ends a call or takes a digit at once); a backlog's next slice runs
 * on the next turn when there is room before the clock's next slot, otherwise right after the
 * clock has sent that slot's frames. Every slice stops short of the next slot (less a margin for
 * the I/O in between), so new-call work fills the gaps between frames instead of pushing them back.
 */
export function clockScheduler(clock: PacingClock): Scheduler {
  const roomMs = (): number => clock.msUntilNextSlot() - SLOT_MARGIN_MS;
  return {
    later: (fn) => setImmediate(fn),
    whenRoom: (fn) => {
      if (roomMs() >= MIN_ROOM_MS) setImmediate(fn);
      else clock.afterRun(fn);
    },
    now: () => performance.now(),
    roomMs,
  };
}

/** A queued job; `cancel` takes it out if it has not run yet. */
export interface QueuedJob {
  cancel(): void;
}

export interface AdmissionStats {
  /** Jobs run, and turns that ran at least one. */
  jobs: number;
  slices: number;
  /** Time spent in jobs, and the longest one turn's share took (a job runs whole, so it can pass the budget). */
  workMs: number;
  longestSliceMs: number;
}

interface Entry {
  run: (() => void) | null;
  queuedAt: number;
  /** True while the call sends the PBX nothing until this job has run: only such a job grows urgent. */
  starving: (() => boolean) | null;
}

export interface AdmissionBudget {
  /** Work per turn of the event loop, normally. */
  budgetMs: number;
  /**
   * Work per turn once the oldest waiting job has waited `urgentAfterMs` while its call sends
   * nothing: on a starved machine new calls still start before the PBX gives up on them
   * (Asterisk: 2 s without a frame). This budget does not yield to the playout clock.
   */
  urgentBudgetMs: number;
  urgentAfterMs: number;
}

export class AdmissionQueue {
  private readonly jobs: Entry[] = [];
  private head = 0;
  /** Entries not yet run nor cancelled (the array also holds cancelled ones until their turn). */
  private live = 0;
  private scheduled = false;
  readonly stats: AdmissionStats = { jobs: 0, slices: 0, workMs: 0, longestSliceMs: 0 };

  constructor(
    private readonly budget: AdmissionBudget,
    private readonly onError: (err: unknown) => void,
    private readonly scheduler: Scheduler = LOOP,
  ) {
    for (const ms of [budget.budgetMs, budget.urgentBudgetMs]) {
      if (!(ms > 0 && ms <= 20)) throw new Error(`admission budget ${ms} ms is not allowed: more than 0 and at most one frame period (20 ms)`);
    }
  }

  /** Jobs waiting (cancelled ones excluded). */
  get length(): number {
    return this.live;
  }

  /**
   * `starving` says when the job's call sends the PBX nothing until it has run (a session with no
   * greeting playing before it): such a job, once it has waited `urgentAfterMs`, gets the urgent
   * budget. Other jobs (digits, ends, calls already greeting) only ever use the spare time.
   */
  enqueue(run: () => void, starving: (() => boolean) | null = null): QueuedJob {
    const entry: Entry = { run, queuedAt: this.scheduler.now(), starving };
    this.jobs.push(entry);
    this.live++;
    this.schedule();
    return {
      cancel: () => {
        if (entry.run === null) return;
        entry.run = null;
        this.live--;
      },
    };
  }

  /** `backlog`: called after a slice that left jobs waiting, which then wait for room. */
  private schedule(backlog = false): void {
    if (this.scheduled || this.head === this.jobs.length) return;
    this.scheduled = true;
    if (backlog) this.scheduler.whenRoom(this.slice);
    else this.scheduler.later(this.slice);
  }

  /**
   * One turn's share: jobs until the budget is spent, or the room before the next frame is due
   * (always at least one job, so every job runs even on a starved machine).
   */
  private readonly slice = (): void => {
    this.scheduled = false;
    const start = this.scheduler.now();
    const oldest = this.jobs[this.head];
    const urgent = oldest !== undefined && start - oldest.queuedAt >= this.budget.urgentAfterMs && oldest.starving?.() === true;
    const budgetMs = urgent ? this.budget.urgentBudgetMs : Math.min(this.budget.budgetMs, this.scheduler.roomMs());
    let ran = 0;
    while (this.head < this.jobs.length) {
      if (ran > 0 && this.scheduler.now() - start >= budgetMs) break;
      const entry = this.jobs[this.head] as Entry;
      this.head++;
      const run = entry.run;
      if (run === null) continue;
      entry.run = null;
      this.live--;
      ran++;
      try {
        run();
      } catch (err) {
        this.onError(err);
      }
    }
    if (ran > 0) {
      const took = this.scheduler.now() - start;
      const stats = this.stats;
      stats.jobs += ran;
      stats.slices++;
      stats.workMs += took;
      if (took > stats.longestSliceMs) stats.longestSliceMs = took;
    }
    // Drop the spent prefix now and then instead of shifting the array once per job.
    if (this.head === this.jobs.length) {
      this.jobs.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.jobs.splice(0, this.head);
      this.head = 0;
    }
    this.schedule(true);
  };
}
