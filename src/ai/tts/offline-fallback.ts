/**
 * The cloud voice with the offline voice behind it, so a slow or failing TTS provider never leaves
 * the caller in silence. Per sentence (one `synthesize`):
 *
 * - The cloud voice must give its first audio within `deadlineMs`, and no later gap may last
 *   longer. A miss, or any error (after the cloud voice's own retries), cuts the request and the
 *   offline voice says the whole sentence instead, in the same stream: part of a sentence heard in
 *   one voice is said again, whole, in the other, so the caller loses no words.
 * - A cloud voice whose circuit breaker is open is not asked: the offline voice speaks at once.
 *   Every outcome goes to the breaker (a missed deadline is a failure).
 * - The offline voice has its own rate (eSpeak-NG: 22050 Hz); its audio is resampled to the cloud
 *   voice's rate, which is what this voice reports, through the caller's resampler (the worker pool).
 *
 * It keeps the cloud voice's id: the phrase cache must be rendered by the cloud voice alone (see
 * selectTts), never through this fallback.
 */
import type { Logger } from "../../log.ts";
import { callFields } from "../call-context.ts";
import type { CircuitBreaker } from "../circuit-breaker.ts";
import { DEADLINE_MISSED, withinDeadline } from "../deadline.ts";
import { TtsError } from "./pcm-body.ts";
import type { TextToSpeech } from "./types.ts";
import { VoiceRates } from "./voice-rates.ts";

/** What this needs of the resampler pool (media/resampler.ts), without importing media. */
export interface PcmResampling {
  openStream(fromRate: number, toRate: number): Promise<{
    push(chunk: Int16Array): Promise<Int16Array>;
    end(): Promise<Int16Array>;
    close(): void;
  }>;
}

export interface OfflineFallbackOptions {
  cloud: TextToSpeech;
  offline: TextToSpeech;
  resampler: PcmResampling;
  /** TTS_FIRST_BYTE_TIMEOUT: the first audio's deadline, and the longest gap after it. */
  deadlineMs: number;
  breaker: CircuitBreaker | null;
  log: Logger;
  /** A sentence given to the offline voice: the reason is "deadline", "stalled", "error" or "circuit-open". */
  onFallback?: (from: string, to: string, reason: string) => void;
  /** A missed deadline, as a provider error (the cloud voice reports its own HTTP errors). */
  onError?: (provider: string, error: unknown) => void;
}

class OfflineFallbackTts implements TextToSpeech {
  readonly voiceId: string;
  readonly sampleRate: number;
  /** The cloud voice at other rates, each with the offline voice resampled to that rate behind it. */
  private readonly rates = new VoiceRates<OfflineFallbackTts>();

  constructor(private readonly o: OfflineFallbackOptions) {
    if (!Number.isInteger(o.deadlineMs) || o.deadlineMs <= 0) {
      throw new Error(`TTS fallback: deadlineMs ${o.deadlineMs} is invalid; a positive integer number of milliseconds is allowed`);
    }
    this.voiceId = o.cloud.voiceId;
    this.sampleRate = o.cloud.sampleRate;
  }

  atRate(rate: number): TextToSpeech {
    const cloud = this.o.cloud.atRate?.(rate) ?? this.o.cloud;
    if (cloud === this.o.cloud) return this;
    return this.rates.at(rate, () => new OfflineFallbackTts({ ...this.o, cloud }));
  }

  async *synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    const { cloud, breaker, log } = this.o;
    if (breaker !== null && !breaker.allow()) {
      log.warn("TTS skipped: its circuit is open; the offline voice speaks", { ...callFields(), voice: cloud.voiceId, chars: text.length });
      this.o.onFallback?.(cloud.voiceId, this.o.offline.voiceId, "circuit-open");
      yield* this.offline(text, signal);
      return;
    }
    const why = yield* this.cloud(text, signal);
    if (why === null) return;
    signal?.throwIfAborted();
    breaker?.failure(why.message);
    log.warn("TTS fell back to the offline voice", { ...callFields(), voice: cloud.voiceId, reason: why.reason, error: why.message, chars: text.length });
    this.o.onFallback?.(cloud.voiceId, this.o.offline.voiceId, why.reason);
    yield* this.offline(text, signal);
  }

  async close(): Promise<void> {
    await Promise.all([this.o.cloud.close(), this.o.offline.close()]);
  }

  /** Streams the cloud voice's audio; returns null when it is all there, else why it was cut. */
  private async *cloud(text: string, signal: AbortSignal | undefined): AsyncGenerator<Int16Array, { reason: string; message: string } | null> {
    const { cloud, deadlineMs } = this.o;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const iterator = cloud.synthesize(text, controller.signal)[Symbol.asyncIterator]();
    let chunks = 0;
    let complete = false;
    let failed = false;
    try {
      for (;;) {
        const next = await withinDeadline(iterator.next(), deadlineMs);
        if (next === DEADLINE_MISSED) {
          failed = true;
          const message = chunks === 0 ? `no audio within ${deadlineMs} ms` : `audio stalled for ${deadlineMs} ms mid-sentence`;
          this.o.onError?.(cloud.voiceId, new TtsError(cloud.voiceId, message, null, true));
          return { reason: chunks === 0 ? "deadline" : "stalled", message };
        }
        if (next.done) {
          complete = true;
          this.o.breaker?.success();
          return null;
        }
        chunks++;
        yield next.value;
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      failed = true;
      return { reason: "error", message: error instanceof Error ? error.message : String(error) };
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!complete) {
        // Cut by the caller (barge-in, hang-up) after audio came, not failed: said to the breaker, else a
        // half-open trial cut this way would keep the cloud voice out for another cool-down.
        if (!failed && chunks > 0) this.o.breaker?.success();
        controller.abort(new DOMException("cloud voice cut", "AbortError"));
        iterator.return?.().catch(() => undefined);
      }
    }
  }

  /** The offline voice's audio at the cloud voice's rate. */
  private async *offline(text: string, signal: AbortSignal | undefined): AsyncGenerator<Int16Array> {
    const { offline, resampler } = this.o;
    let stream: Awaited<ReturnType<PcmResampling["openStream"]>> | null = null;
    try {
      for await (const chunk of offline.synthesize(text, signal)) {
        // Asked only now: a voice still starting reports its rate once loaded.
        if (offline.sampleRate === this.sampleRate) {
          yield chunk;
          continue;
        }
        stream ??= await resampler.openStream(offline.sampleRate, this.sampleRate);
        const out = await stream.push(chunk);
        if (out.length > 0) yield out;
      }
      const tail = await stream?.end();
      if (tail && tail.length > 0) yield tail;
    } finally {
      stream?.close();
    }
  }
}

export function withOfflineFallback(options: OfflineFallbackOptions): TextToSpeech {
  return new OfflineFallbackTts(options);
}
