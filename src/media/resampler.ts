/**
 * Sample-rate conversion as the rest of the program sees it. One small interface over two engines
 * (libsamplerate-js and Speex), so the bench compares them in the product and the numbers decide.
 *
 * Ownership: every Int16Array handed in is moved to a worker. When the view spans its whole
 * ArrayBuffer, that buffer is transferred (detached on the caller's side, no copy); otherwise the
 * view is copied first. Pass a copy if you still need the samples afterwards.
 */

/** One continuous signal, converted chunk by chunk with the filter state carried across chunks. */
export interface ResampleStream {
  /** Converted samples for this chunk (the filter delay means the first chunks come out a little short). */
  push(chunk: Int16Array): Promise<Int16Array>;
  /** Flushes the filter tail: after it, the stream has produced round(input * to/from) samples in all. */
  end(): Promise<Int16Array>;
  /** Releases the converter; pending pushes still settle. Safe to call twice. */
  close(): void;
}

export interface ResamplerPool {
  /**
   * Whole-buffer conversion (a fresh converter in a worker, full() over chunks). Same rate => a copy.
   * Output length = round(input * to/from) within ±1 sample.
   */
  resample(samples: Int16Array, fromRate: number, toRate: number): Promise<Int16Array>;
  /** One libsamplerate converter per stream, pinned to one worker, created off the hot path. */
  openStream(fromRate: number, toRate: number): Promise<ResampleStream>;
  readonly size: number;
  close(): Promise<void>;
}

/** libsamplerate's sinc converters. "fastest" cuts 3.4 kHz by ~9 dB (STACK-NOTES), hence "medium" by default. */
export type ResampleQuality = "fastest" | "medium" | "best";

export const RESAMPLE_QUALITIES: readonly ResampleQuality[] = ["fastest", "medium", "best"];

/**
 * Which converter the workers run. libsamplerate-js is the design's named choice; Speex (SpeexDSP,
 * WASM with SIMD) is ~12× cheaper per stream, which is what lets 200 calls' TTS be resampled live
 * on a 2-core host (README › Performance has both measured).
 */
export type ResampleEngine = "libsamplerate" | "speex";

export const RESAMPLE_ENGINES: readonly ResampleEngine[] = ["libsamplerate", "speex"];

export interface ResamplerPoolOptions {
  size: number;
  quality?: ResampleQuality;
  /** Default "libsamplerate". */
  engine?: ResampleEngine;
}

/** libsamplerate-js accepts 1..192000 Hz and a ratio within 1/256..256. */
export const MIN_RATE = 1;
export const MAX_RATE = 192_000;
export const MAX_RATIO = 256;
