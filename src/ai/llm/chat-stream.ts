/**
 * What the OpenAI and Groq providers share: both speak the same chat-completions wire API, so the
 * message mapping, the chunk-to-ChatChunk conversion and the tool-call joining live here once (the
 * stall watchdog and error classification in guarded-stream.ts). Each provider only supplies its
 * SDK call and error classes.
 */
import type { Logger } from "../../log.ts";
import { LlmError, type ChatChunk, type ChatMessage, type ChatRequest, type LanguageModel, type ToolCall, type ToolSpec } from "./types.ts";
import { guardedStream, MAX_REPLY_TOKENS, type SdkErrorClasses, type StreamDecoder } from "./guarded-stream.ts";
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
      guardedStream({
        provider: id,
        timeoutMs,
        log,
        request,
        errors: vendor.errors,
        decoder: new ChunkDecoder(id),
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

/** OpenAI/Groq chunks to ChatChunks: choice 0's text deltas and its tool calls, joined. */
class ChunkDecoder implements StreamDecoder<VendorChunk> {
  finishReason: string | null = null;
  private readonly joiner: ToolCallJoiner;

  constructor(provider: string) {
    this.joiner = new ToolCallJoiner(provider);
  }

  get truncated(): boolean {
    return this.finishReason === "length";
  }

  *decode(chunk: VendorChunk): Generator<ChatChunk, void, undefined> {
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      const content = choice.delta?.content;
      if (content) yield { type: "text", text: content };
      const pieces = choice.delta?.tool_calls;
      if (pieces) {
        for (const piece of pieces) {
          const done = this.joiner.add(piece);
          if (done) yield { type: "toolCall", call: done };
        }
      }
      if (choice.finish_reason) {
        this.finishReason = choice.finish_reason;
        const done = this.joiner.flush();
        if (done) yield { type: "toolCall", call: done };
      }
    }
  }
}
