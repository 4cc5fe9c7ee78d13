/**
 * A call's outgoing audio: a queue of utterances, each a list of PCM segments at the call's rate,
 * read out one 20 ms frame per clock tick. Silence fills the gaps, because an AudioSocket call
 * needs a frame every 20 ms for its whole life (Asterisk hangs up after 2 s without one).
 */
import { SharedFrames } from "./shared-frames.ts";

export interface Utterance {
  readonly id: number;
  /** Segment keys (phrase ids), so the audio can be looked up again at another rate. */
  readonly keys: readonly string[];
  segments: Int16Array[];
  /**
   * Streamed speech: more segments are still coming (TTS downloading). While open and drained,
   * the playout sends silence and keeps the utterance at the head of the queue.
   */
  open?: boolean;
  /** Samples of it sent so far (what the caller has heard), kept up to date by the playout. */
  played?: number;
  /** The caller may cut it short (a key, or speaking over it). */
  interruptible?: boolean;
  /** Called once, when its last sample has been sent (interrupted = false) or when flushed. */
  readonly onEnd: (interrupted: boolean) => void;
  /** Called when its first sample is sent. */
  readonly onStart: () => void;
}

/** Fade-out on barge-in: long enough to avoid a click, short enough to feel instant. */
const FADE_MS = 8;

/** Outbound frames of every call (see nextFrame). */
const FRAMES = new SharedFrames();

export class Playout {
  private readonly queue: Utterance[] = [];
  private segment = 0;
  private offset = 0;
  private started = false;
  private frame: Int16Array;
  private fadeSamples: number;
  private fadeLeft = 0;
  private fadeFrom: Int16Array | null = null;
  private fadeOffset = 0;
  /** Held: silence goes out and the cursor waits (the caller may be cutting in; see hold()). */
  private held = false;
  /**
   * The segment being played, set when nothing but more of it comes next (no fade, no hold): a
   * frame wholly inside it is copied without going through the queue, the utterance and its
   * segment list, per-call objects that are cold again by the call's next frame (shared-frames.ts).
   */
  private inside: Int16Array | null = null;
  /** The head utterance, when it counts what was played (streamed speech) and `inside` is set. */
  private counting: Utterance | null = null;

  constructor(private sampleRate: number) {
    this.frame = FRAMES.get(sampleRate / 50);
    this.fadeSamples = Math.round((sampleRate * FADE_MS) / 1000);
  }

  get busy(): boolean {
    return this.queue.length > 0 || this.fadeLeft > 0;
  }

  /** True once the head utterance's first sample has gone out (until it ends or is flushed). */
  get playing(): boolean {
    return this.started;
  }

  /** The utterance being played, or next to play. */
  get head(): Utterance | undefined {
    return this.queue[0];
  }

  /**
   * True after a frame that had to pad an open, already started utterance with silence: its audio
   * did not arrive in time (an underrun the caller hears as a gap).
   */
  starved = false;

  /** Takes an utterance that has not started out of the queue, without its onEnd (it never played). */
  remove(utterance: Utterance): void {
    const at = this.queue.indexOf(utterance);
    if (at < 0 || (at === 0 && this.started)) return;
    this.queue.splice(at, 1);
  }

  /** Plays `utterance` before the head, which must not have started (a filler before a late reply). */
  insertBeforeHead(utterance: Utterance): boolean {
    if (this.started || this.fadeLeft > 0) return false;
    this.queue.unshift(utterance);
    return true;
  }

  get rate(): number {
    return this.sampleRate;
  }

  enqueue(utterance: Utterance): void {
    this.queue.push(utterance);
  }

  /**
   * Stop at once (a key was pressed): what was playing fades out over FADE_MS at the start of
   * the next frame (unless held: silent already), and everything queued is dropped; each dropped
   * utterance's onEnd(true) runs.
   */
  flush(): void {
    const current = this.queue[0];
    // Held, the bot is silent already: no fade brings its words back for a moment.
    const seg = current && this.started && !this.held ? current.segments[this.segment] : undefined;
    if (seg) {
      this.fadeFrom = seg;
      this.fadeOffset = this.offset;
      this.fadeLeft = this.fadeSamples;
    }
    this.held = false;
    this.resetCursor();
    const dropped = this.queue.splice(0);
    for (const u of dropped) u.onEnd(true);
  }

