/** The package ships no types: the part of its Emscripten module voicebot uses (SpeexDSP's resampler C API). */
declare module "@echogarden/speex-resampler-wasm/simd" {
  export interface SpeexModule {
    /** Views of the module's memory; replaced when the heap grows, so read them at each use. */
    readonly HEAP16: Int16Array;
    readonly HEAPU32: Uint32Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    /** The state, or 0 with an error code written at `errorPointer`. */
    _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errorPointer: number): number;
    _speex_resampler_destroy(state: number): void;
    /** `inLength`/`outLength` point at uint32s: capacities in, samples consumed/produced out. */
    _speex_resampler_process_int(state: number, channel: number, input: number, inLength: number, output: number, outLength: number): number;
    _speex_resampler_skip_zeros(state: number): number;
    _speex_resampler_get_input_latency(state: number): number;
  }

  export interface SpeexModuleOptions {
    /** The bytes of the .wasm file; without them the glue code looks for the file beside itself. */
    wasmBinary: ArrayBuffer | Uint8Array;
  }

  export default function createSpeexModule(options: SpeexModuleOptions): Promise<SpeexModule>;
}

declare module "*/speex-resampler-simd.wasm" {
  /** Path of the WASM file; inside a compiled binary, a /$bunfs path. */
  const path: string;
  export default path;
}
