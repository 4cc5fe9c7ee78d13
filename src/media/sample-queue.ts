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

  /** Per frame: a copy loop, no view of `samples` (a view is an allocation). */
  write(samples: Int16Array): void {
    const count = samples.length;
    if (count === 0) return;
    if (this.size + count > this.ring.length) this.grow(this.size + count);
    const ring = this.ring;
    for (let i = 0, o = (this.head + this.size) % ring.length; i < count; i++, o = o + 1 === ring.length ? 0 : o + 1) {
      ring[o] = samples[i] as number;
    }
    this.size += count;
  }

  /**
   * Hands the oldest `count` samples (fewer if it holds fewer) to `take` as at most two ranges of the
   * ring (`ring[start..end)`), so no view is made per frame.
   */
  read(count: number, take: (ring: Int16Array, start: number, end: number) => void): number {
    const n = Math.min(count, this.size);
    const first = Math.min(n, this.ring.length - this.head);
    if (first > 0) take(this.ring, this.head, this.head + first);
    if (n > first) take(this.ring, 0, n - first);
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
    this.read(held, (ring, start, end) => {
      next.set(ring.subarray(start, end), at);
      at += end - start;
    });
    this.ring = next;
    this.head = 0;
    this.size = held;
  }
}
