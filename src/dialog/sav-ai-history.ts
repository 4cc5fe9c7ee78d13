/**
 * The conversation as the model sees it: caller messages and replies in the order they happened,
 * each reply with its tool calls and their results. A reply keeps its place even when its outcome
 * arrives after the caller spoke again (barge-in), and keeps only what was heard once cut.
 */
import type { ChatMessage, ToolCall } from "../ai/llm/types.ts";

interface Reply {
  kind: "reply";
  replyId: number;
  text: string;
  /** The caller cut it: `text` is what they heard and stays so. */
  heard: boolean;
  /** `ok`: the call was carried out (not refused). */
  calls: { call: ToolCall; result: string; ok: boolean }[];
}
type Entry = { kind: "user"; text: string } | Reply;

export class ConversationHistory {
  #entries: Entry[] = [];
  readonly #limit: number;

  /** `limit`: most messages `messages()` returns. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  addUser(text: string): void {
    this.#entries.push({ kind: "user", text });
  }

  /** Reserves the place of reply `replyId`, asked for now. */
  startReply(replyId: number): void {
    this.#entries.push({ kind: "reply", replyId, text: "", heard: false, calls: [] });
    // Entries older than anything messages() could still return are dropped: a long call stays small.
    if (this.#entries.length > this.#limit * 4) this.#entries = this.#entries.slice(-this.#limit * 2);
  }

  /** Ignored for a reply dropped long ago: nothing is left to attach the result to. */
  addToolResult(replyId: number, call: ToolCall, result: string, ok: boolean): void {
    this.#find(replyId)?.calls.push({ call, result, ok });
  }

  /** Sets the reply's full text, unless the caller cut it; returns its tool calls, each carried out or refused. */
  finishReply(replyId: number, text: string): { name: string; ok: boolean }[] {
    const reply = this.#find(replyId);
    if (!reply) return [];
    if (!reply.heard) reply.text = text;
    return reply.calls.map((c) => ({ name: c.call.name, ok: c.ok }));
  }

  /** The caller cut the reply: only `heard` was played; its tool calls stay (they were carried out). */
  cutReply(replyId: number, heard: string): void {
    const reply = this.#find(replyId);
    if (!reply) return;
    reply.text = heard.trim();
    reply.heard = true;
  }

  /** The last `limit` messages, starting at a caller's message so no tool result loses its call. */
  messages(): ChatMessage[] {
    const messages: ChatMessage[] = [];
    for (const entry of this.#entries) {
      if (entry.kind === "user") {
        messages.push({ role: "user", content: entry.text });
        continue;
      }
      if (entry.text === "" && entry.calls.length === 0) continue;
      const toolCalls = entry.calls.map((c) => c.call);
      messages.push(toolCalls.length === 0 ? { role: "assistant", content: entry.text } : { role: "assistant", content: entry.text, toolCalls });
      for (const { call, result } of entry.calls) messages.push({ role: "tool", toolCallId: call.id, content: result });
    }
    let cut = Math.max(0, messages.length - this.#limit);
    while (cut < messages.length && messages[cut]?.role !== "user") cut++;
    // No caller message in the tail (a long run of tool calls): start at its first assistant message.
    if (cut === messages.length) {
      cut = Math.max(0, messages.length - this.#limit);
      while (cut < messages.length && messages[cut]?.role === "tool") cut++;
    }
    return messages.slice(cut);
  }

  /**
   * The words alone, for the scribe: the caller's messages and the replies' text (what was heard of
   * a cut one), the last `limit` of them; tool calls and results left out.
   */
  transcript(): ChatMessage[] {
    const words: ChatMessage[] = [];
    for (const entry of this.#entries) {
      if (entry.kind === "user") words.push({ role: "user", content: entry.text });
      else if (entry.text !== "") words.push({ role: "assistant", content: entry.text });
    }
    return words.slice(-this.#limit);
  }

  #find(replyId: number): Reply | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i];
      if (entry?.kind === "reply" && entry.replyId === replyId) return entry;
    }
    return undefined;
  }
}
