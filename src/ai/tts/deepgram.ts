/**
 * Deepgram Aura text-to-speech through the official `@deepgram/sdk` (`speak.v1.audio.generate`):
 * `encoding=linear16`, `container=none` is raw s16le mono at the asked `sample_rate`, streamed, so
 * each body chunk becomes samples at once. Aura produces the call's own rate (8, 16, 24, 32 or
 * 48 kHz): `atRate` gives the voice at that rate, and a call's speech is never resampled.
 */
import { DeepgramClient, DeepgramError } from "@deepgram/sdk";
import type { Logger } from "../../log.ts";
import { isRetryableStatus } from "../provider-error.ts";
import { errorText, readPcmBody, splitForSpeech, TtsError } from "./pcm-body.ts";
import type { TextToSpeech } from "./types.ts";
import { VoiceRates } from "./voice-rates.ts";

/** Aura's default linear16 rate, and the rate the phrase cache renders at. */
const DEFAULT_RATE = 24_000;
/** The rates Aura's linear16 output takes. */
export const AURA_RATES: readonly number[] = [8000, 16000, 24000, 32000, 48000];
/** The speak endpoint's input limit, in characters. */
const MAX_INPUT_CHARS = 2000;
const DEFAULT_BASE_URL = "https://api.deepgram.com";

export interface DeepgramTtsOptions {
  apiKey: string;
  /** DEEPGRAM_BASE_URL, http(s) or ws(s) (the recognizer's form): the host both share; null = Deepgram's. */
  baseUrl: string | null;
  /** An Aura model, which names the voice: aura-2-agathe-fr, aura-2-thalia-en… */
  voice: string;
  /** Longest wait for the response headers, and for each next body chunk (a stall). */
  timeoutMs: number;
  log: Logger;
}

/** The phrase cache keys files on it: a voice change re-renders the phrases (the rate is not part of it). */
export function deepgramVoiceId(voice: string): string {
  return `deepgram:${voice}`;
}

class DeepgramTts implements TextToSpeech {
  readonly voiceId: string;
  private readonly rates: VoiceRates<DeepgramTts>;

  constructor(
    private readonly client: DeepgramClient,
    private readonly o: DeepgramTtsOptions,
    readonly sampleRate: number,
    rates?: VoiceRates<DeepgramTts>,
  ) {
    this.voiceId = deepgramVoiceId(o.voice);
    this.rates = rates ?? VoiceRates.of<DeepgramTts>(sampleRate, this);
  }

  atRate(rate: number): TextToSpeech {
    if (!AURA_RATES.includes(rate)) return this;
    return this.rates.at(rate, () => new DeepgramTts(this.client, this.o, rate, this.rates));
  }

  async *synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    if (typeof text !== "string") throw new TypeError(`${this.voiceId}: text to synthesize must be a string, got ${typeof text}`);
    for (const piece of splitForSpeech(text, MAX_INPUT_CHARS)) {
      signal?.throwIfAborted();
      const started = performance.now();
      const body = await this.request(piece, signal);
      yield* readPcmBody(body, { voiceId: this.voiceId, timeoutMs: this.o.timeoutMs, signal, log: this.o.log, started, chars: piece.length });
    }
  }

  async close(): Promise<void> {}

  /**
   * The response body once its headers are in. The header deadline is ours: under Bun the SDK's own
   * timeout surfaces as an unnamed "timeout" failure, indistinguishable from a broken connection.
   */
  private async request(text: string, signal: AbortSignal | undefined): Promise<ReadableStream<Uint8Array>> {
    const headers = new AbortController();
    const onAbort = (): void => headers.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let late = false;
    const deadline = setTimeout(() => {
      late = true;
      headers.abort(new Error("no response headers in time"));
    }, this.o.timeoutMs);
    try {
      const response = await this.client.speak.v1.audio.generate(
        { text, model: this.o.voice, encoding: "linear16", container: "none", sample_rate: this.sampleRate },
        // Retries are ours (withTtsRetries): the SDK's would repeat audio already played.
        { abortSignal: headers.signal, maxRetries: 0 },
      );
      const body = response.stream();
      if (!body) throw new TtsError(this.voiceId, "a response with no body", null, true);
      return body;
    } catch (error) {
      signal?.throwIfAborted();
      if (late) throw new TtsError(this.voiceId, `no response within ${this.o.timeoutMs} ms`, null, true);
      throw this.toTtsError(error);
    } finally {
      clearTimeout(deadline);
      // From here readPcmBody ends the body on the caller's abort.
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private toTtsError(error: unknown): TtsError {
    if (error instanceof TtsError) return error;
    if (error instanceof DeepgramError && typeof error.statusCode === "number") {
      const status = error.statusCode;
      return new TtsError(this.voiceId, `HTTP ${status}: ${vendorMessage(error.body) ?? error.message}`, status, isRetryableStatus(status));
    }
    if (error instanceof DeepgramError) return new TtsError(this.voiceId, `cannot reach Deepgram: ${errorText(error)}`, null, true);
    return new TtsError(this.voiceId, `request failed: ${errorText(error)}`, null, false);
  }
}

/** Deepgram's error body: {err_code, err_msg, request_id}. */
function vendorMessage(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return null;
  const { err_msg: message, err_code: code } = body as { err_msg?: unknown; err_code?: unknown };
  if (typeof message !== "string") return null;
  return typeof code === "string" ? `${message} (${code})` : message;
}

/** The REST host for a base URL given in either form (the recognizer takes ws(s)://). */
function restBase(baseUrl: string | null): string {
  if (baseUrl === null) return DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`Deepgram TTS: base URL ${JSON.stringify(baseUrl)} is not a URL; expected e.g. https://api.deepgram.com or http://127.0.0.1:8080`);
  }
  const schemes: Record<string, string> = { "http:": "http:", "https:": "https:", "ws:": "http:", "wss:": "https:" };
  const scheme = schemes[url.protocol];
  if (scheme === undefined) throw new Error(`Deepgram TTS: base URL ${JSON.stringify(baseUrl)} has scheme ${url.protocol}; allowed: http, https, ws, wss`);
  return `${scheme}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

/** Checks the options and makes the client; nothing is sent until the first synthesize(). */
export function createDeepgramTts(options: DeepgramTtsOptions): TextToSpeech {
  if (typeof options.apiKey !== "string" || options.apiKey.trim() === "") throw new Error("Deepgram TTS: the API key is empty (set DEEPGRAM_API_KEY)");
  if (!/^aura-[A-Za-z0-9._-]+$/.test(options.voice)) {
    throw new Error(`Deepgram TTS: voice ${JSON.stringify(options.voice)} is not allowed; use an Aura model such as aura-2-agathe-fr`);
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) {
    throw new Error(`Deepgram TTS: timeoutMs ${String(options.timeoutMs)} is not allowed; use a whole number of milliseconds ≥ 1`);
  }
  const client = new DeepgramClient({ apiKey: options.apiKey, baseUrl: restBase(options.baseUrl), maxRetries: 0 });
  return new DeepgramTts(client, options, DEFAULT_RATE);
}
