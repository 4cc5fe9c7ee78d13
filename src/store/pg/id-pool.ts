import type { SQL } from "bun";

/** How far ahead a pool reserves: this much of its recent use, so an outage this long still gets ids. */
const COVER_MS = 60_000;
/** Recent use is counted over this window. */
const WINDOW_MS = 60_000;

/**
 * Ids reserved ahead from one PostgreSQL sequence, so a call gets its row ids (and its caller the
 * ticket number) at once, without a round trip, and still gets them while PostgreSQL is away.
 * Values from a sequence are unique across every appliance sharing it; they are not contiguous.
 * The pool keeps at least `min`, and twice what the last minute used, so that a minute's outage
 * at the recent rate never empties it; refills happen in the background.
 */
export class IdPool {
  private readonly ids: number[] = [];
  private head = 0;
  private refilling: Promise<void> | null = null;
  /** Ids taken per second of the last WINDOW_MS, as a ring of one-second buckets. */
  private readonly buckets = new Uint32Array(WINDOW_MS / 1000);
  private bucketAt = 0;

  constructor(
    private readonly sql: () => SQL,
    readonly sequence: string,
    private readonly min: number,
    private readonly onError: (sequence: string, err: unknown) => void,
  ) {}

  get available(): number {
    return this.ids.length - this.head;
  }

  /** Fills the pool before the first call (start-up waits for it). */
  async fill(): Promise<void> {
    await this.reserve(this.target());
  }

  /** The next id; throws only when an outage outlasted what was reserved. */
  take(now: number): number {
    if (this.head >= this.ids.length) {
      this.refill();
      throw new Error(`no ${this.sequence} id left: PostgreSQL has been unreachable longer than the reserve lasts`);
    }
    const id = this.ids[this.head++] as number;
    this.count(now);
    if (this.available * 4 < this.target() * 3) this.refill();
    return id;
  }

  /** Asks for more in the background; one request at a time, retried on the next take. */
  refill(): void {
    if (this.refilling !== null) return;
    const want = this.target() - this.available;
    if (want <= 0) return;
    this.refilling = this.reserve(want)
      .catch((err: unknown) => this.onError(this.sequence, err))
      .finally(() => { this.refilling = null; });
  }

  private async reserve(n: number): Promise<void> {
    const rows: { id: string | number | bigint }[] = await this.sql().unsafe(`SELECT nextval('${this.sequence}') AS id FROM generate_series(1, ${Math.ceil(n)})`);
    if (this.head > 0) {
      this.ids.splice(0, this.head);
      this.head = 0;
    }
    for (const r of rows) this.ids.push(Number(r.id));
  }

  private target(): number {
    let used = 0;
    for (const n of this.buckets) used += n;
    return Math.max(this.min, Math.ceil((2 * used * COVER_MS) / WINDOW_MS));
  }

  private count(now: number): void {
    const second = Math.floor(now / 1000);
    if (second !== this.bucketAt) {
      const steps = Math.min(this.buckets.length, second - this.bucketAt);
      for (let i = 1; i <= steps; i++) this.buckets[(this.bucketAt + i) % this.buckets.length] = 0;
      this.bucketAt = second;
    }
    const i = second % this.buckets.length;
    this.buckets[i] = (this.buckets[i] as number) + 1;
  }
}

export interface IdPools {
  calls: IdPool;
  turns: IdPool;
  events: IdPool;
  tickets: IdPool;
}

/**
 * The pools a writer takes ids from, each reserving at least this many ahead (more when the last
 * minute used more): a storm of calls, or an outage, is served from them without a round trip.
 */
export function newIdPools(sql: () => SQL, onError: (sequence: string, err: unknown) => void): IdPools {
  return {
    calls: new IdPool(sql, "calls_id_seq", 200, onError),
    turns: new IdPool(sql, "turns_id_seq", 2000, onError),
    events: new IdPool(sql, "events_id_seq", 4000, onError),
    tickets: new IdPool(sql, "tickets_id_seq", 100, onError),
  };
}

/** Fills every pool (start-up waits for it). */
export async function fillIdPools(pools: IdPools): Promise<void> {
  await Promise.all([pools.calls.fill(), pools.turns.fill(), pools.events.fill(), pools.tickets.fill()]);
}
