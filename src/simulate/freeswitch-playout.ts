/**
 * What FreeSWITCH plays to a simulated caller, one 20 ms frame per tick: raw audio the voxcom fork
 * injects into the call (stream mode; played as it comes, like its timer thread), and temp files
 * queued by `uuid_broadcast` (file mode; one after another, each after the ~120 ms a broadcast
 * costs, fixtures README). `uuid_break` drops the files but not injected audio, as observed.
 */
import { FRAME_MS, frameSamplesFor } from "../media/pcm.ts";

/** What one `uuid_broadcast` adds before its file plays (measured on FreeSWITCH 1.10.12). */
export const BROADCAST_GAP_MS = 120;
const GAP_TICKS = Math.round(BROADCAST_GAP_MS / FRAME_MS);

interface FrameBuffer {
  samples: Int16Array;
  /** The same memory as s16le bytes (every platform Bun runs on is little-endian). */
  bytes: Uint8Array;
}

export class FreeswitchPlayout {
  /**
   * Ticks where the injected audio had run dry and the next piece came within one frame: a hole in
   * the bot's voice. A piece that starts with a frame of silence is a new talk spurt after a pause
   * the server made itself (voicebot leads each spurt with one), not a hole.
   */
  underruns = 0;
  /** Sample rate of the frame `next()` returned last. */
  frameRate: number;
  private ring: Int16Array;
  private head = 0;
  private size = 0;
  private readonly files: Int16Array[] = [];
  private readonly fileRates: number[] = [];
  private filePos = 0;
  private gapTicks = 0;
  private playedInjected = false;
  private dryAtMs: number | null = null;
  private readonly buffers = new Map<number, FrameBuffer>();
  private readonly silence: Uint8Array;

  constructor(private readonly rate: number) {
    this.frameRate = rate;
    this.ring = new Int16Array(rate);
    this.silence = new Uint8Array(frameSamplesFor(rate) * 2);
  }

  /** How much injected audio waits to be played, in ms. */
  get injectedMs(): number {
    return (this.size * 1000) / this.rate;
  }

  /** The first `count` samples of `samples` (raw audio at the stream's rate), played after what is queued. */
  inject(samples: Int16Array, count: number, atMs: number): void {
    if (this.dryAtMs !== null && atMs - this.dryAtMs < FRAME_MS && !this.startsSilent(samples, count)) this.underruns++;
    this.dryAtMs = null;
    if (this.size + count > this.ring.length) this.grow(this.size + count);
    const ring = this.ring;
    let at = (this.head + this.size) % ring.length;
    for (let i = 0; i < count; i++) {
      ring[at] = samples[i] as number;
      if (++at === ring.length) at = 0;
    }
    this.size += count;
  }

  private startsSilent(samples: Int16Array, count: number): boolean {
    const frame = frameSamplesFor(this.rate);
    if (count < frame) return false;
    for (let i = 0; i < frame; i++) if (samples[i] !== 0) return false;
    return true;
  }

  /** A temp file `uuid_broadcast` asked for: played after the files before it. */
  queueFile(samples: Int16Array, sampleRate: number): void {
    if (this.files.length === 0) this.gapTicks = GAP_TICKS;
    this.files.push(samples);
    this.fileRates.push(sampleRate);
  }

  /** `uuid_break <uuid> all`: the file playing stops now and the queued ones are dropped. */
  breakFiles(): void {
    this.files.length = 0;
    this.fileRates.length = 0;
    this.filePos = 0;
  }

  /** The next 20 ms the caller hears (s16le at `frameRate`); silence when nothing plays. Allocates nothing. */
  next(nowMs: number): Uint8Array {
    if (this.size > 0) {
      this.playedInjected = true;
      return this.fromRing();
    }
    if (this.playedInjected) {
      this.playedInjected = false;
      this.dryAtMs = nowMs;
    }
    const file = this.files[0];
    if (file !== undefined) {
      if (this.gapTicks > 0) this.gapTicks--;
      else return this.fromFile(file, this.fileRates[0] as number);
    }
    this.frameRate = this.rate;
    return this.silence;
  }

  private fromRing(): Uint8Array {
    const out = this.buffer(this.rate);
    const n = Math.min(out.samples.length, this.size);
    const capacity = this.ring.length;
    const first = Math.min(n, capacity - this.head);
    out.samples.set(this.ring.subarray(this.head, this.head + first), 0);
    out.samples.set(this.ring.subarray(0, n - first), first);
    if (n < out.samples.length) out.samples.fill(0, n);
    this.head = (this.head + n) % capacity;
    this.size -= n;
    this.frameRate = this.rate;
    return out.bytes;
  }

  private fromFile(file: Int16Array, sampleRate: number): Uint8Array {
    const out = this.buffer(sampleRate);
    const n = Math.min(out.samples.length, file.length - this.filePos);
    out.samples.set(file.subarray(this.filePos, this.filePos + n), 0);
    if (n < out.samples.length) out.samples.fill(0, n);
    this.filePos += n;
    if (this.filePos >= file.length) {
      this.files.shift();
      this.fileRates.shift();
      this.filePos = 0;
      if (this.files.length > 0) this.gapTicks = GAP_TICKS;
    }
    this.frameRate = sampleRate;
    return out.bytes;
  }

  private buffer(sampleRate: number): FrameBuffer {
    let b = this.buffers.get(sampleRate);
    if (!b) {
      const samples = new Int16Array(frameSamplesFor(sampleRate));
      b = { samples, bytes: new Uint8Array(samples.buffer) };
      this.buffers.set(sampleRate, b);
    }
    return b;
  }

  /** Doubles the ring (rare: only a server far ahead of real time fills a second). */
  private grow(needed: number): void {
    let capacity = this.ring.length * 2;
    while (capacity < needed) capacity *= 2;
    const ring = new Int16Array(capacity);
    const first = Math.min(this.size, this.ring.length - this.head);
    ring.set(this.ring.subarray(this.head, this.head + first), 0);
    ring.set(this.ring.subarray(0, this.size - first), first);
    this.ring = ring;
    this.head = 0;
  }
}
