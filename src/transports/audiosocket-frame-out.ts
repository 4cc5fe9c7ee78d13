/**
 * The buffer outgoing audio messages are built in, one for every connection of the process: a
 * message is handed to the socket, which copies it (or the connection queues a copy of what the
 * socket did not take), before the next is built. Shared rather than one per call for the reason
 * in media/shared-frames.ts: at a thousand calls a call's own buffer is cold by its next frame.
 * The message starts one byte in, so its payload (after the 3-byte header) is 2-byte aligned and
 * the samples go in through an Int16Array view of the same memory (s16le: every host Bun runs on
 * is little-endian), not byte by byte.
 */
import { kindForRate, writeAudioHeader } from "./audiosocket-codec.ts";

const HEADER_BYTES = 3;
/** 20 ms at 48 kHz: the buffer grows only for longer frames. */
const INITIAL_SAMPLES = 960;
/** Where each message starts in the shared buffer. */
const START = 1;

let bytes = new Uint8Array(START + HEADER_BYTES + 2 * INITIAL_SAMPLES);
let samples = new Int16Array(bytes.buffer, START + HEADER_BYTES, INITIAL_SAMPLES);

/** One connection's message kind (its rate), written into the shared buffer. */
export class AudioFrameOut {
  /** The message is `bytes[start, start + length)` after `write`, until the next `write` of any connection. */
  readonly start = START;
  private kind: number;

  constructor(rate: number) {
    this.kind = kindOf(rate);
  }

  get bytes(): Uint8Array {
    return bytes;
  }

  setRate(rate: number): void {
    this.kind = kindOf(rate);
  }

  /** Writes the message for `frame` (1 to 0x7fff samples) and returns its length in bytes. */
  write(frame: Int16Array): number {
    const count = frame.length;
    if (samples.length < count) {
      bytes = new Uint8Array(START + HEADER_BYTES + 2 * count);
      samples = new Int16Array(bytes.buffer, START + HEADER_BYTES, count);
    }
    const length = writeAudioHeader(bytes, START, this.kind, count);
    const out = samples;
    for (let i = 0; i < count; i++) out[i] = frame[i] as number;
    return HEADER_BYTES + length;
  }
}

function kindOf(rate: number): number {
  const kind = kindForRate(rate);
  if (kind === undefined) throw new RangeError(`sample rate ${rate} Hz has no AudioSocket kind`);
  return kind;
}