  /**
   * The caller may be starting to speak over the bot: from the next frame, silence (what was
   * playing fades out over FADE_MS), the cursor kept where it was. Released, the utterance plays
   * on from there, as if nothing happened: a cough costs the caller a short pause, not the reply.
   */
  hold(on: boolean): void {
    if (on === this.held) return;
    this.held = on;
    this.inside = null;
    const current = this.queue[0];
    const seg = on && current && this.started ? current.segments[this.segment] : undefined;
    if (seg) {
      this.fadeFrom = seg;
      this.fadeOffset = this.offset;
      this.fadeLeft = this.fadeSamples;
    }
  }

  /**
   * Switch to another rate. The queued utterances are handed back, untouched and without their
   * onEnd, for the caller to look up again at the new rate and re-enqueue (from their start).
   */
  retune(rate: number): Utterance[] {
    this.sampleRate = rate;
    this.frame = FRAMES.get(rate / 50);
    this.fadeSamples = Math.round((rate * FADE_MS) / 1000);
    this.fadeLeft = 0;
    this.fadeFrom = null;
    this.held = false;
    this.resetCursor();
    return this.queue.splice(0);
  }

  /**
   * The next 20 ms frame, in a buffer every playout shares (shared-frames.ts): hand it on at once,
   * and copy what is kept; the next nextFrame() of any call overwrites it.
   * Segments are joined seamlessly: a frame may end one segment and start the next.
   */
  nextFrame(): Int16Array {
    const frame = this.frame;
    const inside = this.inside;
    if (inside !== null && this.offset + frame.length < inside.length) {
      this.starved = false;
      this.take(inside, frame, 0, frame.length, this.counting);
      return frame;
    }
    let filled = 0;
    this.starved = false;
    if (this.fadeLeft > 0) filled = this.fadeOut(frame);
    while (!this.held && filled < frame.length && this.queue.length > 0) {
      const u = this.queue[0] as Utterance;
      const seg = u.segments[this.segment];
      if (!seg && u.open) {
        this.starved = this.started;
        break;
      }
      if (!this.started) {
        this.started = true;
        u.onStart();
      }
      if (!seg) {
        this.queue.shift();
        this.resetCursor();
        u.onEnd(false);
        continue;
      }
      const n = Math.min(frame.length - filled, seg.length - this.offset);
      this.take(seg, frame, filled, n, u.played === undefined ? null : u);
      filled += n;
      if (this.offset >= seg.length) {
        this.segment++;
        this.offset = 0;
      }
    }
    if (filled < frame.length) frame.fill(0, filled);
    const u = this.queue[0];
    this.inside = !this.held && this.started && u !== undefined ? u.segments[this.segment] ?? null : null;
    this.counting = this.inside !== null && u?.played !== undefined ? u : null;
    return frame;
  }

  /**
   * For a PBX that paces playback itself (it queues what it gets): up to `max` more frames, while
   * audio is ready now. Stops where streamed audio has not arrived yet and when the queue is empty;
   * `sink` returning false stops it too.
   */
  drainReady(max: number, sink: (frame: Int16Array) => boolean): void {
    for (let n = 0; n < max && this.fadeLeft === 0 && !this.held && this.readyNow(); n++) if (!sink(this.nextFrame())) return;
  }

  /** A whole frame can be filled now: a streamed utterance is never padded mid-speech. */
  private readyNow(): boolean {
    const u = this.queue[0];
    if (u === undefined) return false;
    if (u.open !== true) return true;
    let available = -this.offset;
    for (let i = this.segment; i < u.segments.length && available < this.frame.length; i++) available += (u.segments[i] as Int16Array).length;
    return available >= this.frame.length;
  }

  /** `n` samples of `seg` from the cursor into `frame` at `at`; the cursor, and `counter`'s played count, move on. */
  private take(seg: Int16Array, frame: Int16Array, at: number, n: number, counter: Utterance | null): void {
    // A loop rather than set(subarray()): no view object per frame per call.
    for (let i = 0, o = this.offset; i < n; i++) frame[at + i] = seg[o + i] as number;
    this.offset += n;
    if (counter !== null) counter.played = (counter.played ?? 0) + n;
  }

  private fadeOut(frame: Int16Array): number {
    const from = this.fadeFrom as Int16Array;
    const n = Math.min(this.fadeLeft, frame.length);
    for (let i = 0; i < n; i++) {
      frame[i] = Math.round((from[this.fadeOffset + i] ?? 0) * ((n - i) / n));
    }
    this.fadeLeft = 0;
    this.fadeFrom = null;
    return n;
  }

  private resetCursor(): void {
    this.segment = 0;
    this.offset = 0;
    this.started = false;
    this.inside = null;
  }
}
