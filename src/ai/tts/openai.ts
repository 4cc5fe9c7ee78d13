/**
 * OpenAI text-to-speech, streamed: `response_format: "pcm"` is raw 24 kHz s16le mono, so every body
 * chunk becomes samples at once and the first audio can play while the rest still downloads.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type { Logger } from "../../log.ts";
import type { TextToSpeech } from "./types.ts";
import { isRetryableStatus, ProviderError } from "../provider-error.ts";

const SAMPLE_RATE = 24_000;
/** The Speech API's input limit, in characters. */
const MAX_INPUT_CHARS = 4096;

/** A speech provider's failure, as the caller of `synthesize` sees it. */
export class TtsError extends ProviderError {
  override name = "TtsError";
}

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

const ignore = (): void => {};

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}

/**
 * Texts longer than the API's limit are split, preferably after a sentence end in the second half
 * of the allowed length, else at the last space, else hard (never between a surrogate pair), and
 * spoken one piece after another as one stream.
 */
function splitForSpeech(text: string): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > MAX_INPUT_CHARS) {
    const cut = cutIndex(rest);
    pieces.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== "") pieces.push(rest);
  return pieces;
}

function cutIndex(text: string): number {
  let space = -1;
  // A cut at a whitespace index i keeps text[0, i): at most MAX_INPUT_CHARS characters.
  for (let i = MAX_INPUT_CHARS; i > 0; i--) {
    if (!/\s/.test(text.charAt(i))) continue;
    if (i >= MAX_INPUT_CHARS / 2 && /[.!?…]["»”’)\]]*$/.test(text.slice(Math.max(0, i - 4), i))) return i;
    if (space < 0) space = i;
  }
  if (space > 0) return space;
  const high = text.charCodeAt(MAX_INPUT_CHARS - 1);
  return high >= 0xd800 && high <= 0xdbff ? MAX_INPUT_CHARS - 1 : MAX_INPUT_CHARS;
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
    for (const piece of splitForSpeech(text)) {
      signal?.throwIfAborted();
      yield* this.speak(piece, signal);
    }
  }

  async close(): Promise<void> {}

  private async *speak(input: string, signal: AbortSignal | undefined): AsyncGenerator<Int16Array> {
    const started = performance.now();
    const response = await this.request(input, signal);
    if (!response.body) throw new TtsError(this.voiceId, `HTTP ${response.status} with no body`, response.status, true);
    const reader = response.body.getReader();
    let reading = false;
    let stalled = false;
    let finished = false;
    // One timer per request, re-armed before each read; it counts only while a read is pending,
    // so a slow consumer is never mistaken for a stalled server.
    const stallTimer = setTimeout(() => {
      if (!reading) return;
      stalled = true;
      reader.cancel().catch(ignore);
    }, this.timeoutMs);
    const onAbort = (): void => void reader.cancel().catch(ignore);
    signal?.addEventListener("abort", onAbort, { once: true });
    let bytes = 0;
    let samples = 0;
    let firstByteMs = -1;
    let carry = -1;
    try {
      for (;;) {
        reading = true;
        stallTimer.refresh();
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await reader.read();
        } catch (error) {
          signal?.throwIfAborted();
          if (stalled) throw this.stallError(bytes);
          throw new TtsError(this.voiceId, `audio stream broke after ${bytes} bytes: ${errorText(error)}`, null, true);
        } finally {
          reading = false;
        }
        signal?.throwIfAborted();
        if (stalled) throw this.stallError(bytes);
        if (result.done) break;
        const chunk = result.value;
        if (chunk.length === 0) continue;
        if (firstByteMs < 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
        const pcm = this.toSamples(chunk, carry);
        carry = (chunk.length + (carry >= 0 ? 1 : 0)) % 2 === 1 ? (chunk[chunk.length - 1] as number) : -1;
        if (pcm) {
          samples += pcm.length;
          yield pcm;
        }
      }
      finished = true;
      if (carry >= 0) this.log.warn("TTS audio ended on half a sample; dropped it", { bytes });
      this.log.debug("TTS done", { chars: input.length, samples, firstByteMs: Math.round(firstByteMs), ms: Math.round(performance.now() - started) });
    } finally {
      clearTimeout(stallTimer);
      signal?.removeEventListener("abort", onAbort);
      // Aborted, stalled, failed or the consumer stopped early: let the connection go now.
      if (!finished) reader.cancel().catch(ignore);
    }
  }

  private stallError(bytes: number): TtsError {
    return new TtsError(this.voiceId, `no audio for ${this.timeoutMs} ms after ${bytes} bytes (stalled)`, null, true);
  }

  /**
   * The chunk's whole samples, with the odd byte left by the previous chunk in front, in a fresh
   * buffer the array owns (it may be transferred to a worker). Bun runs only on little-endian hosts.
   */
  private toSamples(chunk: Uint8Array, carry: number): Int16Array | null {
    const lead = carry >= 0 ? 1 : 0;
    const count = (chunk.length + lead) >> 1;
    if (count === 0) return null;
    const pcm = new Int16Array(count);
    const out = new Uint8Array(pcm.buffer);
    if (lead) out[0] = carry;
    out.set(chunk.subarray(0, count * 2 - lead), lead);
    return pcm;
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
