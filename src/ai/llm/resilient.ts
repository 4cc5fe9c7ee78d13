/**
 * One LanguageModel over a primary provider and an optional fallback, so a slow or failing vendor
 * costs the caller a short pause instead of the turn. The policy, per `stream()` call (one turn):
 *
 * - Time to first token: every try must yield a chunk (text or tool call) within `ttftTimeoutMs`.
 *   A try that misses it is aborted and its provider is out for this turn: the request goes to the
 *   other provider if it is still in, else the turn fails at once (the dialog asks the caller to
 *   repeat) rather than waiting for the provider's own timeout.
 * - After the first chunk, every gap between two chunks must stay under `chunkTimeoutMs`; a stall
 *   mid-reply aborts the request and throws, and the caller keeps what was already said.
 * - A retryable LlmError before the first chunk: retry, up to `retryAttempts` times, alternating
 *   between the providers when both are in. A retry on the same provider waits a backoff
 *   (`backoffMs`, doubled per such retry, capped at 2 s); moving to the other provider does not wait,
 *   because the other vendor is not the one that is overloaded.
 * - A non-retryable error (400/401/403/404…) puts that provider out for this turn. If the other
 *   one is still in it gets the request once without spending the retry budget: a revoked Groq
 *   key should not cost a turn when OpenAI works. Otherwise the error is thrown.
 * - Any error after the first chunk is thrown as is: the caller already heard part of the reply.
 * - With `breakers`, each provider's circuit breaker hears every outcome (a missed deadline is a
 *   failure), and a provider whose breaker is open is skipped without a try: the turn starts on the
 *   other one, or fails at once when both are open.
 * - The caller's signal aborts everything (the try in flight, the deadline timers, the backoff
 *   sleep) and its reason is thrown, never an LlmError.
 *
 * Counters: `switches` = moves to the other provider (deadline, error, open breaker, or an
 * alternating retry); `retries` = tries spent from the retry budget; `failures` = turns that ended
 * with an error.
 */
import type { Logger } from "../../log.ts";
import { callFields } from "../call-context.ts";
import type { CircuitBreaker, ProviderBreakers } from "../circuit-breaker.ts";
import { DEADLINE_MISSED, withinDeadline } from "../deadline.ts";
import { LlmError, type ChatChunk, type ChatRequest, type LanguageModel } from "./types.ts";
import { backoff } from "../backoff.ts";

export interface ResilientLlmOptions {
  primary: LanguageModel;
  fallback: LanguageModel | null;
  ttftTimeoutMs: number;
  /** Longest gap between two chunks once the reply has started; default `ttftTimeoutMs`. */
  chunkTimeoutMs?: number;
  retryAttempts: number;
  /** Base delay before a retry on the same provider; default 200 ms. */
  backoffMs?: number;
  log: Logger;
  /** Each provider's circuit breaker, by its id; null or absent = never skip a provider. */
  breakers?: ProviderBreakers | null;
  onSwitch?: (from: string, to: string, why: string) => void;
  /** Every failed attempt (missed deadlines included), the provider's id and the error. */
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

interface Attempt {
  readonly model: LanguageModel;
  readonly iterator: AsyncIterator<ChatChunk>;
  readonly controller: AbortController;
  /** Unlinks the attempt from the caller's signal. */
  release(): void;
}

function positiveMs(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`resilient LLM: ${name} ${value} is invalid; a positive integer number of milliseconds is allowed`);
  }
  return value;
}

