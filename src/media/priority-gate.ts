/**
 * At most `limit` tasks run at once; a waiting task starts when a slot frees up, the lowest
 * priority number first and, among equals, the first to arrive. The phrase cache uses it so the
 * phrases a call needs first (the greetings) are synthesized before the rest.
 */
interface Waiter {
  readonly key: string | undefined;
  readonly priority: number;
  readonly seq: number;
  readonly start: () => void;
}

export class PriorityGate {
  private running = 0;
  private seq = 0;
  /** Sorted: the next to start first. */
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`priority gate: limit ${limit} is not allowed; use a whole number ≥ 1`);
  }

  /** Tasks started and not finished. */
  get active(): number {
    return this.running;
  }

  /**
   * Runs `work` once a slot is free; an abort while it waits rejects with the signal's reason and
   * starts nothing. `key` names it for promote().
   */
  async run<T>(priority: number, signal: AbortSignal, work: () => Promise<T>, key?: string): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((start) => this.enqueue({ key, priority, seq: this.seq++, start }));
    // From here this task holds a slot (handed over by release, or taken above).
    if (signal.aborted) {
      this.release();
      throw signal.reason;
    }
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Moves the waiting task named `key` ahead of every other; false when no such task waits. */
  promote(key: string): boolean {
    const at = this.waiting.findIndex((w) => w.key === key);
    if (at < 0) return false;
    const [waiter] = this.waiting.splice(at, 1) as [Waiter];
    this.waiting.unshift({ ...waiter, priority: Math.min(waiter.priority, (this.waiting[0]?.priority ?? 0) - 1) });
    return true;
  }

  private enqueue(waiter: Waiter): void {
    let at = this.waiting.length;
    while (at > 0) {
      const before = this.waiting[at - 1] as Waiter;
      if (before.priority <= waiter.priority) break;
      at--;
    }
    this.waiting.splice(at, 0, waiter);
  }

  /** Hands the slot straight to the next waiter, so a newcomer cannot take it in between. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.running--;
  }
}
