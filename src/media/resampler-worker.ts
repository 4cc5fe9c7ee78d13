/**
 * Resampler worker: libsamplerate-js converters, whole-buffer jobs and long-lived streams.
 * Each converter is its own wasm2js module instance (the glue keeps one SRC state per module), so
 * creating one costs ~5–15 ms: whole-buffer jobs reuse idle converters after a state reset.
 * Only `full()` is ever called (STACK-NOTES: `simple()` breaks later `full()` calls).
 * With engine "speex", the same requests run on SpeexDSP's resampler instead (speex-resampler.ts).
 */
import { ConverterType, create } from "@alexanderolsen/libsamplerate-js";
import type { ConverterTypeValue } from "@alexanderolsen/libsamplerate-js/dist/converter-type";
import type { ResampleEngine, ResampleQuality } from "./resampler.ts";
import { SpeexConverter } from "./speex-resampler.ts";
import { serveRpc, type RpcResult } from "./worker-rpc.ts";

export type ResamplerRequest =
  | { id: number; op: "resample"; from: number; to: number; quality: ResampleQuality; engine: ResampleEngine; pcm: Int16Array }
  | { id: number; op: "open"; stream: number; from: number; to: number; quality: ResampleQuality; engine: ResampleEngine }
  | { id: number; op: "push"; stream: number; pcm: Int16Array }
  | { id: number; op: "end"; stream: number }
  | { id: number; op: "close"; stream: number };

type Src = Awaited<ReturnType<typeof create>>;

interface Converter {
  readonly src: Src;
  readonly key: string;
  readonly from: number;
  readonly to: number;
  readonly ratio: number;
  /** Input samples per full() call for this ratio. */
  readonly block: number;
  totalIn: number;
  totalOut: number;
}

const QUALITY: Record<ResampleQuality, ConverterTypeValue> = {
  fastest: ConverterType.SRC_SINC_FASTEST,
  medium: ConverterType.SRC_SINC_MEDIUM_QUALITY,
  best: ConverterType.SRC_SINC_BEST_QUALITY,
};
/** Input samples per full() call, at most. */
const BLOCK = 16_384;
/**
 * The library's transfer buffers hold 1,008,000 samples; past that, full() silently switches to a
 * path that ignores the output buffer. Blocks are sized so neither side of a call comes near it.
 */
const LIBRARY_BUFFER_LIMIT = 1_000_000;
/**
 * Zeros fed per flush round, counted in samples of the lower of the two rates: the sinc filters lag
 * ~19 (fastest), ~46 (medium) and ~143 (best) such samples, so one round normally flushes the tail.
 */
const FLUSH_SPAN = 160;
const MAX_FLUSH_ROUNDS = 8;
const MAX_IDLE_PER_KEY = 4;

const streams = new Map<number, Converter>();
const speexStreams = new Map<number, SpeexConverter>();
const idle = new Map<string, Src[]>();
const outLength = { frames: 0 };
let floatIn = new Float32Array(BLOCK);
let floatOut = new Float32Array(BLOCK);
let zeros = new Float32Array(0);

async function acquire(from: number, to: number, quality: ResampleQuality): Promise<Converter> {
  const key = `${from}>${to}:${quality}`;
  const reused = idle.get(key)?.pop();
  let src: Src;
  if (reused) {
    // The setter runs src_delete + src_new: a clean filter state without a new module.
    reused.converterType = QUALITY[quality];
    src = reused;
  } else {
    src = await create(1, from, to, { converterType: QUALITY[quality] });
  }
  const ratio = to / from;
  const block = Math.min(BLOCK, Math.floor(LIBRARY_BUFFER_LIMIT / Math.max(1, ratio)));
  return { src, key, from, to, ratio, block, totalIn: 0, totalOut: 0 };
}

function release(converter: Converter): void {
  const list = idle.get(converter.key) ?? [];
  if (list.length < MAX_IDLE_PER_KEY) {
    list.push(converter.src);
    idle.set(converter.key, list);
  } else {
    converter.src.destroy();
  }
}

/** Runs full() over `input` (float samples); the result is in floatOut[0 .. returned count). */
function convert(converter: Converter, input: Float32Array): number {
  const room = Math.ceil(input.length * converter.ratio) + 64;
  if (floatOut.length < room) floatOut = new Float32Array(room);
  outLength.frames = 0;
  converter.src.full(input, floatOut, outLength);
  converter.totalIn += input.length;
  converter.totalOut += outLength.frames;
  return outLength.frames;
}

function floatsOf(pcm: Int16Array, start: number, end: number): Float32Array {
  const length = end - start;
  if (floatIn.length < length) floatIn = new Float32Array(length);
  for (let i = 0; i < length; i++) floatIn[i] = (pcm[start + i] as number) / 32768;
  return floatIn.subarray(0, length);
}

