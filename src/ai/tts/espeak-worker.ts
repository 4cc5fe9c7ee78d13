/**
 * eSpeak-NG worker: synthesis is synchronous inside the WASM module, so it runs here, one request
 * at a time in arrival order, posting each ~100 ms chunk as soon as eSpeak hands it over.
 */
import createESpeakModule, { type ESpeakNGWorker } from "@echogarden/espeak-ng-emscripten";
import dataPath from "@echogarden/espeak-ng-emscripten/espeak-ng.data" with { type: "file" };

export type EspeakRequest =
  /** `abort` is shared memory: the main thread stores the id of a request to cut short. */
  | { type: "init"; voice: string; abort: Int32Array }
  | { type: "synth"; id: number; text: string };

export type EspeakReply =
  | { type: "ready"; sampleRate: number }
  | { type: "failed"; error: string }
  | { type: "log"; text: string }
  | { type: "chunk"; id: number; pcm: Int16Array }
  | { type: "done"; id: number }
  | { type: "error"; id: number; error: string };

/** eSpeak's status when set_voice finds no voice of that name. */
const VOICE_NOT_FOUND = 2;

let engine: ESpeakNGWorker | null = null;
let abortFlag: Int32Array<ArrayBufferLike> = new Int32Array(1);

function reply(message: EspeakReply, transfer: Bun.Transferable[] = []): void {
  postMessage(message, transfer);
}

async function init(voice: string, abort: Int32Array): Promise<void> {
  abortFlag = abort;
  // Handing the bytes over is what keeps a compiled binary from waiting forever on a fetch.
  const data = await Bun.file(dataPath).arrayBuffer();
  const module = await createESpeakModule({
    getPreloadedPackage: () => data,
    print: () => {},
    printErr: (text) => reply({ type: "log", text }),
  });
  const candidate = new module.eSpeakNGWorker();
  const status = candidate.set_voice(voice);
  if (status === VOICE_NOT_FOUND) {
    throw new Error(`unknown eSpeak-NG voice "${voice}"; use a voice name such as fr, fr-be, fr-ch, en-us or pt-br`);
  }
  if (status !== 0) throw new Error(`eSpeak-NG could not load voice "${voice}" (status ${status})`);
  engine = candidate;
  reply({ type: "ready", sampleRate: candidate.samplerate });
}

function synthesize(id: number, text: string): void {
  if (!engine) throw new Error("eSpeak-NG is not initialised");
  if (Atomics.load(abortFlag, 0) === id) return;
  engine.synthesize(text, (audio) => {
    if (audio.length > 0) reply({ type: "chunk", id, pcm: audio }, [audio.buffer as ArrayBuffer]);
    return Atomics.load(abortFlag, 0) === id;
  });
}

addEventListener("message", (event: MessageEvent<EspeakRequest>) => {
  const request = event.data;
  if (request.type === "init") {
    init(request.voice, request.abort).catch((error: unknown) => {
      reply({ type: "failed", error: error instanceof Error ? error.message : String(error) });
    });
    return;
  }
  try {
    synthesize(request.id, request.text);
    reply({ type: "done", id: request.id });
  } catch (error) {
    reply({ type: "error", id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
