/**
 * A pool of MP3 workers (mp3-worker.ts): jobs queue and go to the next free worker. A worker that
 * dies fails only the job it had and is replaced.
 */
import { availableParallelism } from "node:os";
import type { Mp3Job, Mp3JobResult } from "./mp3-worker.ts";

export type Mp3Request = Omit<Mp3Job, "id">;

interface Slot {
  worker: Worker;
  job: { id: number; resolve: (r: Mp3JobResult) => void } | null;
}

export function defaultMp3Workers(): number {
  return Math.max(1, availableParallelism());
}

export class Mp3Pool {
  private readonly slots: Slot[] = [];
  private readonly queue: { job: Mp3Job; resolve: (r: Mp3JobResult) => void }[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 64) throw new RangeError(`MP3 workers ${size} is not allowed; use a whole number from 1 to 64`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  convert(request: Mp3Request): Promise<Mp3JobResult> {
    if (this.closed) return Promise.resolve({ id: 0, ok: false, error: "the MP3 pool is closed" });
    const { promise, resolve } = Promise.withResolvers<Mp3JobResult>();
    this.queue.push({ job: { ...request, id: this.nextId++ }, resolve });
    this.pump();
    return promise;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots) slot.worker.terminate();
    for (const q of this.queue.splice(0)) q.resolve({ id: q.job.id, ok: false, error: "the MP3 pool was closed" });
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(new URL("./mp3-worker.ts", import.meta.url)), job: null };
    slot.worker.onmessage = (event: MessageEvent<Mp3JobResult>) => this.done(slot, event.data);
    slot.worker.onerror = (event: ErrorEvent) => this.died(slot, event.message || "the MP3 worker crashed");
    slot.worker.addEventListener("close", () => this.died(slot, "the MP3 worker exited"));
    return slot;
  }

  private done(slot: Slot, result: Mp3JobResult): void {
    const job = slot.job;
    slot.job = null;
    job?.resolve(result);
    this.pump();
  }

  private died(slot: Slot, why: string): void {
    if (this.closed) return;
    const job = slot.job;
    slot.job = null;
    job?.resolve({ id: job.id, ok: false, error: why });
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots[i] = this.spawn();
    this.pump();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job !== null) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.job = { id: next.job.id, resolve: next.resolve };
      slot.worker.postMessage(next.job);
    }
  }
}
