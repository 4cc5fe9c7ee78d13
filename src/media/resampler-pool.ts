/**
 * The resampler worker pool: libsamplerate-js in Bun workers, so conversion never runs on the event
 * loop. Whole-buffer jobs go to the least busy worker; a stream is pinned to the worker with the
 * fewest open streams, where its converter lives until end()/close().
 */
import {
  MAX_RATE,
  MAX_RATIO,
  MIN_RATE,
  RESAMPLE_ENGINES,
  RESAMPLE_QUALITIES,
  type ResampleEngine,
  type ResampleQuality,
  type ResampleStream,
  type ResamplerPool,
  type ResamplerPoolOptions,
} from "./resampler.ts";
import type { ResamplerRequest } from "./resampler-worker.ts";
import { WorkerRpc } from "./worker-rpc.ts";

export type { ResampleQuality, ResampleStream, ResamplerPool, ResamplerPoolOptions } from "./resampler.ts";

/** More workers than this buys nothing on any machine voicebot targets, and each costs ~10 MB. */
const MAX_POOL_SIZE = 64;

/** Cores left over once the event loop has its own: max(1, cores - 1). */
export function defaultPoolSize(): number {
  return Math.max(1, navigator.hardwareConcurrency - 1);
}

function checkRates(fromRate: number, toRate: number): void {
  for (const [name, rate] of [
    ["fromRate", fromRate],
    ["toRate", toRate],
  ] as const) {
    if (!Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) {
      throw new RangeError(`resampler: ${name} ${rate} is not allowed; use an integer from ${MIN_RATE} to ${MAX_RATE} Hz`);
    }
  }
  const ratio = toRate / fromRate;
  if (ratio > MAX_RATIO || ratio < 1 / MAX_RATIO) {
    throw new RangeError(`resampler: ${fromRate} -> ${toRate} Hz is a ratio of ${ratio}; allowed is 1/${MAX_RATIO} to ${MAX_RATIO}`);
  }
}

function samplesError(samples: unknown, what: string): TypeError | null {
  return samples instanceof Int16Array ? null : new TypeError(`resampler: ${what} must be an Int16Array of mono PCM samples`);
}

/** The buffer to transfer for `pcm`, copying first when the view shares its buffer with other data. */
function ownedBuffer(pcm: Int16Array): { pcm: Int16Array; buffer: ArrayBuffer } {
  const { buffer } = pcm;
  if (buffer instanceof ArrayBuffer && pcm.byteOffset === 0 && pcm.byteLength === buffer.byteLength) {
    return { pcm, buffer };
  }
  const copy = pcm.slice();
  return { pcm: copy, buffer: copy.buffer };
}

class Slot {
  rpc: WorkerRpc<ResamplerRequest>;
  openStreams = 0;

  constructor() {
    this.rpc = Slot.spawn();
  }

  static spawn(): WorkerRpc<ResamplerRequest> {
    return new WorkerRpc(new Worker(new URL("./resampler-worker.ts", import.meta.url)), "resampler");
  }

  /** A crashed worker is replaced; streams pinned to it fail with its error. */
  live(): WorkerRpc<ResamplerRequest> {
    if (this.rpc.error) {
      this.rpc = Slot.spawn();
      this.openStreams = 0;
    }
    return this.rpc;
  }
}

class PinnedStream implements ResampleStream {
  private closed = false;
  private readonly pushRequest: ResamplerRequest & { op: "push" };

  constructor(
    private readonly slot: Slot,
    private readonly rpc: WorkerRpc<ResamplerRequest>,
    private readonly id: number,
  ) {
    this.pushRequest = { id: 0, op: "push", stream: id, pcm: new Int16Array(0) };
  }

  push(chunk: Int16Array): Promise<Int16Array> {
    if (this.closed) return Promise.reject(new Error(`resample stream ${this.id} is already ended or closed`));
    const invalid = samplesError(chunk, "push() chunk");
    if (invalid) return Promise.reject(invalid);
    const owned = ownedBuffer(chunk);
    // One request object per stream: postMessage clones it at once, so reusing it is safe.
    this.pushRequest.pcm = owned.pcm;
    return this.rpc.call<Int16Array>(this.pushRequest, [owned.buffer]);
  }

