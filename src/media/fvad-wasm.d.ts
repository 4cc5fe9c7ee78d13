/** The package ships no types: this is the part of its Emscripten module voicebot uses (libfvad's C API). */
declare module "@echogarden/fvad-wasm" {
  export interface FvadModule {
    /** Views of the module's memory; replaced when the heap grows, so read them at each use. */
    readonly HEAP16: Int16Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    /** 0 when out of memory. */
    _fvad_new(): number;
    _fvad_free(instance: number): void;
    /** 0 on success, -1 for a mode outside 0..3. */
    _fvad_set_mode(instance: number, mode: number): number;
    /** 0 on success, -1 for a rate other than 8000, 16000, 32000 or 48000. */
    _fvad_set_sample_rate(instance: number, rate: number): number;
    /** 1 speech, 0 no speech, -1 for a frame that is not 10, 20 or 30 ms long. */
    _fvad_process(instance: number, frame: number, samples: number): number;
  }

  export interface FvadModuleOptions {
    /** The bytes of fvad.wasm; without them the glue code fetches the file beside itself. */
    wasmBinary: ArrayBuffer | Uint8Array;
  }

  export default function createFvadModule(options: FvadModuleOptions): Promise<FvadModule>;
}

declare module "@echogarden/fvad-wasm/fvad.wasm" {
  /** Path of the WASM file; inside a compiled binary, a /$bunfs path. */
  const path: string;
  export default path;
}
