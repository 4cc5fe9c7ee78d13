/**
 * The simulated PBX's one 20 ms clock. A real PBX sends every call's frames from one timing
 * source; one ticker for all simulated calls also keeps the bench light (one timer, not N).
 */
import { FRAME_MS } from "../media/pcm.ts";

/** After a stall longer than this many frames, skip ahead (like lost RTP) rather than burst. */
const MAX_CATCH_UP_FRAMES = 5;

export type TickHandler = (nowMs: number) => void;

export class FrameTicker {
  private readonly handlers = new Set<TickHandler>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextTickMs = 0;

  /** Handlers run on every tick from the next one on, in the order they were added. */
  add(handler: TickHandler): void {
    this.handlers.add(handler);
    if (this.timer === null) {
      this.nextTickMs = performance.now() + FRAME_MS;
      this.schedule();
    }
  }

  remove(handler: TickHandler): void {
    this.handlers.delete(handler);
    if (this.handlers.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  get size(): number {
    return this.handlers.size;
  }

  private schedule(): void {
    this.timer = setTimeout(this.fire, Math.max(0, this.nextTickMs - performance.now()));
  }

  /**
   * Paced by a monotonic deadline: ticks never come early, and a late timer delivers the ticks
   * it owes (at most MAX_CATCH_UP_FRAMES) so the long-run rate stays exactly 50 per second.
   */
  private readonly fire = (): void => {
    const now = performance.now();
    let owed = 0;
    while (now >= this.nextTickMs && this.handlers.size > 0) {
      for (const handler of this.handlers) handler(now);
      this.nextTickMs += FRAME_MS;
      if (++owed >= MAX_CATCH_UP_FRAMES) {
        this.nextTickMs = now + FRAME_MS;
        break;
      }
    }
    if (this.handlers.size === 0) {
      this.timer = null;
      return;
    }
    this.schedule();
  };
}
