/**
 * A first-in first-out queue of PCM samples in one reusable ring: written in frames of any size,
 * read back in counts of any size. Grows by doubling; never allocates otherwise.
 */
export class SampleQueue {
  private ring = new Int16Array(0);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  write(samples: Int16Array): void {
    if (samples.length === 0) return;
    if (this.size + samples.length > this.ring.length) this.grow(this.size + samples.length);
    const tail = (this.head + this.size) % this.ring.length;
    const first = Math.min(samples.length, this.ring.length - tail);
    this.ring.set(samples.subarray(0, first), tail);
    this.ring.set(samples.subarray(first), 0);
    this.size += samples.length;
  }

  /** Hands the oldest `count` samples (fewer if it holds fewer) to `take`, in at most two views of the ring. */
  read(count: number, take: (samples: Int16Array) => void): number {
    const n = Math.min(count, this.size);
    const first = Math.min(n, this.ring.length - this.head);
    if (first > 0) take(this.ring.subarray(this.head, this.head + first));
    if (n > first) take(this.ring.subarray(0, n - first));
    this.head = this.ring.length === 0 ? 0 : (this.head + n) % this.ring.length;
    this.size -= n;
    return n;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }

  private grow(needed: number): void {
    const next = new Int16Array(Math.max(needed, this.ring.length * 2, 8000));
    const held = this.size;
    let at = 0;
    this.read(held, (part) => {
      next.set(part, at);
      at += part.length;
    });
    this.ring = next;
    this.head = 0;
    this.size = held;
  }
}