/** Writes floatOut[0 .. count) into `target` at `at` as Int16 (rounded, clamped); returns samples written. */
function store(count: number, target: Int16Array, at: number): number {
  const n = Math.min(count, target.length - at);
  for (let i = 0; i < n; i++) {
    const v = Math.round((floatOut[i] as number) * 32768);
    target[at + i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return n;
}

/** Feeds zeros until the converter has produced `expected` samples in all; the tail lands in `target`. */
function flush(converter: Converter, expected: number, target: Int16Array, at: number): number {
  const span = Math.ceil(FLUSH_SPAN * Math.max(1, converter.from / converter.to));
  if (zeros.length < span) zeros = new Float32Array(span);
  let written = 0;
  for (let round = 0; round < MAX_FLUSH_ROUNDS && converter.totalOut < expected; round++) {
    written += store(convert(converter, zeros.subarray(0, span)), target, at + written);
  }
  return written;
}

function expectedTotal(converter: Converter): number {
  return Math.round((converter.totalIn * converter.to) / converter.from);
}

async function resampleWhole(from: number, to: number, quality: ResampleQuality, pcm: Int16Array): Promise<Int16Array> {
  const converter = await acquire(from, to, quality);
  const result = new Int16Array(Math.round((pcm.length * to) / from));
  let written = 0;
  for (let start = 0; start < pcm.length; start += converter.block) {
    const end = Math.min(pcm.length, start + converter.block);
    written += store(convert(converter, floatsOf(pcm, start, end)), result, written);
  }
  flush(converter, result.length, result, written);
  release(converter);
  return result;
}

function pushStream(converter: Converter, pcm: Int16Array): Int16Array {
  const produced: Int16Array[] = [];
  let total = 0;
  for (let start = 0; start < pcm.length; start += converter.block) {
    const end = Math.min(pcm.length, start + converter.block);
    const count = convert(converter, floatsOf(pcm, start, end));
    const part = new Int16Array(count);
    store(count, part, 0);
    produced.push(part);
    total += count;
  }
  if (produced.length === 1) return produced[0] as Int16Array;
  const joined = new Int16Array(total);
  let at = 0;
  for (const part of produced) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

function endStream(converter: Converter): Int16Array {
  const missing = Math.max(0, expectedTotal(converter) - converter.totalOut);
  const tail = new Int16Array(missing);
  flush(converter, expectedTotal(converter), tail, 0);
  return tail;
}

async function speexWhole(from: number, to: number, quality: ResampleQuality, pcm: Int16Array): Promise<Int16Array> {
  const converter = await SpeexConverter.create(from, to, quality);
  try {
    const body = converter.push(pcm);
    const tail = converter.end();
    const joined = new Int16Array(body.length + tail.length);
    joined.set(body);
    joined.set(tail, body.length);
    return joined;
  } finally {
    converter.destroy();
  }
}

function streamOf(id: number): Converter {
  const converter = streams.get(id);
  if (!converter) throw new Error(`resample stream ${id} is not open in this worker`);
  return converter;
}

function moved(pcm: Int16Array): RpcResult {
  // Freshly allocated here, so a plain ArrayBuffer the caller can take over.
  return { value: pcm, transfer: [pcm.buffer as ArrayBuffer] };
}

serveRpc<ResamplerRequest>((request): RpcResult | Promise<RpcResult> => {
  switch (request.op) {
    case "resample":
      if (request.engine === "speex") return speexWhole(request.from, request.to, request.quality, request.pcm).then(moved);
      return resampleWhole(request.from, request.to, request.quality, request.pcm).then(moved);
    case "open":
      if (request.engine === "speex") {
        return SpeexConverter.create(request.from, request.to, request.quality).then((converter) => {
          speexStreams.set(request.stream, converter);
          return { value: null };
        });
      }
      return acquire(request.from, request.to, request.quality).then((converter) => {
        streams.set(request.stream, converter);
        return { value: null };
      });
    case "push": {
      const speex = speexStreams.get(request.stream);
      if (speex) return moved(speex.push(request.pcm));
      return moved(pushStream(streamOf(request.stream), request.pcm));
    }
    case "end": {
      const speex = speexStreams.get(request.stream);
      if (speex) {
        speexStreams.delete(request.stream);
        const tail = speex.end();
        speex.destroy();
        return moved(tail);
      }
      const converter = streamOf(request.stream);
      streams.delete(request.stream);
      const tail = endStream(converter);
      release(converter);
      return moved(tail);
    }
    case "close": {
      speexStreams.get(request.stream)?.destroy();
      speexStreams.delete(request.stream);
      const converter = streams.get(request.stream);
      streams.delete(request.stream);
      if (converter) release(converter);
      return { value: null };
    }
  }
});
