/**
 * WebRTC voice-activity detection (libfvad compiled to WASM). One WASM instance per process serves
 * every call; each call gets its own detector state and one frame buffer on the module's heap, so
 * classifying a frame copies its samples once and allocates nothing.
 */
import createFvadModule, { type FvadModule } from "@echogarden/fvad-wasm";
import wasmPath from "@echogarden/fvad-wasm/fvad.wasm" with { type: "file" };

/** The only rates libfvad classifies. */
export const VAD_SAMPLE_RATES = [8000, 16000, 32000, 48000] as const;

/** The frame durations libfvad accepts. */
const FRAME_DURATIONS_MS = [10, 20, 30] as const;

/** WebRTC aggressiveness: 0 calls borderline audio speech most readily, 3 most reluctantly. */
export type VadMode = 0 | 1 | 2 | 3;

export interface Vad {
  readonly sampleRate: number;
  readonly mode: VadMode;
  /** Classifies one 10, 20 or 30 ms frame at `sampleRate`; any other length throws a RangeError. */
  isSpeech(frame: Int16Array): boolean;
  /** Releases the detector's WASM memory; isSpeech() afterwards throws. Safe to call twice. */
  free(): void;
}

export interface VadModule {
  /** A detector for one call, or null when libfvad does not support `sampleRate`. */
  create(sampleRate: number, mode: VadMode): Vad | null;
}

class FvadDetector implements Vad {
  private instance: number;
  private readonly buffer: number;
  private readonly frameLengths: readonly number[];

  constructor(
    private readonly wasm: FvadModule,
    instance: number,
    readonly sampleRate: number,
    readonly mode: VadMode,
  ) {
    this.frameLengths = FRAME_DURATIONS_MS.map((ms) => (sampleRate * ms) / 1000);
    const longest = this.frameLengths[this.frameLengths.length - 1] ?? 0;
    this.buffer = wasm._malloc(longest * Int16Array.BYTES_PER_ELEMENT);
    if (this.buffer === 0) {
      wasm._fvad_free(instance);
      throw new Error(`VAD: out of WASM memory for a ${longest}-sample frame buffer`);
    }
    this.instance = instance;
  }

  isSpeech(frame: Int16Array): boolean {
    if (this.instance === 0) throw new Error("VAD: isSpeech() called after free()");
    const samples = frame.length;
    const lengths = this.frameLengths;
    if (samples !== lengths[0] && samples !== lengths[1] && samples !== lengths[2]) {
      throw new RangeError(
        `VAD: a frame of ${samples} samples is not allowed at ${this.sampleRate} Hz; ` +
          `use ${lengths.join(", ")} samples (${FRAME_DURATIONS_MS.join("/")} ms)`,
      );
    }
    // HEAP16 is re-read on every call: another detector's malloc may have grown (replaced) the heap.
    this.wasm.HEAP16.set(frame, this.buffer >> 1);
    const verdict = this.wasm._fvad_process(this.instance, this.buffer, samples);
    if (verdict < 0) throw new Error(`VAD: libfvad rejected a ${samples}-sample frame at ${this.sampleRate} Hz`);
    return verdict === 1;
  }

  free(): void {
    if (this.instance === 0) return;
    this.wasm._fvad_free(this.instance);
    this.wasm._free(this.buffer);
    this.instance = 0;
  }
}

function isSupportedRate(sampleRate: number): boolean {
  return (VAD_SAMPLE_RATES as readonly number[]).includes(sampleRate);
}

function createDetector(wasm: FvadModule, sampleRate: number, mode: VadMode): Vad | null {
  if (!Number.isInteger(mode) || mode < 0 || mode > 3) {
    throw new RangeError(`VAD: mode ${String(mode)} is not allowed; use 0, 1, 2 or 3`);
  }
  if (!isSupportedRate(sampleRate)) return null;
  const instance = wasm._fvad_new();
  if (instance === 0) throw new Error("VAD: out of WASM memory for a new detector");
  if (wasm._fvad_set_mode(instance, mode) !== 0 || wasm._fvad_set_sample_rate(instance, sampleRate) !== 0) {
    wasm._fvad_free(instance);
    throw new Error(`VAD: libfvad refused mode ${mode} at ${sampleRate} Hz`);
  }
  return new FvadDetector(wasm, instance, sampleRate, mode);
}

let loading: Promise<VadModule> | null = null;

async function instantiate(): Promise<VadModule> {
  // Handing the bytes over keeps the glue code from looking for fvad.wasm on disk, where a compiled
  // binary has none.
  const wasmBinary = new Uint8Array(await Bun.file(wasmPath).arrayBuffer());
  const wasm = await createFvadModule({ wasmBinary });
  return { create: (sampleRate, mode) => createDetector(wasm, sampleRate, mode) };
}

/** The process-wide VAD module, instantiated on first use; a failed load is retried by the next call. */
export function loadVadModule(): Promise<VadModule> {
  loading ??= instantiate().catch((error: unknown) => {
    loading = null;
    throw new Error(`VAD: could not load fvad.wasm: ${error instanceof Error ? error.message : String(error)}`);
  });
  return loading;
}
