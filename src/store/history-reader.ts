import type { CallCursor, CallFilter, CallPage } from "./call-query.ts";
import type { HistoryRequest } from "./history-worker.ts";

type Answer = { id: number; page: CallPage } | { id: number; error: string };

/** Pages of the call history, read in history-worker.ts so the event loop never waits for a search. */
export class HistoryReader {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, PromiseWithResolvers<CallPage>>();
  private nextId = 1;

  constructor(private readonly dataDir: string) {
    this.worker = new Worker(new URL("./history-worker.ts", import.meta.url));
    this.worker.onmessage = (event: MessageEvent<Answer>) => {
      const a = event.data;
      const w = this.waiting.get(a.id);
      this.waiting.delete(a.id);
      if (this.waiting.size === 0) this.worker.unref();
      if ("error" in a) w?.reject(new Error(a.error));
      else w?.resolve(a.page);
    };
    this.worker.onerror = (event) => {
      for (const w of this.waiting.values()) w.reject(new Error(`the history reader failed: ${event.message}`));
      this.waiting.clear();
    };
    this.worker.unref();
  }

  page(filter: CallFilter, limit: number, after: CallCursor | null): Promise<CallPage> {
    const id = this.nextId++;
    const w = Promise.withResolvers<CallPage>();
    this.waiting.set(id, w);
    this.worker.ref();
    const request: HistoryRequest = { id, dataDir: this.dataDir, filter, limit, after };
    this.worker.postMessage(request);
    return w.promise;
  }

  close(): void {
    this.worker.postMessage({ type: "close" });
    for (const w of this.waiting.values()) w.reject(new Error("the history reader is closed"));
    this.waiting.clear();
    this.worker.terminate();
  }
}
