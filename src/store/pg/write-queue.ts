import type { SQL } from "bun";
import type { Logger } from "../../log.ts";
import { applyOps } from "./apply-ops.ts";
import { Journal } from "./journal.ts";
import type { WriteOp } from "../write-ops.ts";

/** Writes sent in one transaction. */
const MAX_BATCH = 500;
/** Writes held in memory while PostgreSQL is healthy but behind; past this they go to the journal. */
const MAX_MEMORY_OPS = 20_000;
/** A batch not committed by then counts as a stall: the connection is dropped and the batch sent again. */
const STALL_MS = 5_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 2_000;
/** Writes gathered this long go in one transaction: fewer commits, less work for PostgreSQL and the event loop; nothing waits for them. */
const GATHER_MS = 100;

export interface WriteQueueStatus {
  state: "ok" | "degraded";
  /** Writes waiting, in memory and in the journal. */
  queued: number;
  journaled: number;
  /** Writes PostgreSQL refused as invalid (logged one by one); never retried. */
  dropped: number;
  /** Since when (epoch ms) PostgreSQL has not taken writes; null when it does. */
  degradedSince: number | null;
  lastError: string | null;
}

export interface Connection {
  /** The current client; replaced after a stall. */
  current(): SQL;
  /** Drops the current client (its connections) and opens a new one. */
  reset(): void;
}

/**
 * The writes of every call on their way to PostgreSQL, in order, off the call path: batched per
 * turn of the event loop, one transaction at a time. While PostgreSQL is slow or away, writes wait
 * in the journal (a file in the data dir) and calls go on; they are sent once it answers again.
 * A batch whose commit is not known is sent again: every write is idempotent.
 */
export class WriteQueue {
  private memory: WriteOp[] = [];
  private journal: Journal | null = null;
  private sending = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_MIN_MS;
  private degradedSince: number | null = null;
  private lastError: string | null = null;
  private dropped = 0;
  private idle: PromiseWithResolvers<void> | null = null;
  private closed = false;

  constructor(private readonly conn: Connection, private readonly journalPath: string, private readonly log: Logger) {
    // Writes a stop or a crash left behind go first.
    if (Journal.exists(journalPath)) this.journal = Journal.open(journalPath);
  }

  push(op: WriteOp): void {
    if (this.journal !== null) this.journal.add(op);
    else this.memory.push(op);
    if (this.journal === null && this.memory.length > MAX_MEMORY_OPS) this.spill();
    this.schedule(GATHER_MS);
  }

  status(): WriteQueueStatus {
    const journaled = this.journal?.size ?? 0;
    return {
      state: this.degradedSince === null ? "ok" : "degraded",
      queued: this.memory.length + journaled,
      journaled,
      dropped: this.dropped,
      degradedSince: this.degradedSince,
      lastError: this.lastError,
    };
  }

  /** Starts sending what the journal holds (start-up). */
  start(): void {
    if (this.journal !== null) {
      this.log.warn("store: writes left from before the last stop are sent to PostgreSQL first", { journaled: this.journal.size });
      this.schedule(0);
    }
  }

  /** Resolves once nothing waits (at once when nothing does). */
  whenDrained(): Promise<void> {
    if (this.memory.length === 0 && this.journal === null) return Promise.resolve();
    this.idle ??= Promise.withResolvers<void>();
    return this.idle.promise;
  }

  /**
   * At stop: waits up to `waitMs` for every write to be committed; what is left stays in the
   * journal for the next start. Returns how many writes wait there.
   */
  async close(waitMs: number): Promise<number> {
    if (this.memory.length > 0 || this.journal !== null) {
      const drained = this.whenDrained();
      this.schedule(0);
      let timer: ReturnType<typeof setTimeout> | null = null;
      await Promise.race([drained, new Promise<void>((resolve) => { timer = setTimeout(resolve, waitMs); })]);
      if (timer !== null) clearTimeout(timer);
    }
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.memory.length > 0) this.spill();
    const left = this.journal?.size ?? 0;
    this.journal?.close(left === 0);
    this.journal = null;
    return left;
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.sending || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.send();
    }, ms);
  }

  /** Moves the memory queue to the journal: nothing waits only in memory while PostgreSQL is away. */
  private spill(): void {
    this.journal ??= Journal.open(this.journalPath);
    for (const op of this.memory) this.journal.add(op);
    this.memory = [];
    this.journal.write();
  }

  private async send(): Promise<void> {
    this.journal?.write();
    const batch = this.journal !== null ? this.journal.read(MAX_BATCH) : this.memory.slice(0, MAX_BATCH);
    if (batch.length === 0) {
      this.drained();
      return;
    }
    this.sending = true;
    let ok = false;
    try {
      await this.applyWithin(batch);
      ok = true;
    } catch (err) {
      try {
        if (!isInvalidWrite(err)) throw err;
        await this.applyOneByOne(batch);
        ok = true;
      } catch (reason) {
        this.failed(reason);
      }
    } finally {
      this.sending = false;
    }
    if (ok) this.committed(batch.length);
    if (this.closed) return;
    if (ok) this.schedule(0);
    else this.schedule(this.retryMs);
  }

  private committed(n: number): void {
    if (this.journal !== null) {
      if (this.journal.commit()) {
        this.journal.close(true);
        this.journal = null;
      }
    } else {
      this.memory.splice(0, n);
    }
    this.retryMs = RETRY_MIN_MS;
    if (this.degradedSince !== null) {
      this.log.info("store: PostgreSQL takes writes again", { degradedMs: Date.now() - this.degradedSince, queued: this.status().queued });
      this.degradedSince = null;
    }
    this.drained();
  }

  private drained(): void {
    if (this.memory.length === 0 && this.journal === null) {
      this.idle?.resolve();
      this.idle = null;
    }
  }

  private failed(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    if (this.degradedSince === null) {
      this.degradedSince = Date.now();
      this.log.error("store: PostgreSQL does not take writes; calls go on and their writes wait in the journal", { error: this.lastError, journal: this.journalPath });
    }
    if (this.journal === null) this.spill();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  /** A batch that hangs (a stalled server or network) is abandoned with its connection. */
  private async applyWithin(batch: readonly WriteOp[]): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.conn.reset();
        reject(new Error(`PostgreSQL did not commit a batch of ${batch.length} writes within ${STALL_MS / 1000} s`));
      }, STALL_MS);
    });
    try {
      await Promise.race([applyOps(this.conn.current(), batch), stalled]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** A batch PostgreSQL refused as invalid: each write alone, so one bad row loses only itself. */
  private async applyOneByOne(batch: readonly WriteOp[]): Promise<void> {
    for (const op of batch) {
      try {
        await this.applyWithin([op]);
      } catch (err) {
        if (!isInvalidWrite(err)) throw err;
        this.dropped++;
        this.log.error("store: PostgreSQL refused a write; it is dropped", { write: op.t, id: op.id, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

/**
 * A refusal of the data (SQLSTATE class 22 data exception, 23 integrity violation), which no retry
 * will change, as opposed to an unreachable, stopped or stalled server, which one will.
 */
function isInvalidWrite(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const state = "errno" in err ? String(err.errno) : "";
  return /^(22|23)/.test(state);
}
