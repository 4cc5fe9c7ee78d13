/**
 * Inbound audio of any frame size into exact 20 ms frames. PBXes do not keep to 20 ms: the last
 * frame of an Asterisk Playback() is short (25, 128, 138 samples), SIP trunks send 30/40/60 ms,
 * mod_audio_stream sends whatever it buffered. The VAD, barge-in, caller activity and the STT
 * gate's pre-roll all count in 20 ms frames, so each call re-frames its caller's audio once, where
 * it enters the call. Allocation-free: one frame buffer, reused for every frame emitted.
 */
import { frameSamplesFor } from "./pcm.ts";

export class Reframer {
  private frame: Int16Array;
  /** Samples of the next frame already in `frame`. */
  private fill = 0;

  constructor(sampleRate: number) {
    this.frame = new Int16Array(checkedFrameSamples(sampleRate));
  }

  /** Samples held for the next frame (less than one frame). */
  get held(): number {
    return this.fill;
  }

  /** A new rate: what is held belongs to the old one and is dropped. */
  setSampleRate(sampleRate: number): void {
    const samples = checkedFrameSamples(sampleRate);
    if (samples !== this.frame.length) this.frame = new Int16Array(samples);
    this.fill = 0;
  }

  /**
   * Hands every complete 20 ms frame to `emit`, in order; the rest waits for the next push. The frame
   * `emit` gets is only valid during the call (it is reused, or is `samples` itself when that is
   * exactly one frame and nothing was held).
   */
  push(samples: Int16Array, emit: (frame: Int16Array) => void): void {
    const frame = this.frame;
    const size = frame.length;
    if (this.fill === 0 && samples.length === size) {
      emit(samples);
      return;
    }
    let pos = 0;
    while (pos < samples.length) {
      const take = Math.min(size - this.fill, samples.length - pos);
      for (let i = 0; i < take; i++) frame[this.fill + i] = samples[pos + i] as number;
      this.fill += take;
      pos += take;
      if (this.fill < size) return;
      this.fill = 0;
      emit(frame);
    }
  }
}

function checkedFrameSamples(sampleRate: number): number {
  const samples = frameSamplesFor(sampleRate);
  if (!Number.isInteger(samples) || samples <= 0) {
    throw new RangeError(`reframer: sample rate ${sampleRate} Hz is not allowed; use a rate with whole 20 ms frames (8000, 16000, …)`);
  }
  return samples;
}
