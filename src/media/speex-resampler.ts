/**
 * SpeexDSP's resampler (the one inside Asterisk's codec_resample), compiled to WASM with SIMD: one
 * module per worker, one small state per stream. Beside libsamplerate-js behind the same worker
 * protocol, so the bench can compare them in the product (STACK-NOTES: ~12× faster than
 * libsamplerate's fastest sinc, and flat across the telephone band).
 */
import createSpeexModule, { type SpeexModule } from "@echogarden/speex-resampler-wasm/simd";
import wasmPath from "../../node_modules/@echogarden/speex-resampler-wasm/wasm/speex-resampler-simd.wasm" with { type: "file" };
import type { ResampleQuality } from "./resampler.ts";

/** Speex quality 0-10 for each of voicebot's quality names (5 is Speex's own default for voice). */
const QUALITY: Record<ResampleQuality, number> = { fastest: 3, medium: 5, best: 8 };
/** Input samples per process call; output room is sized from it. */
const CHUNK = 8192;

let loading: Promise<SpeexModule> | null = null;

function speexModule(): Promise<SpeexModule> {
  loading ??= Bun.file(wasmPath).arrayBuffer().then((bytes) => createSpeexModule({ wasmBinary: new Uint8Array(bytes) }));
  return loading;
}

/** Scratch memory on the module heap shared by every converter of this worker (one thread). */
interface Scratch {
  input: number;
  output: number;
  outputCapacity: number;
  lengths: number;
}

let scratch: Scratch | null = null;

function scratchFor(wasm: SpeexModule, outputCapacity: number): Scratch {
  if (scratch && scratch.outputCapacity >= outputCapacity) return scratch;
  if (scratch) {
    wasm._free(scratch.input);
    wasm._free(scratch.output);
    wasm._free(scratch.lengths);
  }
  scratch = { input: wasm._malloc(CHUNK * 2), output: wasm._malloc(outputCapacity * 2), outputCapacity, lengths: wasm._malloc(8) };
  return scratch;
}

export class SpeexConverter {
  private totalIn = 0;
  private totalOut = 0;
  private constructor(
    private readonly wasm: SpeexModule,
    private readonly state: number,
    private readonly from: number,
    private readonly to: number,
  ) {}

  static async create(from: number, to: number, quality: ResampleQuality): Promise<SpeexConverter> {
    const wasm = await speexModule();
    const error = wasm._malloc(4);
    const state = wasm._speex_resampler_init(1, from, to, QUALITY[quality], error);
    const code = wasm.HEAPU32[error >> 2] ?? 0;
    wasm._free(error);
    if (state === 0) throw new Error(`Speex resampler ${from} → ${to} Hz could not start (error ${code})`);
    // Drops the filter's leading delay: output sample 0 is input sample 0, as with libsamplerate.
    wasm._speex_resampler_skip_zeros(state);
    return new SpeexConverter(wasm, state, from, to);
  }

  /** Converts a chunk; the filter state carries over to the next one. */
  push(pcm: Int16Array): Int16Array {
    this.totalIn += pcm.length;
    return this.run(pcm, Number.POSITIVE_INFINITY);
  }

  /** Flushes the filter tail so the stream has produced round(input × to / from) samples in all. */
  end(): Int16Array {
    const expected = Math.round((this.totalIn * this.to) / this.from);
    const missing = expected - this.totalOut;
    if (missing <= 0) return new Int16Array(0);
    const zeros = new Int16Array(this.wasm._speex_resampler_get_input_latency(this.state) + Math.ceil((missing * this.from) / this.to) + 1);
    const tail = this.run(zeros, missing);
    return tail.length > missing ? tail.slice(0, missing) : tail;
  }

  destroy(): void {
    this.wasm._speex_resampler_destroy(this.state);
  }

  /** Runs `pcm` through, keeping at most `limit` output samples (the rest would be flush padding). */
  private run(pcm: Int16Array, limit: number): Int16Array {
    const wasm = this.wasm;
    const room = Math.ceil((CHUNK * this.to) / this.from) + 64;
    const mem = scratchFor(wasm, room);
    const out = new Int16Array(Math.max(0, Math.ceil((pcm.length * this.to) / this.from) + 64));
    let produced = 0;
    for (let start = 0; start < pcm.length; ) {
      const length = Math.min(CHUNK, pcm.length - start);
      wasm.HEAP16.set(pcm.subarray(start, start + length), mem.input >> 1);
      const lengths = wasm.HEAPU32;
      lengths[mem.lengths >> 2] = length;
      lengths[(mem.lengths >> 2) + 1] = room;
      wasm._speex_resampler_process_int(this.state, 0, mem.input, mem.lengths, mem.output, mem.lengths + 4);
      const consumed = wasm.HEAPU32[mem.lengths >> 2] ?? length;
      const made = wasm.HEAPU32[(mem.lengths >> 2) + 1] ?? 0;
      const n = Math.min(made, out.length - produced);
      out.set(wasm.HEAP16.subarray(mem.output >> 1, (mem.output >> 1) + n), produced);
      produced += n;
      start += Math.max(1, consumed);
    }
    const kept = Math.min(produced, Math.max(0, limit));
    this.totalOut += kept;
    return kept === out.length ? out : out.slice(0, kept);
  }
}
