/**
 * Our chat messages in the shape Anthropic's Messages API takes: the system prompt apart, tool
 * calls as `tool_use` blocks in the assistant's turn, their results as `tool_result` blocks in the
 * next user turn, and turns that alternate, start and end with the user (the API refuses or
 * misreads anything else).
 */
import type { MessageParam, TextBlockParam, Tool, ToolResultBlockParam, ToolUseBlockParam } from "@anthropic-ai/sdk/resources/messages";
import type { ChatMessage, ToolCall, ToolSpec } from "./types.ts";

type Block = TextBlockParam | ToolUseBlockParam | ToolResultBlockParam;

export interface AnthropicConversation {
  /** Every system message, in order, as one prompt; absent when there is none. */
  system?: string;
  messages: MessageParam[];
}

/**
 * What stands in for a missing user turn: a history cut that starts with the bot's words, or a
 * transcript that ends with them (the scribe's), where the API wants the user to speak first or last.
 */
export const CONTINUE_PROMPT = "(continue)";

export function toAnthropicConversation(messages: readonly ChatMessage[]): AnthropicConversation {
  const system: string[] = [];
  const turns: { role: "user" | "assistant"; content: Block[] }[] = [];
  const add = (role: "user" | "assistant", blocks: Block[]): void => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case "system":
        if (message.content.trim() !== "") system.push(message.content);
        break;
      case "user":
        add("user", textBlocks(message.content));
        break;
      case "tool":
        add("user", [{ type: "tool_result", tool_use_id: toolUseId(message.toolCallId), content: message.content }]);
        break;
      case "assistant":
        add("assistant", [...textBlocks(message.content), ...(message.toolCalls ?? []).map(toolUseBlock)]);
        break;
    }
  }
  if (turns[0]?.role !== "user") turns.unshift({ role: "user", content: textBlocks(CONTINUE_PROMPT) });
  if (turns.at(-1)?.role !== "user") turns.push({ role: "user", content: textBlocks(CONTINUE_PROMPT) });
  return { ...(system.length > 0 ? { system: system.join("\n\n") } : {}), messages: turns };
}

export function toAnthropicTools(tools: readonly ToolSpec[]): Tool[] {
  return tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    // The API wants an object schema; ours always are, and the cast only names the shape.
    input_schema: { type: "object", ...tool.parameters } as Tool.InputSchema,
  }));
}

/** The API refuses empty text blocks. */
function textBlocks(text: string): TextBlockParam[] {
  return text.trim() === "" ? [] : [{ type: "text", text }];
}

function toolUseBlock(call: ToolCall): ToolUseBlockParam {
  return { type: "tool_use", id: toolUseId(call.id), name: call.name, input: toolInput(call.arguments) };
}

/**
 * The API takes the input as an object. Arguments a model wrote that are not one (the tool result
 * already told it so) are sent as an empty input, which keeps the call and its result paired.
 */
function toolInput(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Ids another provider made (a turn answered by the fallback) may hold characters this API refuses. */
function toolUseId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_") || "tool_call";
}
