/**
 * The buffer a connection's outgoing audio messages are built in, reused for every frame. The
 * message starts one byte in, so its payload (after the 3-byte header) is 2-byte aligned and the
 * samples go in through an Int16Array view of the same memory (s16le: every host Bun runs on is
 * little-endian), not byte by byte.
 */
import { kindForRate, writeAudioHeader } from "./audiosocket-codec.ts";

const HEADER_BYTES = 3;
/** 20 ms at 48 kHz: the buffer grows only for longer frames. */
const INITIAL_SAMPLES = 960;

export class AudioFrameOut {
  /** The message is `bytes[start, start + length)` after `write`. */
  readonly start = 1;
  bytes = new Uint8Array(this.start + HEADER_BYTES + 2 * INITIAL_SAMPLES);
  private samples = new Int16Array(this.bytes.buffer, this.start + HEADER_BYTES, INITIAL_SAMPLES);
  private kind: number;

  constructor(rate: number) {
    this.kind = kindOf(rate);
  }

  setRate(rate: number): void {
    this.kind = kindOf(rate);
  }

  /** Writes the message for `samples` (1 to 0x7fff of them) and returns its length in bytes. */
  write(samples: Int16Array): number {
    const count = samples.length;
    if (this.samples.length < count) {
      this.bytes = new Uint8Array(this.start + HEADER_BYTES + 2 * count);
      this.samples = new Int16Array(this.bytes.buffer, this.start + HEADER_BYTES, count);
    }
    const length = writeAudioHeader(this.bytes, this.start, this.kind, count);
    const out = this.samples;
    for (let i = 0; i < count; i++) out[i] = samples[i] as number;
    return HEADER_BYTES + length;
  }
}

function kindOf(rate: number): number {
  const kind = kindForRate(rate);
  if (kind === undefined) throw new RangeError(`sample rate ${rate} Hz has no AudioSocket kind`);
  return kind;
}
