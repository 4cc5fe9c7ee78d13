/**
 * Google Cloud Text-to-Speech through the official client (gRPC). Chirp 3 HD voices stream
 * (StreamingSynthesize: headerless PCM as it is produced); other voices (Neural2, WaveNet…) are
 * synthesized sentence by sentence (SynthesizeSpeech: LINEAR16 in a WAV, whose header is parsed
 * off). Both produce the call's own rate (sampleRateHertz): `atRate` gives the voice at that rate,
 * and a call's speech is never resampled.
 *
 * The client is imported from its v1 module, not the package index: the index also loads the
 * 5 MB static protobuf module, which `bun build --compile --bytecode` cannot compile (it aborts).
 */
import { TextToSpeechClient } from "@google-cloud/text-to-speech/build/src/v1/text_to_speech_client";
import type { Logger } from "../../log.ts";
import { googleClientOptions, grpcFailure, type GoogleEndpoint } from "../google-grpc.ts";
import { errorText, readPcmBody, splitForSpeech, TtsError } from "./pcm-body.ts";
import type { TextToSpeech } from "./types.ts";
import { pcmFromWav } from "./wav-body.ts";
import { VoiceRates } from "./voice-rates.ts";

/** The rate the phrase cache renders at (Chirp 3 HD's own rate). */
const DEFAULT_RATE = 24_000;
/** The lowest and highest sampleRateHertz asked for: the telephone rates up to studio rate. */
const MIN_RATE = 8000;
const MAX_RATE = 48_000;
/** Google's limit is 5000 bytes of input: 1200 characters stay under it even at 4 bytes each. */
const MAX_INPUT_CHARS = 1200;

export interface GoogleTtsOptions extends GoogleEndpoint {
  /** A voice name, which carries its language: fr-FR-Chirp3-HD-Aoede, en-US-Neural2-F… */
  voice: string;
  /** Longest wait for the first audio, and for each next chunk (a stall). */
  timeoutMs: number;
  log: Logger;
}

/** The phrase cache keys files on it: a voice change re-renders the phrases (the rate is not part of it). */
export function googleVoiceId(voice: string): string {
  return `google:${voice}`;
}

/** Chirp 3 HD voices are the ones StreamingSynthesize serves. */
export function streamsVoice(voice: string): boolean {
  return /-Chirp3-HD-/i.test(voice);
}

/** The voice's language: the name's first two parts, e.g. fr-FR of fr-FR-Chirp3-HD-Aoede. */
function languageOf(voice: string): string {
  return voice.split("-").slice(0, 2).join("-");
}

interface StreamingResponse {
  audioContent?: Uint8Array | null;
}

class GoogleTts implements TextToSpeech {
  readonly voiceId: string;
  private readonly rates: VoiceRates<GoogleTts>;
  private readonly voiceParams: { name: string; languageCode: string };

  constructor(
    private readonly client: TextToSpeechClient,
    private readonly o: GoogleTtsOptions,
    readonly sampleRate: number,
    rates?: VoiceRates<GoogleTts>,
  ) {
    this.voiceId = googleVoiceId(o.voice);
    this.rates = rates ?? VoiceRates.of<GoogleTts>(sampleRate, this);
    this.voiceParams = { name: o.voice, languageCode: languageOf(o.voice) };
  }

  atRate(rate: number): TextToSpeech {
    if (!Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) return this;
    return this.rates.at(rate, () => new GoogleTts(this.client, this.o, rate, this.rates));
  }

