/** What the provider tests read from the clients they drive: a stream drained, a promise's failure. */
import type { ChatChunk, ToolCall } from "../../src/ai/llm/types.ts";

/** A model's stream drained: its words, its tool calls, and the order the kinds came in. */
export async function collectChat(stream: AsyncIterable<ChatChunk>): Promise<{ texts: string[]; calls: ToolCall[]; order: string[] }> {
  const texts: string[] = [];
  const calls: ToolCall[] = [];
  const order: string[] = [];
  for await (const chunk of stream) {
    if (chunk.type === "text") texts.push(chunk.text);
    else calls.push(chunk.call);
    order.push(chunk.type);
  }
  return { texts, calls, order };
}

/** A voice's stream drained into one buffer, and how many chunks it came in. */
export async function collectPcm(stream: AsyncIterable<Int16Array>): Promise<{ pcm: Int16Array; chunks: number }> {
  const parts: Int16Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    pcm.set(p, at);
    at += p.length;
  }
  return { pcm, chunks: parts.length };
}

/** The error a promise rejects with; a success fails the test. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure, got success");
}
