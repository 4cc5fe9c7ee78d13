/** The package ships no types: this is the part of its Emscripten module voicebot uses. */
declare module "@echogarden/espeak-ng-emscripten" {
  export interface ESpeakEvent {
    type: string;
    text_position: number;
    word_length: number;
    audio_position: number;
  }

  export interface ESpeakNGWorker {
    readonly samplerate: number;
    /** 0 on success; 2 when no voice matches. */
    set_voice(name: string): number;
    /** Synchronous; `callback` gets ~100 ms of 16-bit audio at a time and returns true to abort. */
    synthesize(text: string, callback: (audio: Int16Array, events: ESpeakEvent[]) => boolean): void;
  }

  export interface ESpeakModule {
    eSpeakNGWorker: new () => ESpeakNGWorker;
  }

  export interface ESpeakModuleOptions {
    /** The bytes of espeak-ng.data; without it a compiled binary waits forever for a fetch. */
    getPreloadedPackage: (name: string, size: number) => ArrayBuffer;
    print?: (text: string) => void;
    printErr?: (text: string) => void;
  }

  export default function createESpeakModule(options: ESpeakModuleOptions): Promise<ESpeakModule>;
}

declare module "@echogarden/espeak-ng-emscripten/espeak-ng.data" {
  /** Path of the voice data file; inside a compiled binary, a /$bunfs path. */
  const path: string;
  export default path;
}
