/**
 * New-call work (a call's rows, its recorder, its dialog's start and first prompt) waits here and
 * runs a slice at a time: at most `budgetMs` of it per turn of the event loop, oldest first. So do
 * the other bursts calls that arrived together bring (their digits, their ends). A storm of a
 * thousand calls then never holds the loop for more than one slice, so the playout clock (the only
 * thing that paces frames) keeps every call in progress on time, and the new calls start in
 * arrival order as fast as the spare time allows.
 */

export interface Scheduler {
  /** Runs `fn` on a later turn of the event loop, after timers and I/O due now. */
  later(fn: () => void): void;
  now(): number;
}

const LOOP: Scheduler = { later: (fn) => setImmediate(fn), now: () => performance.now() };

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
}

export interface AdmissionBudget {
  /** Work per turn of the event loop, normally. */
  budgetMs: number;
  /**
   * Work per turn once the oldest waiting call has waited `urgentAfterMs`: on a starved machine
   * new calls still start before the PBX gives up on them (Asterisk: 2 s without a frame).
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

  enqueue(run: () => void): QueuedJob {
    const entry: Entry = { run, queuedAt: this.scheduler.now() };
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

  private schedule(): void {
    if (this.scheduled || this.head === this.jobs.length) return;
    this.scheduled = true;
    this.scheduler.later(this.slice);
  }

  /** One turn's share: jobs until the budget is spent (always at least one, so every job runs). */
  private readonly slice = (): void => {
    this.scheduled = false;
    const start = this.scheduler.now();
    const oldest = this.jobs[this.head];
    const urgent = oldest !== undefined && start - oldest.queuedAt >= this.budget.urgentAfterMs;
    const budgetMs = urgent ? this.budget.urgentBudgetMs : this.budget.budgetMs;
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
    this.schedule();
  };
}
