/**
 * G.711 μ-law to 16-bit linear PCM. `Dial(AudioSocket/…/c(ulaw))` sends μ-law bytes under the
 * slin kind 0x10 (fixture e4), so the AudioSocket transport decodes them rather than hear noise.
 */

function decodeByte(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

/** Linear value of every μ-law byte: 0xff and 0x7f are silence (0), 0x00 is -32124, 0x80 is 32124. */
export const MULAW_TO_LINEAR: Int16Array = Int16Array.from({ length: 256 }, (_, byte) => decodeByte(byte));

/** Decodes `src` into the first `src.length` samples of `dst` (which must be at least that long). */
export function decodeMulaw(src: Uint8Array, dst: Int16Array, start = 0, end = src.length): void {
  if (dst.length < end - start) {
    throw new RangeError(`μ-law output holds ${dst.length} samples, ${end - start} needed`);
  }
  for (let i = start, o = 0; i < end; i++, o++) dst[o] = MULAW_TO_LINEAR[src[i]!]!;
}

/** Payload bytes of one 20 ms μ-law frame at 8 kHz, which is also 10 ms of 8 kHz slin. */
export const MULAW_FRAME_BYTES = 160;
/** Frames held before deciding: the fifth arrives after four intervals. */
const DETECT_FRAMES = 5;
/** Frames come 20 ms apart in μ-law and 10 ms apart in slin: the mean interval tells them apart. */
const MULAW_MIN_INTERVAL_MS = 15;

/**
 * Tells μ-law from slin when a call's first audio is 160-byte 0x10 frames, both being 160 bytes:
 * μ-law frames come 20 ms apart, 10 ms slin frames 10 ms apart. The first frames are held (at
 * most 80 ms of audio) until the pace is known, then released decoded the right way.
 */
export type MulawVerdict = "undecided" | "slin" | "mulaw";

export class MulawDetector {
  state: MulawVerdict = "undecided";
  private readonly held = new Uint8Array(DETECT_FRAMES * MULAW_FRAME_BYTES);
  private count = 0;
  private firstAt = 0;

  /** Holds one 160-byte payload; returns the verdict, "undecided" until enough frames are held. */
  hold(payload: Uint8Array, nowMs: number): MulawVerdict {
    if (this.count === 0) this.firstAt = nowMs;
    this.held.set(payload, this.count * MULAW_FRAME_BYTES);
    this.count++;
    if (this.count < DETECT_FRAMES) return "undecided";
    return this.settleByPace(nowMs, this.count - 1);
  }

  /** 160-byte frames are held (at least one) and an odd-length one arrives: no slin frame is odd, so decide now. */
  settleOnOddFrame(nowMs: number): MulawVerdict {
    return this.settleByPace(nowMs, this.count);
  }

  get holding(): boolean {
    return this.count > 0;
  }

  /** Any other first audio (another kind or size) means slin. */
  settleAsSlin(): void {
    if (this.state === "undecided") this.state = "slin";
  }

  private settleByPace(nowMs: number, intervals: number): MulawVerdict {
    this.state = nowMs - this.firstAt >= intervals * MULAW_MIN_INTERVAL_MS ? "mulaw" : "slin";
    return this.state;
  }

  /** Held payloads in arrival order; empties the holding buffer. */
  takeHeld(): Uint8Array[] {
    const frames = Array.from({ length: this.count }, (_, i) => this.held.subarray(i * MULAW_FRAME_BYTES, (i + 1) * MULAW_FRAME_BYTES));
    this.count = 0;
    return frames;
  }
}

/** G.711 μ-law byte for one 16-bit linear sample (the inverse of MULAW_TO_LINEAR, rounding toward zero). */
export function linearToMulaw(sample: number): number {
  // Bias 0x84 on the magnitude clipped to 32635, then segment and 4 mantissa bits.
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(32635, sign ? -sample : sample) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** μ-law byte of every 16-bit sample, indexed by the sample's unsigned 16-bit value (64 KiB, built once). */
const LINEAR_TO_MULAW: Uint8Array = Uint8Array.from({ length: 65536 }, (_, u) => linearToMulaw((u << 16) >> 16));

/** Encodes `src` into the first `src.length` bytes of `dst` from `offset`. Allocation-free. */
export function encodeMulaw(src: Int16Array, dst: Uint8Array, offset = 0): void {
  for (let i = 0; i < src.length; i++) dst[offset + i] = LINEAR_TO_MULAW[src[i]! & 0xffff]!;
}
