/**
 * The simulated PBX's 20 ms clock, one timer for every simulated call (which keeps the bench
 * light). A real Asterisk writes each channel's frames from that channel's own thread as RTP
 * arrives, so frames of different calls are spread over the 20 ms; sending all of them in one
 * burst instead would keep the bench's event loop from reading what the server sends for the
 * length of the burst, and the bench would measure its own delay as the server's jitter. So each
 * call is pinned to one of four 5 ms phases and gets exactly one tick every 20 ms.
 */
import { FRAME_MS } from "../media/pcm.ts";

const PHASES = 4;
const SLOT_MS = FRAME_MS / PHASES;
/** After a stall longer than this many frames, skip ahead (like lost RTP) rather than burst. */
const MAX_CATCH_UP_FRAMES = 5;

export type TickHandler = (nowMs: number) => void;

export class FrameTicker {
  private readonly phases: Set<TickHandler>[] = Array.from({ length: PHASES }, () => new Set<TickHandler>());
  private readonly phaseOf = new Map<TickHandler, Set<TickHandler>>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextSlotMs = 0;
  private slot = 0;

  /** A handler runs on every tick of its phase (once per 20 ms) from the next one on. */
  add(handler: TickHandler): void {
    let phase = this.phases[0] as Set<TickHandler>;
    for (const p of this.phases) if (p.size < phase.size) phase = p;
    phase.add(handler);
    this.phaseOf.set(handler, phase);
    if (this.timer === null) {
      this.nextSlotMs = performance.now() + SLOT_MS;
      this.schedule();
    }
  }

  remove(handler: TickHandler): void {
    this.phaseOf.get(handler)?.delete(handler);
    this.phaseOf.delete(handler);
    if (this.phaseOf.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  get size(): number {
    return this.phaseOf.size;
  }

  private schedule(): void {
    this.timer = setTimeout(this.fire, Math.max(0, this.nextSlotMs - performance.now()));
  }

  /**
   * Paced by a monotonic deadline: slots never come early, and a late timer delivers the slots
   * it owes (at most MAX_CATCH_UP_FRAMES periods) so each call gets exactly 50 ticks a second.
   */
  private readonly fire = (): void => {
    const now = performance.now();
    let owed = 0;
    while (now >= this.nextSlotMs && this.phaseOf.size > 0) {
      this.slot = (this.slot + 1) % PHASES;
      for (const handler of this.phases[this.slot] as Set<TickHandler>) handler(now);
      this.nextSlotMs += SLOT_MS;
      if (++owed >= MAX_CATCH_UP_FRAMES * PHASES) {
        this.nextSlotMs = now + SLOT_MS;
        break;
      }
    }
    if (this.phaseOf.size === 0) {
      this.timer = null;
      return;
    }
    this.schedule();
  };
}
