/**
 * Asterisk chan_websocket's media queue as the captures show it (fixtures/chan_websocket,
 * "Observed"): each binary message is cut into `optimal_frame_size` frames and the remainder
 * dropped; frames play one per 20 ms tick; MEDIA_XOFF once 900 are queued, MEDIA_XON below 800,
 * a message arriving while 1000 are queued is dropped whole; FLUSH_MEDIA empties the queue and its
 * marks; a mark is reported when playout reaches it, QUEUE_DRAINED once at the first empty tick.
 */

export const XOFF_LEVEL = 900;
export const XON_LEVEL = 800;
export const QUEUE_MAX = 1000;

export interface QueueFigures {
  /** Bytes thrown away because a message was not a whole number of frames. */
  remainderBytes: number;
  /** Frames dropped because the queue held 1000. */
  framesDropped: number;
  xoffs: number;
  /** The most frames queued at once. */
  maxFrames: number;
}

export class AsteriskMediaQueue {
  readonly figures: QueueFigures = { remainderBytes: 0, framesDropped: 0, xoffs: 0, maxFrames: 0 };
  private ring: Uint8Array;
  private head = 0;
  private count = 0;
  /** Frames ever queued and played: a mark sits at the queued count when it came. */
  private queued = 0;
  private played = 0;
  private marks: { at: number; id: string }[] = [];
  private full = false;
  private drainedWanted = false;
  private paused = false;
  private readonly frame: Uint8Array;

  /** `emit` sends an event to the server in the call's format (MEDIA_XOFF, MEDIA_XON, QUEUE_DRAINED, MEDIA_MARK_PROCESSED). */
  constructor(private readonly frameSize: number, private readonly emit: (event: "MEDIA_XOFF" | "MEDIA_XON" | "QUEUE_DRAINED" | "MEDIA_MARK_PROCESSED", id?: string) => void) {
    this.ring = new Uint8Array(frameSize * 50);
    this.frame = new Uint8Array(frameSize);
  }

  get length(): number {
    return this.count;
  }

  get queueFull(): boolean {
    return this.full;
  }

  get mediaPaused(): boolean {
    return this.paused;
  }

  /** A binary message from the server. */
  push(bytes: Uint8Array): void {
    const frames = Math.floor(bytes.length / this.frameSize);
    this.figures.remainderBytes += bytes.length - frames * this.frameSize;
    if (this.count >= QUEUE_MAX) {
      this.figures.framesDropped += frames;
      return;
    }
    for (let f = 0; f < frames; f++) {
      this.append(bytes, f * this.frameSize);
      if (!this.full && this.count >= XOFF_LEVEL) {
        this.full = true;
        this.figures.xoffs++;
        this.emit("MEDIA_XOFF");
      }
    }
    this.figures.maxFrames = Math.max(this.figures.maxFrames, this.count);
  }

  mark(id: string): void {
    this.marks.push({ at: this.queued, id });
  }

  reportDrained(): void {
    this.drainedWanted = true;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
  }

  /** FLUSH_MEDIA: the queue and its marks are gone; true when audio was queued. */
  flush(): boolean {
    const had = this.count > 0;
    this.played += this.count;
    this.head = 0;
    this.count = 0;
    this.marks = [];
    this.full = false;
    return had;
  }

  /** One 20 ms tick: marks reached are reported, then one frame (a reused buffer) or null for silence. */
  next(): Uint8Array | null {
    if (this.paused) return null;
    if (this.full && this.count < XON_LEVEL) {
      this.full = false;
      this.emit("MEDIA_XON");
    }
    while (this.marks.length > 0 && this.marks[0]!.at <= this.played) this.emit("MEDIA_MARK_PROCESSED", this.marks.shift()!.id);
    if (this.count === 0) {
      if (this.drainedWanted) {
        this.drainedWanted = false;
        this.emit("QUEUE_DRAINED");
      }
      return null;
    }
    this.frame.set(this.ring.subarray(this.head * this.frameSize, (this.head + 1) * this.frameSize));
    this.head = (this.head + 1) % (this.ring.length / this.frameSize);
    this.count--;
    this.played++;
    return this.frame;
  }

  private append(bytes: Uint8Array, offset: number): void {
    const slots = this.ring.length / this.frameSize;
    if (this.count === slots) this.grow();
    const at = ((this.head + this.count) % (this.ring.length / this.frameSize)) * this.frameSize;
    this.ring.set(bytes.subarray(offset, offset + this.frameSize), at);
    this.count++;
    this.queued++;
  }

  /** Doubles the ring, oldest frame first (at most QUEUE_MAX frames). */
  private grow(): void {
    const slots = this.ring.length / this.frameSize;
    const bigger = new Uint8Array(Math.min(slots * 2, QUEUE_MAX) * this.frameSize);
    for (let i = 0; i < this.count; i++) {
      const from = ((this.head + i) % slots) * this.frameSize;
      bigger.set(this.ring.subarray(from, from + this.frameSize), i * this.frameSize);
    }
    this.ring = bigger;
    this.head = 0;
  }
}
