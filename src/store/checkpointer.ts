import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";

/**
 * After a checkpoint has copied the whole WAL back, the next commit (on the event loop) starts the
 * WAL over and syncs its header to disk, as SQLite must in WAL mode. That fsync takes a millisecond
 * or two, but a second or more when the recordings keep the disk busy: a COMMIT of 1,157 ms was seen
 * in a 100-call run, every call silent meanwhile. Every 10 s instead of every second makes those
 * syncs rarer (45 in two minutes of 100 calls at 1 s); the WAL holds 10 s of writes in between.
 */
const INTERVAL_MS = 10_000;

/** Turns SQLite's automatic checkpoints off on the writer and runs them in checkpoint-worker.ts. */
export class BackgroundCheckpointer {
  private constructor(private readonly worker: Worker) {}

  static start(db: Database, path: string, log: Logger): BackgroundCheckpointer {
    db.run("PRAGMA wal_autocheckpoint = 0");
    const worker = new Worker(new URL("./checkpoint-worker.ts", import.meta.url));
    worker.onmessage = (event: MessageEvent<{ type: string; message?: string }>) => {
      if (event.data.type === "error") log.warn("WAL checkpoint failed; will retry", { error: event.data.message });
    };
    worker.onerror = (event) => log.error("WAL checkpoint worker failed", { error: event.message });
    worker.postMessage({ type: "start", path, intervalMs: INTERVAL_MS });
    worker.unref();
    return new BackgroundCheckpointer(worker);
  }

  /** A last full checkpoint, then the worker ends. */
  async stop(): Promise<void> {
    this.worker.ref();
    const stopped = new Promise<void>((resolve) => {
      this.worker.addEventListener("message", (event: MessageEvent<{ type: string }>) => {
        if (event.data.type === "stopped") resolve();
      });
    });
    this.worker.postMessage({ type: "stop" });
    await Promise.race([stopped, Bun.sleep(5000)]);
    this.worker.terminate();
  }
}
