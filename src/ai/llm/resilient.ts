/**
 * One LanguageModel over a primary provider and an optional fallback, so a slow or failing vendor
 * costs the caller a short pause instead of the turn. The policy, per `stream()` call (one turn):
 *
 * - Time to first token: while the other provider is usable and no TTFT switch happened yet in this
 *   turn, a try that yields no chunk (text or tool call) within `ttftTimeoutMs` is aborted and the
 *   same request goes to the other provider. At most one such switch per turn, so two slow vendors
 *   cannot ping-pong; after it (or with no fallback) the provider's own timeout bounds the wait.
 * - A retryable LlmError before the first chunk: retry, up to `retryAttempts` times, alternating
 *   between the providers when both are usable. A retry on the same provider waits a backoff
 *   (`backoffMs`, doubled per such retry, capped at 2 s); moving to the other provider does not wait,
 *   because the other vendor is not the one that is overloaded.
 * - A non-retryable error (400/401/403/404…) marks that provider unusable for this turn. If the other
 *   one is still usable it gets the request once without spending the retry budget: a revoked Groq
 *   key should not cost a turn when OpenAI works. Otherwise the error is thrown.
 * - Any error after the first chunk is thrown as is: the caller already spoke part of the reply.
 * - The caller's signal aborts everything (the try in flight, the TTFT timer, the backoff sleep)
 *   and its reason is thrown, never an LlmError.
 *
 * Counters: `switches` = moves to the other provider (TTFT, error, or an alternating retry);
 * `retries` = tries spent from the retry budget; `failures` = turns that ended with an error.
 */
import type { Logger } from "../../log.ts";
import { LlmError, type ChatChunk, type ChatRequest, type LanguageModel } from "./types.ts";
import { backoff } from "../backoff.ts";

export interface ResilientLlmOptions {
  primary: LanguageModel;
  fallback: LanguageModel | null;
  ttftTimeoutMs: number;
  retryAttempts: number;
  /** Base delay before a retry on the same provider; default 200 ms. */
  backoffMs?: number;
  log: Logger;
  onSwitch?: (from: string, to: string, why: string) => void;
  /** Every failed attempt, the provider's id and the error (retried or not). */
  onError?: (provider: string, error: unknown) => void;
}

export interface ResilientLlmStats {
  switches: number;
  retries: number;
  failures: number;
}

export type ResilientLanguageModel = LanguageModel & { readonly stats: Readonly<ResilientLlmStats> };

const DEFAULT_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2000;
const TTFT_EXPIRED = Symbol("ttft expired");

interface Attempt {
  readonly model: LanguageModel;
  readonly iterator: AsyncIterator<ChatChunk>;
  readonly controller: AbortController;
  /** Unlinks the attempt from the caller's signal. */
  release(): void;
}

