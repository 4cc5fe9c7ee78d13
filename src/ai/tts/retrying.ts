/**
 * Retries a TTS request that failed before it produced any audio. Once the caller has heard part of
 * a sentence a retry would say it again from the start, so a later failure is thrown instead.
 */
import type { Logger } from "../../log.ts";
import { TtsError } from "./pcm-body.ts";
import type { TextToSpeech } from "./types.ts";
import { backoff } from "../backoff.ts";
import { VoiceRates } from "./voice-rates.ts";

const DEFAULT_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

export interface TtsRetryOptions {
  /** Retries after the first failed try (API_RETRY_ATTEMPTS): 2 means up to 3 requests. */
  attempts: number;
  /** Wait before the first retry, doubled for each next one (capped at 5 s). Default 200. */
  backoffMs?: number;
  log: Logger;
  /** Every failed request, retried or not: the voice's id and the error. */
  onError?: (provider: string, error: unknown) => void;
}

export interface TtsRetryStats {
  /** Requests sent again after a retryable failure. */
  retries: number;
  /** synthesize() calls that ended in an error other than the caller's abort. */
  failures: number;
}


class RetryingTts implements TextToSpeech {
  readonly voiceId: string;
  readonly sampleRate: number;
  /** The same voice at other rates, sharing the stats. */
  private readonly rates = new VoiceRates<RetryingTts>();

  constructor(
    private readonly tts: TextToSpeech,
    private readonly attempts: number,
    private readonly backoffMs: number,
    private readonly log: Logger,
    private readonly onError: ((provider: string, error: unknown) => void) | undefined,
    readonly stats: TtsRetryStats = { retries: 0, failures: 0 },
  ) {
    this.voiceId = tts.voiceId;
    this.sampleRate = tts.sampleRate;
  }

  atRate(rate: number): TextToSpeech {
    const inner = this.tts.atRate?.(rate) ?? this.tts;
    if (inner === this.tts) return this;
    return this.rates.at(rate, () => new RetryingTts(inner, this.attempts, this.backoffMs, this.log, this.onError, this.stats));
  }

  async *synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    for (let retry = 0; ; retry++) {
      let heard = false;
      try {
        for await (const chunk of this.tts.synthesize(text, signal)) {
          heard = true;
          yield chunk;
        }
        return;
      } catch (error) {
        if (signal?.aborted) throw error;
        this.onError?.(this.voiceId, error);
        const retryable = error instanceof TtsError && error.retryable;
        if (!retryable || heard || retry >= this.attempts) {
          this.stats.failures++;
          throw error;
        }
        const waitMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** retry);
        this.stats.retries++;
        this.log.warn("TTS failed, retrying", { voice: this.voiceId, retry: retry + 1, of: this.attempts, waitMs, error: error.message });
        await backoff(waitMs, signal);
      }
    }
  }

  close(): Promise<void> {
    return this.tts.close();
  }
}

export function withTtsRetries(tts: TextToSpeech, options: TtsRetryOptions): TextToSpeech & { readonly stats: TtsRetryStats } {
  const { attempts, backoffMs = DEFAULT_BACKOFF_MS, log } = options;
  if (!Number.isInteger(attempts) || attempts < 0) {
    throw new Error(`TTS retries: attempts ${String(attempts)} is not allowed; use a whole number ≥ 0`);
  }
  if (!Number.isFinite(backoffMs) || backoffMs < 0) {
    throw new Error(`TTS retries: backoffMs ${String(backoffMs)} is not allowed; use a number of milliseconds ≥ 0`);
  }
  return new RetryingTts(tts, attempts, backoffMs, log, options.onError);
}
