/**
 * What the OpenAI and Groq providers share: both speak the same chat-completions wire API, so the
 * message mapping, the chunk-to-ChatChunk conversion, the tool-call joining, the stall watchdog and
 * the error classification live here once. Each provider only supplies its SDK call and error classes.
 */
import type { Logger } from "../../log.ts";
import { LlmError, type ChatChunk, type ChatMessage, type ChatRequest, type LanguageModel, type ToolCall, type ToolSpec } from "./types.ts";
import { isRetryableStatus } from "../provider-error.ts";

/** Phone replies are a sentence or two; a bound keeps a runaway model from talking for a minute. */
export const MAX_REPLY_TOKENS = 300;
/** Low but not zero: the SAV flow wants steady tool use, yet some variety in the wording. */
export const REPLY_TEMPERATURE = 0.3;

/** Options both providers take. */
export interface ChatProviderOptions {
  apiKey: string;
  /** null = the vendor's public endpoint. */
  baseUrl: string | null;
  model: string;
  /** Bounds the wait for the response headers and every gap between two chunks. */
  timeoutMs: number;
  log: Logger;
}

export interface VendorToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type VendorMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: VendorToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface VendorTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The part of an OpenAI/Groq `chat.completion.chunk` we read; everything else is ignored. */
export interface VendorChunk {
  choices: ReadonlyArray<{
    index: number;
    delta?: {
      content?: string | null;
      tool_calls?: ReadonlyArray<VendorToolCallPiece> | null;
    } | null;
    finish_reason?: string | null;
  }>;
}

export interface VendorToolCallPiece {
  index: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

/** The SDK's error classes, so errors are classified by type rather than by message text. */
export interface SdkErrorClasses {
  APIError: abstract new (...args: never[]) => Error & { readonly status: number | undefined; readonly error: unknown };
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

export interface ChatCall {
  /** "openai:<model>" or "groq:<model>". */
  provider: string;
  timeoutMs: number;
  log: Logger;
  request: ChatRequest;
  errors: SdkErrorClasses;
  /** Starts the vendor request; resolves once the response headers are in. */
  open(signal: AbortSignal): PromiseLike<AsyncIterable<VendorChunk>>;
}

/** The body both vendors take for a streamed reply. */
export interface VendorChatBody {
  model: string;
  messages: VendorMessage[];
  tools?: VendorTool[];
  tool_choice?: { type: "function"; function: { name: string } };
  stream: true;
  temperature: number;
  max_completion_tokens: number;
}

/** One vendor's chat endpoint: its SDK call and error classes (the SDKs differ in nothing else). */
export interface ChatVendor {
  /** "groq", "openai": the model id's prefix. */
  prefix: string;
  errors: SdkErrorClasses;
  create(body: VendorChatBody, options: { signal: AbortSignal; timeout: number }): PromiseLike<AsyncIterable<VendorChunk>>;
}

/** A LanguageModel over one vendor's streamed chat completions. */
export function chatLanguageModel(vendor: ChatVendor, options: ChatProviderOptions): LanguageModel {
  const { model, timeoutMs, log } = options;
  const id = `${vendor.prefix}:${model}`;
  return {
    id,
    stream: (request: ChatRequest) =>
      streamChat({
        provider: id,
        timeoutMs,
        log,
        request,
        errors: vendor.errors,
        open: (signal) =>
          vendor.create(
            {
              model,
              messages: toVendorMessages(request.messages),
              ...(request.tools.length > 0 ? { tools: toVendorTools(request.tools) } : {}),
              ...(request.toolChoice === undefined ? {} : { tool_choice: { type: "function" as const, function: { name: request.toolChoice } } }),
              stream: true,
              temperature: REPLY_TEMPERATURE,
              max_completion_tokens: MAX_REPLY_TOKENS,
            },
            { signal, timeout: timeoutMs },
          ),
      }),
  };
}

export function checkProviderOptions(vendor: string, options: ChatProviderOptions): void {
  if (options.apiKey.trim() === "") throw new Error(`${vendor} LLM: apiKey is empty; a key is required`);
  if (options.model.trim() === "") throw new Error(`${vendor} LLM: model is empty; give a model name such as the config default`);
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new Error(`${vendor} LLM: timeoutMs ${options.timeoutMs} is invalid; a positive integer number of milliseconds is allowed`);
  }
  if (options.baseUrl !== null && !/^https?:\/\/\S+$/.test(options.baseUrl)) {
    throw new Error(`${vendor} LLM: baseUrl "${options.baseUrl}" is invalid; an http:// or https:// URL (or null for the vendor default) is allowed`);
  }
}

export function toVendorMessages(messages: readonly ChatMessage[]): VendorMessage[] {
  return messages.map((message): VendorMessage => {
    switch (message.role) {
      case "system":
      case "user":
        return { role: message.role, content: message.content };
      case "tool":
        return { role: "tool", tool_call_id: message.toolCallId, content: message.content };
      case "assistant": {
        const calls = message.toolCalls;
        if (!calls || calls.length === 0) return { role: "assistant", content: message.content };
        return {
          role: "assistant",
          // Both vendors want null, not "", beside tool calls when the model said nothing.
          content: message.content === "" ? null : message.content,
          tool_calls: calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } })),
        };
      }
    }
  });
}