export function createResilientLlm(options: ResilientLlmOptions): ResilientLanguageModel {
  const { primary, fallback, ttftTimeoutMs, retryAttempts, log } = options;
  const backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  if (!Number.isInteger(ttftTimeoutMs) || ttftTimeoutMs <= 0) {
    throw new Error(`resilient LLM: ttftTimeoutMs ${ttftTimeoutMs} is invalid; a positive integer number of milliseconds is allowed`);
  }
  if (!Number.isInteger(retryAttempts) || retryAttempts < 0) {
    throw new Error(`resilient LLM: retryAttempts ${retryAttempts} is invalid; an integer ≥ 0 is allowed`);
  }
  if (!Number.isFinite(backoffMs) || backoffMs < 0) {
    throw new Error(`resilient LLM: backoffMs ${backoffMs} is invalid; a number of milliseconds ≥ 0 is allowed`);
  }
  const stats: ResilientLlmStats = { switches: 0, retries: 0, failures: 0 };

  const otherOf = (model: LanguageModel): LanguageModel | null => (fallback === null ? null : model === primary ? fallback : primary);

  const switchTo = (from: LanguageModel, to: LanguageModel, why: string): void => {
    stats.switches++;
    log.warn("LLM switched", { from: from.id, to: to.id, why });
    options.onSwitch?.(from.id, to.id, why);
  };

  const fail = (error: unknown, model: LanguageModel): unknown => {
    stats.failures++;
    log.warn("LLM failed", { provider: model.id, error: error instanceof Error ? error.message : String(error) });
    return error;
  };

  async function* stream(request: ChatRequest): AsyncGenerator<ChatChunk, void, undefined> {
    const signal = request.signal;
    const unusable = new Set<LanguageModel>();
    let current = primary;
    let retriesLeft = retryAttempts;
    let sameProviderRetries = 0;
    let ttftSwitched = false;
    for (;;) {
      signal?.throwIfAborted();
      const other = otherOf(current);
      const usableOther = other !== null && !unusable.has(other) ? other : null;
      const ttftTarget = ttftSwitched ? null : usableOther;
      const attempt = startAttempt(current, request);
      let first: IteratorResult<ChatChunk> | typeof TTFT_EXPIRED;
      try {
        first = await firstResult(attempt, ttftTarget ? ttftTimeoutMs : null);
      } catch (error) {
        attempt.release();
        if (signal?.aborted) throw signal.reason;
        options.onError?.(current.id, error);
        const retryable = error instanceof LlmError && error.retryable;
        const describe = error instanceof Error ? error.message : String(error);
        if (!retryable) {
          unusable.add(current);
          if (!usableOther) throw fail(error, current);
          switchTo(current, usableOther, `error: ${describe}`);
          current = usableOther;
          continue;
        }
        if (retriesLeft === 0) throw fail(error, current);
        retriesLeft--;
        stats.retries++;
        if (usableOther) {
          log.warn("LLM retry", { provider: usableOther.id, after: describe, left: retriesLeft });
          switchTo(current, usableOther, `retry after: ${describe}`);
          current = usableOther;
          continue;
        }
        const delayMs = Math.min(backoffMs * 2 ** sameProviderRetries, MAX_BACKOFF_MS);
        sameProviderRetries++;
        log.warn("LLM retry", { provider: current.id, after: describe, delayMs, left: retriesLeft });
        await backoff(delayMs, signal);
        continue;
      }
      if (first === TTFT_EXPIRED) {
        attempt.release();
        ttftSwitched = true;
        if (ttftTarget) {
          switchTo(current, ttftTarget, `no first token within ${ttftTimeoutMs} ms`);
          current = ttftTarget;
        }
        continue;
      }
      yield* relay(attempt, first);
      return;
    }
  }

  /** Passes on the rest of a reply whose first chunk has arrived; no retry from here on. */
  async function* relay(attempt: Attempt, first: IteratorResult<ChatChunk>): AsyncGenerator<ChatChunk, void, undefined> {
    let complete = false;
    try {
      let result = first;
      while (!result.done) {
        yield result.value;
        result = await attempt.iterator.next();
      }
      complete = true;
    } catch (error) {
      const signal = attempt.controller.signal;
      if (signal.aborted) throw signal.reason;
      throw fail(error, attempt.model);
    } finally {
      attempt.release();
      if (!complete) {
        // The consumer stopped early or the stream failed: end the provider's request too.
        attempt.controller.abort();
        attempt.iterator.return?.().catch(() => undefined);
      }
    }
  }

  return { id: fallback ? `${primary.id}|${fallback.id}` : primary.id, stats, stream };
}

/** Starts one try on `model` with its own controller, aborted when the caller's signal aborts. */
function startAttempt(model: LanguageModel, request: ChatRequest): Attempt {
  const controller = new AbortController();
  const callerSignal = request.signal;
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  const iterator = model.stream({ ...request, signal: controller.signal })[Symbol.asyncIterator]();
  return { model, iterator, controller, release: () => callerSignal?.removeEventListener("abort", onCallerAbort) };
}

/** The first result, or TTFT_EXPIRED (with the try aborted) when `ttftMs` passes first. */
async function firstResult(attempt: Attempt, ttftMs: number | null): Promise<IteratorResult<ChatChunk> | typeof TTFT_EXPIRED> {
  const next = attempt.iterator.next();
  if (ttftMs === null) return next;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof TTFT_EXPIRED>((resolve) => {
    timer = setTimeout(resolve, ttftMs, TTFT_EXPIRED);
  });
  try {
    const winner = await Promise.race([next, expired]);
    if (winner === TTFT_EXPIRED) {
      // The abandoned try ends with the abort reason (or a late chunk): nobody waits for it.
      next.catch(() => undefined);
      attempt.controller.abort(new Error(`no first token within ${ttftMs} ms`));
    }
    return winner;
  } finally {
    clearTimeout(timer);
  }
}