export function createResilientLlm(options: ResilientLlmOptions): ResilientLanguageModel {
  const { primary, fallback, retryAttempts, log } = options;
  const ttftTimeoutMs = positiveMs("ttftTimeoutMs", options.ttftTimeoutMs);
  const chunkTimeoutMs = positiveMs("chunkTimeoutMs", options.chunkTimeoutMs ?? ttftTimeoutMs);
  const backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  if (!Number.isInteger(retryAttempts) || retryAttempts < 0) {
    throw new Error(`resilient LLM: retryAttempts ${retryAttempts} is invalid; an integer ≥ 0 is allowed`);
  }
  if (!Number.isFinite(backoffMs) || backoffMs < 0) {
    throw new Error(`resilient LLM: backoffMs ${backoffMs} is invalid; a number of milliseconds ≥ 0 is allowed`);
  }
  const stats: ResilientLlmStats = { switches: 0, retries: 0, failures: 0 };
  const breakerOf = (model: LanguageModel): CircuitBreaker | null => options.breakers?.for(model.id) ?? null;

  const otherOf = (model: LanguageModel): LanguageModel | null => (fallback === null ? null : model === primary ? fallback : primary);

  const switchTo = (from: LanguageModel, to: LanguageModel, why: string): void => {
    stats.switches++;
    log.warn("LLM switched", { ...callFields(), from: from.id, to: to.id, why });
    options.onSwitch?.(from.id, to.id, why);
  };

  const fail = (error: unknown, model: LanguageModel): unknown => {
    stats.failures++;
    log.warn("LLM failed", { ...callFields(), provider: model.id, error: error instanceof Error ? error.message : String(error) });
    return error;
  };

  /** A failed try: counted, told to the breaker. */
  const failedTry = (model: LanguageModel, error: unknown): void => {
    options.onError?.(model.id, error);
    breakerOf(model)?.failure(error instanceof Error ? error.message : String(error));
  };

  async function* stream(request: ChatRequest): AsyncGenerator<ChatChunk, void, undefined> {
    const signal = request.signal;
    /** Providers out for this turn: a non-retryable error, a missed deadline or an open breaker. */
    const out = new Set<LanguageModel>();
    const isIn = (model: LanguageModel | null): model is LanguageModel => model !== null && !out.has(model);
    let current = primary;
    let retriesLeft = retryAttempts;
    let sameProviderRetries = 0;
    let lastError: unknown = null;
    for (;;) {
      signal?.throwIfAborted();
      const breaker = breakerOf(current);
      if (breaker !== null && !breaker.allow()) {
        out.add(current);
        log.warn("LLM provider skipped: its circuit is open", { ...callFields(), provider: current.id });
        const other = otherOf(current);
        if (!isIn(other)) {
          throw fail(lastError ?? new LlmError(current.id, "skipped: its circuit is open after repeated failures, and no other provider is usable", null, true), current);
        }
        switchTo(current, other, "circuit open");
        current = other;
        continue;
      }
      const attempt = startAttempt(current, request);
      let first: IteratorResult<ChatChunk> | typeof DEADLINE_MISSED;
      try {
        first = await firstResult(attempt, ttftTimeoutMs);
      } catch (error) {
        attempt.release();
        if (signal?.aborted) throw signal.reason;
        failedTry(current, error);
        lastError = error;
        const other = otherOf(current);
        const retryable = error instanceof LlmError && error.retryable;
        const describe = error instanceof Error ? error.message : String(error);
        if (!retryable) {
          out.add(current);
          if (!isIn(other)) throw fail(error, current);
          switchTo(current, other, `error: ${describe}`);
          current = other;
          continue;
        }
        if (retriesLeft === 0) throw fail(error, current);
        retriesLeft--;
        stats.retries++;
        if (isIn(other) && breakerOf(other)?.state !== "open") {
          log.warn("LLM retry", { ...callFields(), provider: other.id, after: describe, left: retriesLeft });
          switchTo(current, other, `retry after: ${describe}`);
          current = other;
          continue;
        }
        const delayMs = Math.min(backoffMs * 2 ** sameProviderRetries, MAX_BACKOFF_MS);
        sameProviderRetries++;
        log.warn("LLM retry", { ...callFields(), provider: current.id, after: describe, delayMs, left: retriesLeft });
        await backoff(delayMs, signal);
        continue;
      }
      if (first === DEADLINE_MISSED) {
        attempt.release();
        const why = `no first token within ${ttftTimeoutMs} ms`;
        const missed = new LlmError(current.id, why, null, true);
        log.warn("LLM first-token deadline missed", { ...callFields(), provider: current.id, deadlineMs: ttftTimeoutMs });
        failedTry(current, missed);
        lastError = missed;
        out.add(current);
        const other = otherOf(current);
        if (!isIn(other)) throw fail(missed, current);
        switchTo(current, other, why);
        current = other;
        continue;
      }
      yield* relay(attempt, first);
      return;
    }
  }

  /** Passes on the rest of a reply whose first chunk has arrived; no retry from here on. */
  async function* relay(attempt: Attempt, first: IteratorResult<ChatChunk>): AsyncGenerator<ChatChunk, void, undefined> {
    const { model, controller } = attempt;
    let complete = false;
    let failed = false;
    let stalled: LlmError | null = null;
    try {
      let result = first;
      while (!result.done) {
        yield result.value;
        const next = await withinDeadline(attempt.iterator.next(), chunkTimeoutMs);
        if (next === DEADLINE_MISSED) {
          stalled = new LlmError(model.id, `stream stalled: no chunk for ${chunkTimeoutMs} ms mid-reply`, null, true);
          log.warn("LLM stalled mid-reply", { ...callFields(), provider: model.id, deadlineMs: chunkTimeoutMs });
          controller.abort(stalled);
          throw stalled;
        }
        result = next;
      }
      complete = true;
      breakerOf(model)?.success();
    } catch (error) {
      if (error !== stalled && controller.signal.aborted) throw controller.signal.reason;
      failed = true;
      failedTry(model, error);
      throw fail(error, model);
    } finally {
      attempt.release();
      if (!complete) {
        // Cut by the consumer (barge-in, hang-up), not failed: the provider was answering. Said to its
        // breaker, else a half-open trial cut this way would keep the provider out for another cool-down.
        if (!failed) breakerOf(model)?.success();
        // The consumer stopped early or the stream failed: end the provider's request too.
        controller.abort();
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

/** The first result, or DEADLINE_MISSED (with the try aborted) when `ttftMs` passes first. */
async function firstResult(attempt: Attempt, ttftMs: number): Promise<IteratorResult<ChatChunk> | typeof DEADLINE_MISSED> {
  const winner = await withinDeadline(attempt.iterator.next(), ttftMs);
  if (winner === DEADLINE_MISSED) attempt.controller.abort(new Error(`no first token within ${ttftMs} ms`));
  return winner;
}