  end(): Promise<Int16Array> {
    if (this.closed) return Promise.reject(new Error(`resample stream ${this.id} is already ended or closed`));
    this.release();
    return this.rpc.call<Int16Array>({ id: 0, op: "end", stream: this.id });
  }

  close(): void {
    if (this.closed) return;
    this.release();
    this.rpc.call({ id: 0, op: "close", stream: this.id }).catch(() => {
      // The worker is gone (pool closed or crashed): its converter went with it.
    });
  }

  private release(): void {
    this.closed = true;
    if (this.slot.rpc === this.rpc) this.slot.openStreams--;
  }
}

/** Pass-through for equal rates: nothing to filter, so no worker hop. */
class IdentityStream implements ResampleStream {
  private closed = false;

  push(chunk: Int16Array): Promise<Int16Array> {
    if (this.closed) return Promise.reject(new Error("resample stream is already ended or closed"));
    const invalid = samplesError(chunk, "push() chunk");
    return invalid ? Promise.reject(invalid) : Promise.resolve(chunk);
  }

  end(): Promise<Int16Array> {
    if (this.closed) return Promise.reject(new Error("resample stream is already ended or closed"));
    this.closed = true;
    return Promise.resolve(new Int16Array(0));
  }

  close(): void {
    this.closed = true;
  }
}

class WorkerResamplerPool implements ResamplerPool {
  private readonly slots: Slot[];
  private nextStream = 1;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly quality: ResampleQuality,
    private readonly engine: ResampleEngine,
  ) {
    this.slots = Array.from({ length: size }, () => new Slot());
  }

  resample(samples: Int16Array, fromRate: number, toRate: number): Promise<Int16Array> {
    try {
      this.checkOpen();
      checkRates(fromRate, toRate);
    } catch (error) {
      return Promise.reject(error);
    }
    const invalid = samplesError(samples, "resample() samples");
    if (invalid) return Promise.reject(invalid);
    if (fromRate === toRate) return Promise.resolve(samples.slice());
    const owned = ownedBuffer(samples);
    const request: ResamplerRequest = { id: 0, op: "resample", from: fromRate, to: toRate, quality: this.quality, engine: this.engine, pcm: owned.pcm };
    return this.leastBusy().live().call<Int16Array>(request, [owned.buffer]);
  }

  async openStream(fromRate: number, toRate: number): Promise<ResampleStream> {
    this.checkOpen();
    checkRates(fromRate, toRate);
    if (fromRate === toRate) return new IdentityStream();
    const slot = this.fewestStreams();
    const rpc = slot.live();
    const id = this.nextStream++;
    slot.openStreams++;
    try {
      await rpc.call({ id: 0, op: "open", stream: id, from: fromRate, to: toRate, quality: this.quality, engine: this.engine });
    } catch (error) {
      if (slot.rpc === rpc) slot.openStreams--;
      throw error;
    }
    return new PinnedStream(slot, rpc, id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) slot.rpc.terminate("resampler pool closed");
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("resampler pool is closed");
  }

  private leastBusy(): Slot {
    let best = this.slots[0] as Slot;
    for (const slot of this.slots) if (slot.rpc.inFlight < best.rpc.inFlight) best = slot;
    return best;
  }

  private fewestStreams(): Slot {
    let best = this.slots[0] as Slot;
    for (const slot of this.slots) {
      if (slot.openStreams < best.openStreams || (slot.openStreams === best.openStreams && slot.rpc.inFlight < best.rpc.inFlight)) {
        best = slot;
      }
    }
    return best;
  }
}

export function createResamplerPool(options: ResamplerPoolOptions): ResamplerPool {
  const { size, quality = "medium", engine = "libsamplerate" } = options;
  if (!Number.isInteger(size) || size < 1 || size > MAX_POOL_SIZE) {
    throw new RangeError(`resampler pool size ${size} is not allowed; use an integer from 1 to ${MAX_POOL_SIZE}`);
  }
  if (!RESAMPLE_QUALITIES.includes(quality)) {
    throw new RangeError(`resampler quality "${String(quality)}" is not allowed; use one of ${RESAMPLE_QUALITIES.join(", ")}`);
  }
  if (!RESAMPLE_ENGINES.includes(engine)) {
    throw new RangeError(`resampler engine "${String(engine)}" is not allowed; use one of ${RESAMPLE_ENGINES.join(", ")}`);
  }
  return new WorkerResamplerPool(size, quality, engine);
}
