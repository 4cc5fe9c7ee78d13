/**
 * Main-thread side of the recording worker: one worker for the whole process, started on first
 * use. Ops queued during one turn of the event loop (one flush step of the RecorderFlusher) leave
 * as ONE message of numbers: the audio stays in the shared slots of the pool (recording-pool.ts),
 * so the event loop's share of recording is a copy per frame and one postMessage per step.
 */
import { rootLogger } from "../log.ts";
import { RecordingPool, type Slot } from "./recording-pool.ts";
import type { RecordingBatch, RecordingOp, RecordingReport } from "./recording-worker.ts";
import { WorkerRpc } from "./worker-rpc.ts";

export type { RecordingOp } from "./recording-worker.ts";

/** What the writer tells one recording; every call comes from the event loop. */
export interface RecordingSink {
  /** The pair of segment `seg` was created under these names. */
  opened(seg: number, callerPath: string, botPath: string): void;
  /** A disk error on `path`; the worker drops this recording's later ops until its "end". */
  failed(path: string, error: string): void;
  /** The worker died holding this recording's files: nothing of it is left to end. */
  lost(error: string): void;
  /** Every op of this recording up to `seq` (from enqueue) is done. */
  settled(seq: number): void;
}

const log = rootLogger.child("recording-writer");

export class RecordingWriter {
  private rpc: WorkerRpc<RecordingBatch> | null = null;
  /** Recordings with state in the worker: those its death takes down. */
  private readonly sinks = new Map<number, RecordingSink>();
  private nextRec = 1;
  private lastSeq = 0;
  private queue = emptyQueue();
  private scheduled = false;
  private readonly pool = new RecordingPool();
  private readonly post = (): void => this.postBatch();

  constructor(private readonly spawn: () => Worker) {}

  /** A new recording's id for its ops. */
  register(sink: RecordingSink): number {
    const rec = this.nextRec++;
    this.sinks.set(rec, sink);
    return rec;
  }

  /** Queues `op` (its slots are the worker's until it reports them written: the caller must not touch them); returns its seq. */
  enqueue(sink: RecordingSink, op: RecordingOp): number {
    const seq = ++this.lastSeq;
    push(this.queue, sink, op, seq);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.post);
    }
    return seq;
  }

  /** An empty slot of `samples` samples for a recorder to fill; it goes back with `write` ops, or `release`. */
  takeSlot(samples: number): Slot {
    return this.pool.take(samples);
  }

  /** A slot the recorder holds and will not hand over (its recording ended). */
  release(slot: Slot): void {
    this.pool.release(slot.id);
  }

  /** Slots taken and not yet given back, and the shared memory the pool holds (bytes). */
  get poolUsage(): { slots: number; bytes: number } {
    return this.pool.usage;
  }

  private postBatch(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = emptyQueue();
    if (batch.ops.length === 0) return;
    const fresh = this.rpc === null;
    const rpc = this.live();
    // A new worker gets every chunk (the last one died holding them); a running one only new chunks.
    const chunks = fresh ? this.pool.allChunks() : this.pool.newChunks();
    rpc.call<RecordingReport>({ id: 0, op: "batch", chunks, forget: this.pool.dropped(), ops: batch.ops }).then(
      (report) => this.settle(report, batch),
      (err: unknown) => {
        this.releaseSlots(batch.ops);
        this.lose(rpc, err instanceof Error ? err.message : String(err));
      },
    );
  }

  private settle(report: RecordingReport, batch: Queue): void {
    for (const o of report.opened) this.sinks.get(o.rec)?.opened(o.seg, o.callerPath, o.botPath);
    for (const f of report.failed) this.sinks.get(f.rec)?.failed(f.path, f.error);
    for (const op of batch.ops) if (op.op === "end") this.sinks.delete(op.rec);
    this.releaseSlots(batch.ops);
    for (let i = 0; i < batch.ops.length; i++) (batch.sinks[i] as RecordingSink).settled(batch.seqs[i] as number);
  }

  /** The slots `ops` carried are free again: written, or never to be. */
  private releaseSlots(ops: readonly RecordingOp[]): void {
    for (const op of ops) {
      if (op.op !== "write") continue;
      if (op.caller >= 0) this.pool.release(op.caller);
      if (op.bot >= 0) this.pool.release(op.bot);
    }
  }

  private live(): WorkerRpc<RecordingBatch> {
    if (this.rpc) return this.rpc;
    const worker = this.spawn();
    const rpc = new WorkerRpc<RecordingBatch>(worker, "recording");
    // WorkerRpc hears crashes; an exit without one (terminate, process.exit) would leave batches unanswered.
    worker.addEventListener("close", () => {
      rpc.terminate("recording worker exited");
      this.lose(rpc, "recording worker exited");
    });
    this.rpc = rpc;
    return rpc;
  }

  /** The worker is gone or misbehaved: its recordings fail, the next batch starts a new one. */
  private lose(rpc: WorkerRpc<RecordingBatch>, error: string): void {
    if (this.rpc !== rpc) return;
    this.rpc = null;
    if (!rpc.error) rpc.terminate(`recording worker replaced after: ${error}`);
    log.error("recording worker died; the recordings it held stop, later ones use a new worker", {
      error,
      recordings: this.sinks.size,
    });
    const lost = new Map(this.sinks);
    this.sinks.clear();
    // Ops still queued for them would reopen their files in the next worker, never to be closed.
    const queued = this.queue;
    this.queue = emptyQueue();
    for (let i = 0; i < queued.ops.length; i++) {
      const op = queued.ops[i] as RecordingOp;
      if (!lost.has(op.rec)) push(this.queue, queued.sinks[i] as RecordingSink, op, queued.seqs[i] as number);
      else this.releaseSlots([op]);
    }
    for (const sink of lost.values()) sink.lost(error);
  }
}

/** Ops of one turn, in order, with who queued each and its seq. */
interface Queue {
  ops: RecordingOp[];
  sinks: RecordingSink[];
  seqs: number[];
}

function emptyQueue(): Queue {
  return { ops: [], sinks: [], seqs: [] };
}

function push(queue: Queue, sink: RecordingSink, op: RecordingOp, seq: number): void {
  queue.ops.push(op);
  queue.sinks.push(sink);
  queue.seqs.push(seq);
}

let shared: RecordingWriter | null = null;

/** The process's writer; its worker starts with the first batch. */
export function recordingWriter(): RecordingWriter {
  shared ??= new RecordingWriter(() => new Worker(new URL("./recording-worker.ts", import.meta.url)));
  return shared;
}
