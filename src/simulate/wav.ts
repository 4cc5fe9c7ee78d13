/**
 * WAV in and out for the simulator: 16-bit PCM only. Stereo (or more channels) is downmixed to
 * mono by averaging, since a caller is one voice; anything not 16-bit PCM is refused by name.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { ResamplerPool } from "../media/resampler.ts";
import { WAV_HEADER_BYTES, writeWavHeader } from "../media/wav-header.ts";

export interface Pcm {
  sampleRate: number;
  samples: Int16Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export class WavFormatError extends Error {
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "WavFormatError";
  }
}

/** Parses a RIFF/WAVE file held in memory; `name` is used in error messages. */
export function decodeWav(bytes: Uint8Array, name: string): Pcm {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new WavFormatError(name, "not a WAV file (no RIFF/WAVE header); give a 16-bit PCM .wav");
  }
  let format: { channels: number; sampleRate: number } | null = null;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) throw new WavFormatError(name, `"fmt " chunk is ${size} bytes, too short`);
      let audioFormat = view.getUint16(body, true);
      if (audioFormat === FORMAT_EXTENSIBLE && size >= 40) audioFormat = view.getUint16(body + 24, true);
      const bits = view.getUint16(body + 14, true);
      if (audioFormat !== FORMAT_PCM || bits !== 16) {
        const what = audioFormat === FORMAT_FLOAT ? `${bits}-bit float` : audioFormat === FORMAT_PCM ? `${bits}-bit PCM` : `format code ${audioFormat}`;
        throw new WavFormatError(name, `${what} is not supported; only 16-bit PCM is (convert with: sox in.wav -b 16 -e signed-integer out.wav)`);
      }
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      if (channels < 1) throw new WavFormatError(name, "declares 0 channels");
      if (sampleRate < 1000 || sampleRate > 192000) throw new WavFormatError(name, `sample rate ${sampleRate} Hz is outside 1000..192000`);
      format = { channels, sampleRate };
    } else if (id === "data") {
      if (format === null) throw new WavFormatError(name, `"data" chunk comes before the "fmt " chunk`);
      // Streams written while recording often leave the size at 0 or 0xFFFFFFFF: read to the end.
      const end = size === 0 || body + size > bytes.length ? bytes.length : body + size;
      return { sampleRate: format.sampleRate, samples: downmix(view, body, end, format.channels) };
    }
    at = body + size + (size & 1);
  }
  throw new WavFormatError(name, format === null ? `no "fmt " chunk` : `no "data" chunk`);
}

function downmix(view: DataView, start: number, end: number, channels: number): Int16Array {
  const frames = Math.floor((end - start) / (2 * channels));
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += view.getInt16(start + 2 * (f * channels + c), true);
    out[f] = Math.round(sum / channels);
  }
  return out;
}

export function readWav(path: string): Pcm {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new WavFormatError(path, `cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return decodeWav(bytes, path);
}

/** A canonical 44-byte-header mono s16le WAV. */
export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(WAV_HEADER_BYTES + dataBytes);
  const view = new DataView(out.buffer);
  writeWavHeader(view, sampleRate, dataBytes);
  for (let i = 0; i < samples.length; i++) view.setInt16(WAV_HEADER_BYTES + 2 * i, samples[i] as number, true);
  return out;
}

export function writeWav(path: string, samples: Int16Array, sampleRate: number): void {
  writeFileSync(path, encodeWav(samples, sampleRate));
}

/**
 * Brings caller audio to the call's rate (through the worker pool) when it is not already there.
 * The pool takes ownership of `pcm.samples` when it converts.
 */
export async function toCallRate(pcm: Pcm, callRate: number, resampler: Pick<ResamplerPool, "resample">): Promise<Int16Array> {
  if (pcm.sampleRate === callRate || pcm.samples.length === 0) return pcm.samples;
  return resampler.resample(pcm.samples, pcm.sampleRate, callRate);
}