  async *synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    if (typeof text !== "string") throw new TypeError(`${this.voiceId}: text to synthesize must be a string, got ${typeof text}`);
    for (const piece of splitForSpeech(text, MAX_INPUT_CHARS)) {
      signal?.throwIfAborted();
      if (streamsVoice(this.o.voice)) yield* this.streamed(piece, signal);
      else yield* this.whole(piece, signal);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** StreamingSynthesize: the config, the text, then the PCM as Google produces it. */
  private async *streamed(text: string, signal: AbortSignal | undefined): AsyncGenerator<Int16Array> {
    const started = performance.now();
    // Retries are ours (withTtsRetries): the client's would repeat audio already played.
    const call = this.client.streamingSynthesize({ retry: null });
    let failure: TtsError | null = null;
    // The client's stream may emit "end" after "error", and errors after our own cancel: the body settles once.
    let settled = false;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        call.on("data", (message: StreamingResponse) => {
          const audio = message.audioContent;
          if (!settled && audio && audio.length > 0) controller.enqueue(audio);
        });
        call.on("end", () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        call.on("error", (error: unknown) => {
          if (settled) return;
          settled = true;
          failure = this.toTtsError(error);
          controller.error(failure);
        });
      },
      cancel: () => {
        settled = true;
        call.cancel();
      },
    });
    call.write({ streamingConfig: { voice: this.voiceParams, streamingAudioConfig: { audioEncoding: "PCM", sampleRateHertz: this.sampleRate } } });
    call.write({ input: { text } });
    call.end();
    try {
      yield* readPcmBody(body, { voiceId: this.voiceId, timeoutMs: this.o.timeoutMs, signal, log: this.o.log, started, chars: text.length });
    } catch (error) {
      signal?.throwIfAborted();
      // The gRPC status says more than "the stream broke" (a refused key is not worth a retry).
      throw failure ?? error;
    }
  }

  /** SynthesizeSpeech: the whole sentence at once, in a WAV whose header is parsed off. */
  private async *whole(text: string, signal: AbortSignal | undefined): AsyncGenerator<Int16Array> {
    const started = performance.now();
    const request = this.client.synthesizeSpeech(
      { input: { text }, voice: this.voiceParams, audioConfig: { audioEncoding: "LINEAR16", sampleRateHertz: this.sampleRate } },
      { timeout: this.o.timeoutMs, retry: null },
    );
    let onAbort = (): void => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    let audio: Uint8Array;
    try {
      const [response] = await Promise.race([request, aborted]);
      const content = response.audioContent;
      if (!(content instanceof Uint8Array) || content.length === 0) throw new TtsError(this.voiceId, "a response with no audio", null, true);
      audio = content;
    } catch (error) {
      signal?.throwIfAborted();
      throw this.toTtsError(error);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      request.catch(() => undefined);
    }
    let data: Uint8Array;
    try {
      data = pcmFromWav(audio, this.sampleRate).data;
    } catch (error) {
      throw new TtsError(this.voiceId, `unusable audio: ${errorText(error)}`, null, false);
    }
    const pcm = new Int16Array(data.length >> 1);
    new Uint8Array(pcm.buffer).set(data.subarray(0, pcm.length * 2));
    this.o.log.debug("TTS done", { chars: text.length, samples: pcm.length, ms: Math.round(performance.now() - started) });
    if (pcm.length > 0) yield pcm;
  }

  private toTtsError(error: unknown): TtsError {
    if (error instanceof TtsError) return error;
    const failure = grpcFailure(error);
    if (failure.status === 504) return new TtsError(this.voiceId, `no response within ${this.o.timeoutMs} ms (${failure.message})`, failure.status, true);
    return new TtsError(this.voiceId, failure.message, failure.status, failure.retryable);
  }
}

/** Checks the options and makes the client; nothing is sent until the first synthesize(). */
export function createGoogleTts(options: GoogleTtsOptions): TextToSpeech {
  if (!/^[a-z]{2,3}-[A-Z]{2}-[A-Za-z0-9-]+$/.test(options.voice)) {
    throw new Error(`Google TTS: voice ${JSON.stringify(options.voice)} is not allowed; use a voice name such as fr-FR-Chirp3-HD-Aoede`);
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) {
    throw new Error(`Google TTS: timeoutMs ${String(options.timeoutMs)} is not allowed; use a whole number of milliseconds ≥ 1`);
  }
  const client = new TextToSpeechClient(googleClientOptions(options));
  return new GoogleTts(client, options, DEFAULT_RATE);
}
