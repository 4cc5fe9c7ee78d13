/**
 * The Anthropic Messages API's wire shapes for the fake (tests/fakes/anthropic.ts): the request
 * body checked as the real API checks it, turned into the fake chat brain's OpenAI-shaped messages
 * (so the conversation logic is the same for every vendor), and a reply encoded as the SSE events
 * the API streams. Bundled into the binary: no test-only imports.
 */
import { tokens } from "./chat-chunks.ts";
import type { FakeChatBrainRequest, FakeChatMessage, FakeChatReply } from "./chat.ts";

/** One SSE event and when it goes: at once, after the time to first token, or after a token's interval. */
export interface PacedEvent {
  bytes: Uint8Array;
  pace: "now" | "first" | "token";
}

interface Block {
  type?: unknown;
  text?: unknown;
  id?: unknown;
  name?: unknown;
  input?: unknown;
  tool_use_id?: unknown;
  content?: unknown;
}

/** Checks what the real API rejects; returns the brain's view of the request, or the API's message. */
export function parseMessagesBody(body: unknown): FakeChatBrainRequest | string {
  if (typeof body !== "object" || body === null) return "the request body must be a JSON object";
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model === "") return "model: Field required";
  if (!Number.isInteger(b.max_tokens) || (b.max_tokens as number) < 1) return "max_tokens: Field required (an integer ≥ 1)";
  if (b.stream !== true) return "this fake only streams: 'stream' must be true";
  if ("temperature" in b && b.temperature !== undefined && (typeof b.temperature !== "number" || b.temperature < 0 || b.temperature > 1)) return "temperature: must be a number from 0 to 1";
  const messages: FakeChatMessage[] = [];
  const system = parseSystem(b.system);
  if (typeof system === "object") return system.error;
  if (system !== "") messages.push({ role: "system", content: system });
  if (!Array.isArray(b.messages) || b.messages.length === 0) return "messages: at least one message is required";
  let expected: string[] = [];
  for (const [i, raw] of (b.messages as unknown[]).entries()) {
    const m = raw as { role?: unknown; content?: unknown } | null;
    if (typeof m !== "object" || m === null) return `messages.${i}: must be an object`;
    if (i === 0 && m.role !== "user") return "messages: first message must use the \"user\" role";
    if (m.role !== "user" && m.role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    const blocks: Block[] = typeof m.content === "string" ? [{ type: "text", text: m.content }] : Array.isArray(m.content) ? (m.content as Block[]) : [];
    if (blocks.length === 0) return `messages.${i}: all messages must have non-empty content`;
    if (m.role === "assistant" && expected.length > 0) return `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${expected.join(", ")}`;
    const problem = m.role === "user" ? userBlocks(i, blocks, expected, messages) : assistantBlocks(i, blocks, messages);
    if (typeof problem === "string") return problem;
    expected = m.role === "assistant" ? problem : [];
  }
  if (expected.length > 0) return `messages: tool_use ids were found without tool_result blocks immediately after: ${expected.join(", ")}`;
  const tools: string[] = [];
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) return "tools: must be an array";
    for (const [i, raw] of (b.tools as unknown[]).entries()) {
      const t = raw as { name?: unknown; input_schema?: { type?: unknown } } | null;
      if (typeof t?.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(t.name)) return `tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`;
      if (t.input_schema?.type !== "object") return `tools.${i}.input_schema.type: Input should be 'object'`;
      tools.push(t.name);
    }
  }
  const choice = b.tool_choice as { type?: unknown; name?: unknown } | undefined;
  if (choice !== undefined && !["auto", "any", "none", "tool"].includes(String(choice?.type))) return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'";
  if (choice?.type === "tool" && (typeof choice.name !== "string" || !tools.includes(choice.name))) {
    return `tool_choice: tool ${JSON.stringify(choice.name)} is not in 'tools'`;
  }
  return { model: b.model, messages, tools, ...(choice?.type === "tool" ? { toolChoice: choice.name as string } : {}) };
}

function parseSystem(raw: unknown): string | { error: string } {
  if (raw === undefined) return "";
  if (typeof raw === "string") return raw;
  if (!Array.isArray(raw)) return { error: "system: must be a string or a list of text blocks" };
  const texts: string[] = [];
  for (const block of raw as Block[]) {
    if (block?.type !== "text" || typeof block.text !== "string") return { error: "system: every block must be {type: 'text', text}" };
    texts.push(block.text);
  }
  return texts.join("\n\n");
}

