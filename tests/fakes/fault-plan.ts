/**
 * What a vendor fake does wrong, request by request: faults queued for the next requests, then one
 * for every request (or chosen per request from what it asked, `S`) until cleared. Bundled with the fakes.
 */
export class FaultPlan<F, S = undefined> {
  private readonly queued: F[] = [];
  private always: F | ((seen: S) => F | null) | null = null;

  /** The next `count` requests get this fault, after the ones already queued. */
  failNext(fault: F, count = 1): void {
    for (let i = 0; i < count; i++) this.queued.push(fault);
  }

  /** Every request gets this fault once the queue is empty; a function chooses per request; null stops it. */
  failAlways(fault: F | ((seen: S) => F | null) | null): void {
    this.always = fault;
  }

  /** The fault for this request, or null: it goes right. */
  take(seen: S): F | null {
    const always = this.always;
    return this.queued.shift() ?? (typeof always === "function" ? (always as (seen: S) => F | null)(seen) : always);
  }
}
