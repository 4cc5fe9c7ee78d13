import type { Slot } from "./recording-pool.ts";

/**
 * Samples waiting for the disk, in a slot of the shared pool (recording-pool.ts) the worker writes
 * from; a full slot is handed over and a fresh one taken. Appends never exceed `room`: the
 * recorder hands over first.
 */
export class PcmBuffer {
  length = 0;
  private current: Slot;
  /**
   * The slot's samples, kept here too: a frame appended touches this buffer and its samples, not
   * the slot as well (media/shared-frames.ts says why each object touched per frame counts).
   */
  private data: Int16Array;

  constructor(slot: Slot) {
    this.current = slot;
    this.data = slot.samples;
  }

  /** The slot being filled. */
  get slot(): Slot {
    return this.current;
  }

  get room(): number {
    return this.data.length - this.length;
  }

  /**
   * `samples[start..end)`. A whole array goes in with one native copy (at 1000 calls the JS loop
   * took an eighth of the server's time: the buffers outgrow the CPU caches); a range (a frame
   * split over two slots, or the played-later bot channel) by a loop, since a view would be an
   * allocation.
   */
  append(samples: Int16Array, start: number, end: number): void {
    const data = this.data;
    if (start === 0 && end === samples.length) data.set(samples, this.length);
    else for (let i = start, o = this.length; i < end; i++, o++) data[o] = samples[i] as number;
    this.length += end - start;
  }

  appendSilence(count: number): void {
    this.data.fill(0, this.length, this.length + count);
    this.length += count;
  }

  /** The filled slot's id, or −1 when empty; this buffer carries on with `next`. */
  handOver(next: () => Slot): number {
    if (this.length === 0) return -1;
    const full = this.current.id;
    this.current = next();
    this.data = this.current.samples;
    this.length = 0;
    return full;
  }
}