/** Tool results first (each answering a tool_use of the turn before), then text. */
function userBlocks(i: number, blocks: readonly Block[], expected: readonly string[], out: FakeChatMessage[]): string | string[] {
  const open = new Set(expected);
  const texts: string[] = [];
  for (const [j, block] of blocks.entries()) {
    if (block.type === "tool_result") {
      if (texts.length > 0) return `messages.${i}.content.${j}: tool_result blocks must come first in a user message`;
      if (typeof block.tool_use_id !== "string" || !open.delete(block.tool_use_id)) {
        return `messages.${i}.content.${j}: unexpected tool_use_id found in tool_result blocks: ${String(block.tool_use_id)}. Each tool_result block must have a corresponding tool_use block in the previous message.`;
      }
      if (typeof block.content !== "string") return `messages.${i}.content.${j}.content: this fake takes a string`;
      out.push({ role: "tool", tool_call_id: block.tool_use_id, content: block.content });
    } else if (block.type === "text") {
      if (typeof block.text !== "string" || block.text === "") return `messages.${i}.content.${j}: text content blocks must be non-empty`;
      texts.push(block.text);
    } else {
      return `messages.${i}.content.${j}.type: this fake takes text and tool_result blocks`;
    }
  }
  if (open.size > 0) return `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${[...open].join(", ")}`;
  if (texts.length > 0) out.push({ role: "user", content: texts.join("\n") });
  return [];
}

/** Text and tool_use blocks; returns the ids the next user turn must answer. */
function assistantBlocks(i: number, blocks: readonly Block[], out: FakeChatMessage[]): string | string[] {
  const texts: string[] = [];
  const calls: { id: string; type: string; function: { name: string; arguments: string } }[] = [];
  for (const [j, block] of blocks.entries()) {
    if (block.type === "text") {
      if (typeof block.text !== "string" || block.text === "") return `messages.${i}.content.${j}: text content blocks must be non-empty`;
      texts.push(block.text);
    } else if (block.type === "tool_use") {
      if (typeof block.id !== "string" || !/^[a-zA-Z0-9_-]+$/.test(block.id)) return `messages.${i}.content.${j}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
      if (typeof block.name !== "string") return `messages.${i}.content.${j}.name: Field required`;
      if (typeof block.input !== "object" || block.input === null || Array.isArray(block.input)) return `messages.${i}.content.${j}.input: Input should be a valid dictionary`;
      calls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input) } });
    } else {
      return `messages.${i}.content.${j}.type: this fake takes text and tool_use blocks`;
    }
  }
  out.push({ role: "assistant", content: texts.length > 0 ? texts.join("\n") : null, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
  return calls.map((c) => c.id);
}

const encoder = new TextEncoder();

export function sseEvent(type: string, data: object): Uint8Array {
  return encoder.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

/** The API's error body, as a response or as an `error` event mid-stream. */
export function errorBody(type: string, message: string): { type: "error"; error: { type: string; message: string }; request_id: string } {
  return { type: "error", error: { type, message }, request_id: "req_fake" };
}

/**
 * The reply as the API streams it: message_start and a ping at once; then each block (text first,
 * then each tool_use) with its start, deltas (text in token-sized pieces, tool input as JSON in
 * pieces) and stop; message_delta with the stop reason, message_stop.
 */
export function replyEvents(reply: FakeChatReply, context: { id: string; model: string }): PacedEvent[] {
  const events: PacedEvent[] = [];
  const push = (pace: PacedEvent["pace"], type: string, data: object): void => void events.push({ pace, bytes: sseEvent(type, data) });
  push("now", "message_start", {
    message: { id: context.id, type: "message", role: "assistant", model: context.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 100, output_tokens: 1 } },
  });
  push("now", "ping", {});
  let index = 0;
  let pace: PacedEvent["pace"] = "first";
  if (reply.text) {
    push(pace, "content_block_start", { index, content_block: { type: "text", text: "" } });
    pace = "now";
    for (const piece of tokens(reply.text)) {
      push(pace, "content_block_delta", { index, delta: { type: "text_delta", text: piece } });
      pace = "token";
    }
    push("now", "content_block_stop", { index });
    index++;
  }
  const calls = reply.toolCalls ?? [];
  for (const [n, call] of calls.entries()) {
    push(pace, "content_block_start", { index, content_block: { type: "tool_use", id: `toolu_${context.id}_${n}`, name: call.name, input: {} } });
    pace = "token";
    push("now", "content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } });
    for (const piece of tokens(JSON.stringify(call.arguments))) push("token", "content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } });
    push("now", "content_block_stop", { index });
    index++;
  }
  push(pace === "first" ? "first" : "token", "message_delta", { delta: { stop_reason: calls.length > 0 ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: events.length } });
  push("now", "message_stop", {});
  return events;
}
