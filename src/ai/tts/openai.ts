/**
 * OpenAI text-to-speech, streamed: `response_format: "pcm"` is raw 24 kHz s16le mono, so every body
 * chunk becomes samples at once and the first audio can play while the rest still downloads.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type { Logger } from "../../log.ts";
import type { TextToSpeech } from "./types.ts";
import { isRetryableStatus } from "../provider-error.ts";
import { errorText, readPcmBody, splitForSpeech, TtsError } from "./pcm-body.ts";

const SAMPLE_RATE = 24_000;
/** The Speech API's input limit, in characters. */
const MAX_INPUT_CHARS = 4096;

export interface OpenAiTtsOptions {
  apiKey: string;
  /** e.g. "http://127.0.0.1:PORT/v1"; null = the SDK default (OPENAI_BASE_URL or api.openai.com). */
  baseUrl: string | null;
  /** tts-1, tts-1-hd, gpt-4o-mini-tts… */
  model: string;
  voice: string;
  /** Tone and style; sent only to models that take it (not tts-1*). */
  instructions?: string;
  /** Longest wait for the response headers, and for each next body chunk (a stall). */
  timeoutMs: number;
  log: Logger;
}

class OpenAiTts implements TextToSpeech {
  readonly sampleRate = SAMPLE_RATE;
  readonly voiceId: string;
  private readonly client: OpenAI;
  private readonly instructions: string | undefined;

  constructor(
    options: OpenAiTtsOptions,
    private readonly model: string,
    private readonly voice: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.voiceId = openAiVoiceId(model, voice);
    // Retries are ours (withTtsRetries): the SDK's would repeat audio already played.
    this.client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseUrl ?? undefined, maxRetries: 0 });
    const takesInstructions = !model.startsWith("tts-1");
    this.instructions = takesInstructions && options.instructions ? options.instructions : undefined;
  }

  async *synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    if (typeof text !== "string") throw new TypeError(`${this.voiceId}: text to synthesize must be a string, got ${typeof text}`);
    for (const piece of splitForSpeech(text, MAX_INPUT_CHARS)) {
      signal?.throwIfAborted();
      yield* this.speak(piece, signal);
    }
  }

  async close(): Promise<void> {}

  private async *speak(input: string, signal: AbortSignal | undefined): AsyncGenerator<Int16Array> {
    const started = performance.now();
    const response = await this.request(input, signal);
    if (!response.body) throw new TtsError(this.voiceId, `HTTP ${response.status} with no body`, response.status, true);
    yield* readPcmBody(response.body, { voiceId: this.voiceId, timeoutMs: this.timeoutMs, signal, log: this.log, started, chars: input.length });
  }

  private async request(input: string, signal: AbortSignal | undefined): Promise<Response> {
    try {
      return await this.client.audio.speech.create(
        {
          model: this.model,
          voice: this.voice,
          input,
          response_format: "pcm",
          ...(this.instructions === undefined ? {} : { instructions: this.instructions }),
        },
        { signal, timeout: this.timeoutMs },
      );
    } catch (error) {
      signal?.throwIfAborted();
      throw this.toTtsError(error);
    }
  }

  private toTtsError(error: unknown): TtsError {
    if (error instanceof APIConnectionTimeoutError) {
      return new TtsError(this.voiceId, `no response within ${this.timeoutMs} ms`, null, true);
    }
    if (error instanceof APIConnectionError) {
      return new TtsError(this.voiceId, `cannot reach ${this.client.baseURL}: ${errorText(error)}`, null, true);
    }
    if (error instanceof APIError && typeof error.status === "number") {
      const status = error.status;
      const body: unknown = error.error;
      const vendor = typeof body === "object" && body !== null && "message" in body && typeof body.message === "string"
        ? body.message
        : error.message;
      return new TtsError(this.voiceId, `HTTP ${status}: ${vendor}`, status, isRetryableStatus(status));
    }
    return new TtsError(this.voiceId, `request failed: ${errorText(error)}`, null, false);
  }
}

function requireText(name: string, value: unknown, allowed: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new Error(`OpenAI TTS: ${name} ${JSON.stringify(value ?? null)} is not allowed; use ${allowed}`);
  }
  return value;
}

/** Checks the options and makes the client; nothing is sent until the first synthesize(). */
/** The phrase cache keys files on it: a model or voice change re-renders the phrases. */
export function openAiVoiceId(model: string, voice: string): string {
  return `openai:${model}:${voice}`;
}

export function createOpenAiTts(options: OpenAiTtsOptions): TextToSpeech {
  requireText("apiKey", options.apiKey, "a non-empty key");
  const model = requireText("model", options.model, "a model name such as gpt-4o-mini-tts or tts-1");
  const voice = requireText("voice", options.voice, "a voice name such as nova or alloy");
  if (options.baseUrl !== null && !/^https?:\/\/\S+$/.test(String(options.baseUrl))) {
    throw new Error(`OpenAI TTS: baseUrl ${JSON.stringify(options.baseUrl)} is not allowed; use an http(s) URL such as http://127.0.0.1:8080/v1, or null`);
  }
  const timeoutMs = options.timeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new Error(`OpenAI TTS: timeoutMs ${String(timeoutMs)} is not allowed; use a whole number of milliseconds ≥ 1`);
  }
  return new OpenAiTts(options, model, voice, timeoutMs, options.log);
}
