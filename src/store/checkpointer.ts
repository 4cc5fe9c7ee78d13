import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";

const INTERVAL_MS = 1000;

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
