/**
 * The offline voice: eSpeak-NG (WASM) in one worker. Requests queue in the worker and run one at a
 * time; chunks stream back as eSpeak produces them. Aborting stores the request id in shared memory,
 * which eSpeak's audio callback reads, so even a request already being synthesized stops early.
 */
import type { Logger } from "../../log.ts";
import type { TextToSpeech } from "./types.ts";
import type { EspeakReply, EspeakRequest } from "./espeak-worker.ts";

const VOICES: Readonly<Record<string, string>> = { "fr-fr": "fr", "en-us": "en-us", "pt-br": "pt-br" };

/** The eSpeak-NG voice for a LANGUAGE value ("fr-FR" -> "fr"). */
export function espeakVoiceFor(language: string): string {
  const voice = VOICES[String(language).toLowerCase()];
  if (voice === undefined) {
    throw new Error(`no eSpeak-NG voice for language "${language}"; supported: fr-FR, en-US, pt-BR`);
  }
  return voice;
}

export interface EspeakTtsOptions {
  voice: string;
  log: Logger;
}

interface Request {
  readonly chunks: Int16Array[];
  done: boolean;
  error: Error | null;
  wake: (() => void) | null;
}

class EspeakTts implements TextToSpeech {
  readonly voiceId: string;
  private readonly requests = new Map<number, Request>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly abortFlag: Int32Array,
    readonly sampleRate: number,
    voice: string,
    private readonly log: Logger,
  ) {
    this.voiceId = `espeak-ng:${voice}`;
    worker.addEventListener("message", (event: MessageEvent<EspeakReply>) => this.receive(event.data));
    worker.addEventListener("error", (event: ErrorEvent) => {
      this.log.error("eSpeak-NG worker crashed", { error: event.message });
      this.fail(new Error(`eSpeak-NG worker crashed: ${event.message}`));
    });
    worker.unref();
  }

  async *synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    if (typeof text !== "string") throw new TypeError("eSpeak-NG: text to synthesize must be a string");
    if (this.failure) throw this.failure;
    if (text.trim() === "" || signal?.aborted) return;
    const id = this.nextId++;
    const request: Request = { chunks: [], done: false, error: null, wake: null };
    if (this.requests.size === 0) this.worker.ref();
    this.requests.set(id, request);
    const onAbort = (): void => {
      Atomics.store(this.abortFlag, 0, id);
      request.wake?.();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.worker.postMessage({ type: "synth", id, text } satisfies EspeakRequest);
    try {
      for (;;) {
        if (signal?.aborted) return;
        const chunk = request.chunks.shift();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (request.error) throw request.error;
        if (request.done) return;
        await new Promise<void>((resolve) => (request.wake = resolve));
        request.wake = null;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // The consumer stopped early (abort or break): let the worker skip the rest.
      if (!request.done) Atomics.store(this.abortFlag, 0, id);
      this.forget(id);
    }
  }

  async close(): Promise<void> {
    this.fail(new Error("eSpeak-NG TTS is closed"));
    this.worker.terminate();
  }

  private receive(message: EspeakReply): void {
    if (message.type === "log") {
      this.log.warn("eSpeak-NG message", { text: message.text });
      return;
    }
    if (message.type === "ready" || message.type === "failed") return;
    const request = this.requests.get(message.id);
    if (!request) return;
    if (message.type === "chunk") request.chunks.push(message.pcm);
    else if (message.type === "done") request.done = true;
    else request.error = new Error(`eSpeak-NG: ${message.error}`);
    request.wake?.();
  }

  private forget(id: number): void {
    this.requests.delete(id);
    if (this.requests.size === 0) this.worker.unref();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const request of this.requests.values()) {
      request.error = error;
      request.wake?.();
    }
  }
}

/** Starts one eSpeak-NG worker and resolves once `voice` is loaded (an unknown voice rejects). */
export async function createEspeakTts(options: EspeakTtsOptions): Promise<TextToSpeech> {
  const { voice, log } = options;
  if (typeof voice !== "string" || voice.trim() === "") {
    throw new Error(`eSpeak-NG voice "${String(voice)}" is not allowed; use a voice name such as fr, en-us or pt-br`);
  }
  const started = performance.now();
  const worker = new Worker(new URL("./espeak-worker.ts", import.meta.url));
  const abortFlag = new Int32Array(new SharedArrayBuffer(4));
  try {
    const sampleRate = await new Promise<number>((resolve, reject) => {
      const onMessage = (event: MessageEvent<EspeakReply>): void => {
        const message = event.data;
        if (message.type === "ready") resolve(message.sampleRate);
        else if (message.type === "failed") reject(new Error(message.error));
        else return;
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
      };
      const onError = (event: ErrorEvent): void => reject(new Error(`eSpeak-NG worker failed to start: ${event.message}`));
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onError);
      worker.postMessage({ type: "init", voice, abort: abortFlag } satisfies EspeakRequest);
    });
    log.info("eSpeak-NG voice loaded", { voice, sampleRate, ms: Math.round(performance.now() - started) });
    return new EspeakTts(worker, abortFlag, sampleRate, voice, log);
  } catch (error) {
    worker.terminate();
    throw error;
  }
}
