/**
 * The audio a recorder buffers lives in slots of SharedArrayBuffers that the recording worker
 * reads in place: handing it a second of a call's audio is a slot number, not a buffer moved
 * between threads. Moving 16 KB buffers to the worker and back, four thousand a second at a
 * thousand calls, made the engine account each one as new memory on both threads; the garbage
 * collections that followed (a second of pauses per 20 s) were the largest cause of late frames.
 *
 * Slots come in chunks of SLOTS_PER_CHUNK, one slot size per chunk. A chunk is sent to the worker
 * once (posting a SharedArrayBuffer shares it). Wholly free chunks are dropped while the other
 * chunks of their size keep as many free slots as are in use (at least one), so memory returns to
 * its baseline when calls end. That reserve is there because every recorder swaps its slots each
 * second and gets the full ones back from the worker a moment later: dropping a chunk as soon as
 * it emptied made 220 chunks in 20 s of 1000 calls where 80 were ever needed, each a 512 KB buffer
 * to zero, fault in, send to the worker and collect. The reserve makes no chunk: it only keeps
 * those the swaps needed while calls are up.
 */

export const SLOTS_PER_CHUNK = 32;

/** One slot: `samples` is its memory, `id` names it to the worker. */
export interface Slot {
  readonly id: number;
  readonly samples: Int16Array<SharedArrayBuffer>;
}

/** What the worker needs to read a chunk's slots. */
export interface SharedChunk {
  id: number;
  slotBytes: number;
  buffer: SharedArrayBuffer;
}

interface Chunk extends SharedChunk {
  readonly slots: Slot[];
  /** Free slots of this chunk, by index; taken from the end. */
  readonly free: Slot[];
}

export class RecordingPool {
  /** Chunks of each slot size (in samples), oldest first: slots are taken from the oldest with room. */
  private readonly bySize = new Map<number, Chunk[]>();
  private readonly chunks = new Map<number, Chunk>();
  private nextChunk = 0;
  /** Chunks created since `newChunks()` last took them, and chunks dropped since `dropped()` did. */
  private fresh: SharedChunk[] = [];
  private gone: number[] = [];

  /** A free slot of `samples` samples; a new chunk is made when none has room. */
  take(samples: number): Slot {
    let list = this.bySize.get(samples);
    if (!list) {
      list = [];
      this.bySize.set(samples, list);
    }
    for (const chunk of list) {
      const slot = chunk.free.pop();
      if (slot) return slot;
    }
    const chunk = this.makeChunk(samples);
    list.push(chunk);
    return chunk.free.pop() as Slot;
  }

  /** Gives a slot back; a chunk it leaves wholly free has the chunks of its size trimmed to the reserve. */
  release(id: number): void {
    const chunk = this.chunks.get(Math.floor(id / SLOTS_PER_CHUNK));
    if (!chunk) return;
    chunk.free.push(chunk.slots[id % SLOTS_PER_CHUNK] as Slot);
    if (chunk.free.length === SLOTS_PER_CHUNK) this.trim(this.bySize.get(chunk.slotBytes / 2) as Chunk[]);
  }

  /** Chunks the worker has not been sent yet (each is returned once). */
  newChunks(): SharedChunk[] {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }

  /** Ids of chunks dropped since the last call: the worker lets go of them. */
  dropped(): number[] {
    const out = this.gone;
    this.gone = [];
    return out;
  }

  /** Every live chunk, for a new worker (the previous one died holding them). */
  allChunks(): SharedChunk[] {
    this.fresh = [];
    return [...this.chunks.values()].map(({ id, slotBytes, buffer }) => ({ id, slotBytes, buffer }));
  }

  /** Slots in use, and the memory the chunks hold (bytes). */
  get usage(): { slots: number; bytes: number } {
    let slots = 0;
    let bytes = 0;
    for (const chunk of this.chunks.values()) {
      slots += SLOTS_PER_CHUNK - chunk.free.length;
      bytes += chunk.buffer.byteLength;
    }
    return { slots, bytes };
  }

  /** Drops wholly free chunks, newest first, while the rest keep the reserve. */
  private trim(list: Chunk[]): void {
    let free = 0;
    for (const c of list) free += c.free.length;
    const used = list.length * SLOTS_PER_CHUNK - free;
    const reserve = Math.max(1, used);
    for (let i = list.length - 1; i >= 0; i--) {
      const chunk = list[i] as Chunk;
      if (chunk.free.length < SLOTS_PER_CHUNK || free - SLOTS_PER_CHUNK < reserve) continue;
      free -= SLOTS_PER_CHUNK;
      list.splice(i, 1);
      this.chunks.delete(chunk.id);
      this.gone.push(chunk.id);
    }
  }

  private makeChunk(samples: number): Chunk {
    const id = this.nextChunk++;
    const slotBytes = samples * 2;
    const buffer = new SharedArrayBuffer(slotBytes * SLOTS_PER_CHUNK);
    const slots: Slot[] = [];
    for (let i = 0; i < SLOTS_PER_CHUNK; i++) {
      slots.push({ id: id * SLOTS_PER_CHUNK + i, samples: new Int16Array(buffer, i * slotBytes, samples) });
    }
    const chunk: Chunk = { id, slotBytes, buffer, slots, free: slots.slice().reverse() };
    this.chunks.set(id, chunk);
    this.fresh.push({ id, slotBytes, buffer });
    return chunk;
  }
}
