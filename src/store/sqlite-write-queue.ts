import type { Logger } from "../log.ts";
import { WorkerRpc } from "../media/worker-rpc.ts";
import type { StoreNode } from "./calls.ts";
import type { OpSink } from "./ops-writer.ts";
import type { TicketEdit } from "./ticket-edits.ts";
import type { TicketRow } from "./tickets.ts";
import type { RefusedWrite, WriterLog, WriterRequest } from "./sqlite-writer-worker.ts";
import type { WriteOp } from "./write-ops.ts";

/** What /healthz, /metrics and doctor say of the SQLite writer. */
export interface SqliteWriterStatus {
  /** degraded: the last batch's commit failed (the disk is full, the file is locked by another process). */
  state: "ok" | "degraded";
  /** Writes made and not yet committed. */
  queued: number;
  /** Writes lost since start: refused by SQLite, or in a batch whose commit failed (each logged). */
  dropped: number;
}

/**
 * serve's writes to SQLite: queued as they are made, and handed to sqlite-writer-worker.ts once
 * per turn of the event loop, as one batch. The event loop never waits for SQLite or the disk; a
 * write reaches the file a moment later, and a crash loses what had not reached the worker.
 */
export class SqliteWriteQueue implements OpSink {
  private pending: WriteOp[] = [];
  private sent = 0;
  private dropped = 0;
  private lastFailed = false;
  /** Settles when the last batch sent is committed or lost; the worker takes batches in order. */
  private lastBatch: Promise<unknown> = Promise.resolve();
  private readonly flush = (): void => this.send();

  private constructor(private readonly rpc: WorkerRpc<WriterRequest>, private readonly log: Logger) {}

  /** The writer thread, open on the data dir's store (which the caller has migrated). */
  static async start(dataDir: string, node: StoreNode, log: Logger): Promise<SqliteWriteQueue> {
    const worker = new Worker(new URL("./sqlite-writer-worker.ts", import.meta.url));
    worker.addEventListener("message", (event: MessageEvent<WriterLog | object>) => {
      if (!("log" in event.data)) return;
      const { level, msg, fields } = event.data.log;
      log[level](msg, fields);
    });
    const rpc = new WorkerRpc<WriterRequest>(worker, "store writer");
    await rpc.call({ id: 0, op: "open", dataDir, node });
    return new SqliteWriteQueue(rpc, log);
  }

  push(op: WriteOp): void {
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending.push(op);
  }

  status(): SqliteWriterStatus {
    return { state: this.lastFailed ? "degraded" : "ok", queued: this.sent + this.pending.length, dropped: this.dropped };
  }

  /** Once every write made so far is committed (or lost): a read after it sees them (read-your-writes). */
  settled(): Promise<void> {
    this.send();
    return this.lastBatch.then(() => undefined);
  }

  /** A console edit, after every write queued before it. */
  editTicket(ticketId: number, edit: TicketEdit, by: string, at: number): Promise<TicketRow | null> {
    this.send();
    return this.rpc.call<TicketRow | null>({ id: 0, op: "edit", ticketId, edit, by, at });
  }

  /** The last writes, then the writer closes the store; after `waitMs`, what is left is given up. */
  async close(waitMs: number): Promise<void> {
    this.send();
    const closed = this.rpc.call({ id: 0, op: "close" });
    const timedOut = await Promise.race([closed.then(() => false, () => false), Bun.sleep(waitMs).then(() => true)]);
    if (timedOut) this.log.error("store: the writer did not finish within the stop's wait; its last writes may be lost", { waitMs, queued: this.sent });
    this.rpc.terminate("the store writer is closed");
  }

  private send(): void {
    if (this.pending.length === 0) return;
    const ops = this.pending;
    this.pending = [];
    this.sent += ops.length;
    // As JSON: a storm's first turn hands over thousands of writes, and a structured clone of them
    // held the event loop for 10 ms; for 2,000 writes JSON takes 0.5–1.3 ms, the clone 1.9–4.7 ms.
    this.lastBatch = this.rpc.call<RefusedWrite[]>({ id: 0, op: "apply", ops: JSON.stringify(ops) }).then(
      (refused) => {
        this.sent -= ops.length;
        if (this.lastFailed) this.log.info("store: SQLite takes writes again", { lostSinceStart: this.dropped });
        this.lastFailed = false;
        this.dropped += refused.length;
        for (const r of refused) this.log.error("store: a write was refused", { write: r.t, id: r.id, error: r.error });
      },
      (err: unknown) => {
        this.sent -= ops.length;
        this.dropped += ops.length;
        // A batch is tried every turn with writes: a full disk would log one line per turn.
        if (!this.lastFailed) {
          this.log.error("store: a batch of writes could not be committed and is lost; later failures are counted, not logged, until a batch is committed", {
            writes: ops.length, error: err instanceof Error ? err.message : String(err),
          });
        }
        this.lastFailed = true;
      },
    );
  }
}