export function toVendorTools(tools: readonly ToolSpec[]): VendorTool[] {
  return tools.map((tool) => ({
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));
}

/**
 * Joins the streamed pieces of tool calls: the first piece of each `index` carries id and name,
 * later ones more argument text. A call is complete when a piece for another index arrives or
 * the choice finishes.
 */
class ToolCallJoiner {
  private index = -1;
  private id = "";
  private name = "";
  private args = "";

  constructor(private readonly provider: string) {}

  /** Adds one piece; returns the previous call when this piece starts a new one. */
  add(piece: VendorToolCallPiece): ToolCall | null {
    if (piece.index === this.index) {
      // Some OpenAI-compatible servers repeat id and name in every piece; arguments are the only text split.
      this.id ||= piece.id ?? "";
      this.name ||= piece.function?.name ?? "";
      this.args += piece.function?.arguments ?? "";
      return null;
    }
    const done = this.flush();
    this.index = piece.index;
    this.id = piece.id ?? "";
    this.name = piece.function?.name ?? "";
    this.args = piece.function?.arguments ?? "";
    return done;
  }

  /** The call in progress, if any, now complete. */
  flush(): ToolCall | null {
    if (this.index < 0) return null;
    const index = this.index;
    this.index = -1;
    if (this.id === "" || this.name === "") {
      throw new LlmError(this.provider, `tool call #${index} came without ${this.id === "" ? "an id" : "a function name"} (broken stream)`, null, true);
    }
    return { id: this.id, name: this.name, arguments: this.args === "" ? "{}" : this.args };
  }
}

/**
 * Runs one streamed chat completion and converts it to ChatChunks. Throws LlmError on any provider
 * failure, and the caller's abort reason when `request.signal` aborts.
 */
export async function* streamChat(call: ChatCall): AsyncGenerator<ChatChunk, void, undefined> {
  const { provider, timeoutMs, request } = call;
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
  const joiner = new ToolCallJoiner(provider);
  let finishReason: string | null = null;
  let headersIn = false;
  try {
    const chunks = await call.open(controller.signal);
    headersIn = true;
    watchdog.refresh();
    for await (const chunk of chunks) {
      consumerHolds = true;
      for (const choice of chunk.choices) {
        if (choice.index !== 0) continue;
        const content = choice.delta?.content;
        if (content) yield { type: "text", text: content };
        const pieces = choice.delta?.tool_calls;
        if (pieces) {
          for (const piece of pieces) {
            const done = joiner.add(piece);
            if (done) yield { type: "toolCall", call: done };
          }
        }
        if (choice.finish_reason) {
          finishReason = choice.finish_reason;
          const done = joiner.flush();
          if (done) yield { type: "toolCall", call: done };
        }
      }
      consumerHolds = false;
      watchdog.refresh();
    }
    // The SDKs end the iteration quietly when the request is aborted, so a quiet end is checked here.
    if (callerSignal?.aborted) throw callerSignal.reason;
    if (stalled) throw stallError(provider, timeoutMs, headersIn);
    if (finishReason === null) throw new LlmError(provider, "the stream ended before a finish_reason (connection closed mid-reply)", null, true);
    if (finishReason === "length") call.log.warn("LLM reply cut at the token limit", { provider, maxTokens: MAX_REPLY_TOKENS });
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

/** The vendor's own words: groq-sdk hands over the whole body `{error:{…}}`, openai its inner object. */
function vendorErrorMessage(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return null;
  const inner = (body as { error?: unknown }).error;
  if (typeof inner === "object" && inner !== null) return vendorErrorMessage(inner);
  const message = (body as { message?: unknown }).message;
  if (typeof message !== "string") return null;
  const code = (body as { code?: unknown }).code;
  return typeof code === "string" && code !== "" ? `${message} (${code})` : message;
}
