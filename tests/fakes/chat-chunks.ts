/**
 * The fake chat server's SSE encoding of one reply, as the vendors stream it: the role chunk, the
 * text in deltas, each tool call's name then its arguments in pieces, the finish chunk (and the
 * usage chunk when asked). Two pacings of the pieces: "scripted" (a word per delta, arguments in
 * thirds: few chunks, fast tests) and "realistic" (token-sized deltas of about four characters,
 * as Groq and OpenAI send them).
 */
import type { FakeChatFlavour, FakeChatReply } from "./chat.ts";

export type FakeChatPieces = "scripted" | "realistic";

export interface ChunkContext {
  pieces: FakeChatPieces;
  id: string;
  model: string;
  flavour: FakeChatFlavour;
  usage: boolean;
}

/** The whole reply as encoded SSE events: role chunk first, then content, then the finish. */
export function replyChunks(reply: FakeChatReply, context: ChunkContext): Uint8Array[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: object, finishReason: string | null, extra?: object): Uint8Array =>
    sse({
      id: context.id,
      object: "chat.completion.chunk",
      created,
      model: context.model,
      system_fingerprint: "fp_fake",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(context.flavour === "openai" ? { obfuscation: "fake" } : {}),
      ...extra,
    });
  const groq = context.flavour === "groq";
  const out: Uint8Array[] = [chunk({ role: "assistant", content: "" }, null, groq ? { x_groq: { id: `req_${context.id}` } } : undefined)];
  const textPieces = context.pieces === "realistic" ? tokens : words;
  if (groq && reply.reasoning) for (const piece of textPieces(reply.reasoning)) out.push(chunk({ reasoning: piece }, null));
  if (reply.text) for (const piece of textPieces(reply.text)) out.push(chunk({ content: piece }, null));
  const calls = reply.toolCalls ?? [];
  for (const [index, call] of calls.entries()) {
    out.push(chunk({ tool_calls: [{ index, id: `call_${context.id}_${index}`, type: "function", function: { name: call.name, arguments: "" } }] }, null));
    const json = JSON.stringify(call.arguments);
    for (const piece of context.pieces === "realistic" ? tokens(json) : thirds(json)) out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
  }
  const usage = { prompt_tokens: 100, completion_tokens: out.length, total_tokens: 100 + out.length };
  out.push(chunk({}, calls.length > 0 ? "tool_calls" : "stop", groq ? { x_groq: { id: `req_${context.id}`, usage, seed: 1 } } : undefined));
  if (context.usage) {
    out.push(sse({ id: context.id, object: "chat.completion.chunk", created, model: context.model, choices: [], usage }));
  }
  return out;
}

/** Word-sized deltas that join back to the exact text (spaces go with the word after them). */
function words(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Token-sized deltas (a short word, or about four characters of a longer one) that join back to the exact text. */
export function tokens(text: string): string[] {
  return text.match(/\s*[^\s]{1,4}|\s+$/g) ?? [];
}

/** Arguments in at least two pieces, as the vendors stream them. */
function thirds(json: string): string[] {
  const step = Math.max(1, Math.ceil(json.length / 3));
  const pieces: string[] = [];
  for (let at = 0; at < json.length; at += step) pieces.push(json.slice(at, at + step));
  return pieces;
}

const encoder = new TextEncoder();

function sse(data: object): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(data)}\n\n`);
}

export function errorEvent(message: string): Uint8Array {
  return sse({ error: { message, type: "server_error", code: null } });
}

