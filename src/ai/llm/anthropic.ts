/**
 * Claude through the official `@anthropic-ai/sdk`: the Messages API streamed, with tool use. Text
 * deltas become text chunks as they come; a `tool_use` block's input, streamed as JSON pieces, is
 * one tool call once its block stops. The watchdog and error classes are guarded-stream.ts's.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import { checkProviderOptions, type ChatProviderOptions } from "./chat-stream.ts";
import { guardedStream, MAX_REPLY_TOKENS, type StreamDecoder } from "./guarded-stream.ts";
import { toAnthropicConversation, toAnthropicTools } from "./anthropic-messages.ts";
import { LlmError, type ChatChunk, type ChatRequest, type LanguageModel } from "./types.ts";

/** Passed explicitly so an ANTHROPIC_BASE_URL in the environment cannot bypass the loaded config. */
const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";

export function createAnthropicLlm(options: ChatProviderOptions): LanguageModel {
  checkProviderOptions("Anthropic", options);
  const { model, timeoutMs, log } = options;
  const id = `anthropic:${model}`;
  // Retries are the resilient wrapper's job: an SDK retry would hide a slow provider from the TTFT switch.
  const client = new Anthropic({ apiKey: options.apiKey, baseURL: options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL, maxRetries: 0, timeout: timeoutMs });
  return {
    id,
    stream: (request: ChatRequest) =>
      guardedStream({
        provider: id,
        timeoutMs,
        log,
        request,
        errors: Anthropic,
        decoder: new MessageEventDecoder(id),
        open: (signal) => {
          const { system, messages } = toAnthropicConversation(request.messages);
          return client.messages.create(
            {
              model,
              max_tokens: MAX_REPLY_TOKENS,
              messages,
              ...(system === undefined ? {} : { system }),
              ...(request.tools.length > 0 ? { tools: toAnthropicTools(request.tools) } : {}),
              ...(request.toolChoice === undefined ? {} : { tool_choice: { type: "tool" as const, name: request.toolChoice } }),
              stream: true,
            },
            { signal, timeout: timeoutMs },
          );
        },
      }),
  };
}

interface ToolUseInProgress {
  id: string;
  name: string;
  json: string;
}

/**
 * Message events to ChatChunks. Blocks other than text and tool_use (thinking, server tools) carry
 * nothing the caller hears or runs, and are skipped. The reply is over at `message_stop`, its
 * reason from the `message_delta` before it.
 */
class MessageEventDecoder implements StreamDecoder<RawMessageStreamEvent> {
  finishReason: string | null = null;
  private stopReason: string | null = null;
  private readonly toolUses = new Map<number, ToolUseInProgress>();

  constructor(private readonly provider: string) {}

  get truncated(): boolean {
    return this.finishReason === "max_tokens";
  }

  *decode(event: RawMessageStreamEvent): Generator<ChatChunk, void, undefined> {
    switch (event.type) {
      case "content_block_start": {
        const block = event.content_block;
        if (block.type === "text" && block.text !== "") yield { type: "text", text: block.text };
        if (block.type === "tool_use") this.toolUses.set(event.index, { id: block.id, name: block.name, json: "" });
        return;
      }
      case "content_block_delta": {
        const delta = event.delta;
        if (delta.type === "text_delta" && delta.text !== "") yield { type: "text", text: delta.text };
        if (delta.type === "input_json_delta") {
          const use = this.toolUses.get(event.index);
          if (!use) throw new LlmError(this.provider, `tool input for block #${event.index}, which is not a tool_use block (broken stream)`, null, true);
          use.json += delta.partial_json;
        }
        return;
      }
      case "content_block_stop": {
        const use = this.toolUses.get(event.index);
        if (!use) return;
        this.toolUses.delete(event.index);
        if (use.id === "" || use.name === "") {
          throw new LlmError(this.provider, `tool_use block #${event.index} came without ${use.id === "" ? "an id" : "a name"} (broken stream)`, null, true);
        }
        yield { type: "toolCall", call: { id: use.id, name: use.name, arguments: use.json.trim() === "" ? "{}" : use.json } };
        return;
      }
      case "message_delta":
        this.stopReason = event.delta.stop_reason ?? this.stopReason;
        return;
      case "message_stop":
        if (this.toolUses.size > 0) throw new LlmError(this.provider, "the message stopped inside a tool_use block (broken stream)", null, true);
        this.finishReason = this.stopReason ?? "end_turn";
        return;
      case "message_start":
        return;
    }
  }
}
