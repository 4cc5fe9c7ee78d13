/**
 * The audio a recorder buffers lives in slots of SharedArrayBuffers that the recording worker
 * reads in place: handing it a second of a call's audio is a slot number, not a buffer moved
 * between threads. Moving 16 KB buffers to the worker and back, four thousand a second at a
 * thousand calls, made the engine account each one as new memory on both threads; the garbage
 * collections that followed (a second of pauses per 20 s) were the largest cause of late frames.
 *
 * Slots come in chunks of SLOTS_PER_CHUNK, one slot size per chunk. A chunk is sent to the worker
 * once (posting a SharedArrayBuffer shares it); a chunk left wholly free while another chunk of its
 * size has room is dropped, so memory returns to its baseline when calls end.
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

  /** Gives a slot back. A chunk left with every slot free is dropped when another chunk of its size can serve. */
  release(id: number): void {
    const chunk = this.chunks.get(Math.floor(id / SLOTS_PER_CHUNK));
    if (!chunk) return;
    chunk.free.push(chunk.slots[id % SLOTS_PER_CHUNK] as Slot);
    if (chunk.free.length < SLOTS_PER_CHUNK) return;
    const samples = chunk.slotBytes / 2;
    const list = this.bySize.get(samples) as Chunk[];
    const roomElsewhere = list.some((c) => c !== chunk && c.free.length > 0);
    if (!roomElsewhere) return;
    list.splice(list.indexOf(chunk), 1);
    this.chunks.delete(chunk.id);
    this.gone.push(chunk.id);
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
