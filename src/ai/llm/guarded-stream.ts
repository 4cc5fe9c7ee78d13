/**
 * What every streamed chat provider shares, whatever its wire format: the stall watchdog (response
 * headers, then every gap between two events), the caller's abort, the check that the reply really
 * ended, and the classification of the SDK's errors into LlmError. Each provider supplies its
 * request and a decoder from its events to ChatChunks.
 */
import type { Logger } from "../../log.ts";
import { isRetryableStatus } from "../provider-error.ts";
import { LlmError, type ChatChunk, type ChatRequest } from "./types.ts";

/** Phone replies are a sentence or two; a bound keeps a runaway model from talking for a minute. */
export const MAX_REPLY_TOKENS = 300;

/** The SDK's error classes, so errors are classified by type rather than by message text. */
export interface SdkErrorClasses {
  APIError: abstract new (...args: never[]) => Error & { readonly status: number | undefined; readonly error: unknown };
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

/** Turns one vendor's stream events into ChatChunks, and knows whether the reply ended properly. */
export interface StreamDecoder<Event> {
  /** The chunks one event carries (none for bookkeeping events). Throws LlmError on a broken reply. */
  decode(event: Event): Iterable<ChatChunk>;
  /** The vendor's end-of-reply reason once it came ("stop", "end_turn"…); null = not yet. */
  readonly finishReason: string | null;
  /** The reply was cut at MAX_REPLY_TOKENS. */
  readonly truncated: boolean;
}

export interface GuardedCall<Event> {
  /** "openai:<model>", "anthropic:<model>"… */
  provider: string;
  timeoutMs: number;
  log: Logger;
  request: ChatRequest;
  errors: SdkErrorClasses;
  decoder: StreamDecoder<Event>;
  /** Starts the vendor request; resolves once the response headers are in. */
  open(signal: AbortSignal): PromiseLike<AsyncIterable<Event>>;
}

/**
 * Runs one streamed reply and converts it to ChatChunks. Throws LlmError on any provider failure,
 * and the caller's abort reason when `request.signal` aborts.
 */
export async function* guardedStream<Event>(call: GuardedCall<Event>): AsyncGenerator<ChatChunk, void, undefined> {
  const { provider, timeoutMs, request, decoder } = call;
  const callerSignal = request.signal;
  callerSignal?.throwIfAborted();
  // Our own controller: the caller's abort and the stall watchdog both end the request through it.
  const controller = new AbortController();
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  let stalled = false;
  // Time the consumer spends holding a chunk is not the vendor's: the watchdog is re-armed after each yield.
  let consumerHolds = false;
  const watchdog = setTimeout(() => {
    if (consumerHolds) return;
    stalled = true;
    controller.abort(new Error("stalled"));
  }, timeoutMs);
  let headersIn = false;
  try {
    const events = await call.open(controller.signal);
    headersIn = true;
    watchdog.refresh();
    for await (const event of events) {
      consumerHolds = true;
      yield* decoder.decode(event);
      consumerHolds = false;
      watchdog.refresh();
    }
    // The SDKs end the iteration quietly when the request is aborted, so a quiet end is checked here.
    if (callerSignal?.aborted) throw callerSignal.reason;
    if (stalled) throw stallError(provider, timeoutMs, headersIn);
    if (decoder.finishReason === null) throw new LlmError(provider, "the stream ended before the reply's end (connection closed mid-reply)", null, true);
    if (decoder.truncated) call.log.warn("LLM reply cut at the token limit", { provider, maxTokens: MAX_REPLY_TOKENS });
  } catch (error) {
    if (callerSignal?.aborted) throw callerSignal.reason;
    if (stalled) throw stallError(provider, timeoutMs, headersIn);
    throw toLlmError(provider, error, call.errors, timeoutMs, headersIn);
  } finally {
    clearTimeout(watchdog);
    callerSignal?.removeEventListener("abort", onCallerAbort);
    // Ends the HTTP request when the consumer stopped early; a no-op after a complete reply.
    controller.abort();
  }
}

function stallError(provider: string, timeoutMs: number, headersIn: boolean): LlmError {
  const what = headersIn ? `stream stalled: no data for ${timeoutMs} ms` : `no response headers within ${timeoutMs} ms`;
  return new LlmError(provider, what, null, true);
}

function toLlmError(provider: string, error: unknown, errors: SdkErrorClasses, timeoutMs: number, headersIn: boolean): LlmError {
  if (error instanceof LlmError) return error;
  if (error instanceof errors.APIConnectionTimeoutError) {
    return new LlmError(provider, `no response headers within ${timeoutMs} ms`, null, true);
  }
  if (error instanceof errors.APIError) {
    const vendorMessage = vendorErrorMessage(error.error) ?? error.message;
    if (error.status === undefined) {
      // No status: a connection failure, or an error event inside a 200 stream.
      if (error.error !== undefined) return new LlmError(provider, `error event mid-stream: ${vendorMessage}`, null, true);
      const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
      return new LlmError(provider, `connection failed: ${error.message}${cause}`, null, true);
    }
    return new LlmError(provider, `HTTP ${error.status}: ${vendorMessage}`, error.status, isRetryableStatus(error.status));
  }
  if (error instanceof SyntaxError) return new LlmError(provider, `malformed stream: ${error.message}`, null, true);
  const message = error instanceof Error ? error.message : String(error);
  return new LlmError(provider, `${headersIn ? "stream broken" : "request failed"}: ${message}`, null, true);
}

/**
 * The vendor's own words: groq-sdk hands over the whole body `{error:{…}}`, openai its inner object,
 * the Anthropic SDK the whole body `{type:"error", error:{type, message}}`.
 */
function vendorErrorMessage(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return null;
  const inner = (body as { error?: unknown }).error;
  if (typeof inner === "object" && inner !== null) return vendorErrorMessage(inner);
  const message = (body as { message?: unknown }).message;
  if (typeof message !== "string") return null;
  // Anthropic names the kind in `type` and has no `code`; OpenAI's `type` is too vague beside its `code`.
  const { code: rawCode, type } = body as { code?: unknown; type?: unknown };
  const code = rawCode === undefined ? type : rawCode;
  return typeof code === "string" && code !== "" ? `${message} (${code})` : message;
}
