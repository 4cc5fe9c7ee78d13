/**
 * A local fake of the OpenAI and Groq streamed chat-completions API, for tests and
 * `voicebot bench --fake-providers`. It answers POST /v1/chat/completions (OpenAI flavour) and
 * POST /openai/v1/chat/completions (Groq flavour, where groq-sdk puts its prefix) with real SSE:
 * the role chunk at once, then after `ttftMs` the reply in word-sized deltas and tool calls in
 * pieces, the finish chunk and `data: [DONE]`. Faults are scripted per request or for all.
 * With `realistic`, it answers as the real models do: a reply the brain gives with tool calls is
 * sent as the tool calls alone, no text (the text comes in the next completion, once the tool
 * results are in), at `tokensPerSecond` in token-sized deltas, tool arguments in many pieces.
 * Bundled into the binary: no test-only imports, no console output.
 */
import { errorEvent, replyChunks } from "./chat-chunks.ts";
import type { FakeRoute } from "./http.ts";
import { sleepUnlessAborted, untilAborted } from "./abortable-wait.ts";
import { FaultPlan } from "./fault-plan.ts";

export type FakeChatFlavour = "openai" | "groq";

export interface FakeChatToolCallMessage {
  id: string;
  type?: string;
  function: { name: string; arguments: string };
}

/** A message as the vendor receives it (OpenAI wire shape). */
export interface FakeChatMessage {
  role: string;
  content?: string | null;
  tool_calls?: readonly FakeChatToolCallMessage[];
  tool_call_id?: string;
}

export interface FakeChatBrainRequest {
  model: string;
  messages: readonly FakeChatMessage[];
  /** Names of the tools offered. */
  tools: readonly string[];
  /** The tool the request forces (`tool_choice: {type: "function", function: {name}}`), if any. */
  toolChoice?: string;
}

export interface FakeChatReply {
  text?: string;
  toolCalls?: readonly { name: string; arguments: object }[];
  /** Groq flavour only: streamed as `delta.reasoning` before the text, as Groq's parsed reasoning is. */
  reasoning?: string;
}

export type FakeChatBrain = (request: FakeChatBrainRequest) => FakeChatReply;

export type FakeChatFault =
  /** An error status with a vendor-shaped JSON body. */
  | { kind: "status"; status: number; message?: string }
  /**
   * Headers and the first `afterChunks` SSE chunks (default 1: the role chunk alone, so a stall
   * before the first token; more: after some tokens or tool-call pieces), then nothing until the
   * client goes away.
   */
  | { kind: "stall"; afterChunks?: number }
  /** No response at all until the client goes away. */
  | { kind: "stallBeforeHeaders" }
  /** Breaks the connection after `afterChunks` SSE chunks (the role chunk counts). */
  | { kind: "disconnect"; afterChunks: number }
  /** A `data: {"error":…}` event after `afterChunks` chunks, then the stream ends. */
  | { kind: "errorEvent"; afterChunks: number; message?: string };

export type FakeChatFaultChooser = (request: FakeChatBrainRequest) => FakeChatFault | null;

export interface FakeChatOptions {
  /** The Bearer key clients must send; default "fake-chat-key". */
  apiKey?: string;
  brain?: FakeChatBrain;
  /** Delay before the first content chunk (headers and the role chunk go out at once). */
  ttftMs?: number;
  /** Delay between later chunks; default 2 ms (realistic: 1000 / tokensPerSecond). */
  tokenIntervalMs?: number;
  /** Answer as the real models do (see above). */
  realistic?: boolean;
  /** Realistic mode's token rate; default 100 (the real vendors: about 50 to 200). */
  tokensPerSecond?: number;
  /** OpenAI flavour: add the usage-only last chunk even when `stream_options.include_usage` is not asked. */
  usageChunk?: boolean;
  /** How many requests `requests` keeps (the newest); default 500. */
  maxRecorded?: number;
  /** What GET /v1/models (and Groq's /openai/v1/models) lists; default DEFAULT_FAKE_MODELS. */
  models?: readonly string[];
}

export interface FakeChatSeenRequest {
  path: string;
  flavour: FakeChatFlavour;
  model: string;
  messages: readonly FakeChatMessage[];
  tools: readonly string[];
  toolChoice: string | null;
  fault: FakeChatFault["kind"] | null;
}

export interface FakeChatCounts {
  requests: number;
  /** Replies sent to the end (`[DONE]` written). */
  completed: number;
  /** Faults served. */
  faulted: number;
  /** Streams the client left before the end. */
  abandoned: number;
  /** Requests refused with 400/401. */
  rejected: number;
}

export interface FakeChat extends FakeRoute {
  readonly apiKey: string;
  brain: FakeChatBrain;
  ttftMs: number;
  tokenIntervalMs: number;
  /** The next `count` requests get this fault (queued after earlier failNext calls). */
  failNext(fault: FakeChatFault, count?: number): void;
  /**
   * Every request gets this fault (after any queued ones); null stops it. A function chooses per
   * request (null = answer normally), e.g. only the continuation after a tool call.
   */
  failAll(fault: FakeChatFault | FakeChatFaultChooser | null): void;
  readonly requests: readonly FakeChatSeenRequest[];
  readonly counts: Readonly<FakeChatCounts>;
}

/** The models the fake lists unless told otherwise: each flavour's default and a few more. */
export const DEFAULT_FAKE_MODELS: readonly string[] = ["llama-3.3-70b-versatile", "llama-3.1-8b-instant", "gpt-4.1-mini", "gpt-4o-mini", "gpt-4o-mini-tts"];
const MODELS_PATHS = new Set(["/v1/models", "/openai/v1/models"]);
const OPENAI_PATH = "/v1/chat/completions";
const GROQ_PATH = "/openai/v1/chat/completions";
const encoder = new TextEncoder();
const DONE = encoder.encode("data: [DONE]\n\n");

const defaultBrain: FakeChatBrain = () => ({ text: "D'accord." });

export function createFakeChat(options: FakeChatOptions = {}): FakeChat {
  const apiKey = options.apiKey ?? "fake-chat-key";
  const maxRecorded = options.maxRecorded ?? 500;
  const faults = new FaultPlan<FakeChatFault, FakeChatBrainRequest>();
  const requests: FakeChatSeenRequest[] = [];
  const counts: FakeChatCounts = { requests: 0, completed: 0, faulted: 0, abandoned: 0, rejected: 0 };
  let sequence = 0;

  const chat: FakeChat = {
    apiKey,
    brain: options.brain ?? defaultBrain,
    ttftMs: options.ttftMs ?? 0,
    tokenIntervalMs: options.tokenIntervalMs ?? (options.realistic === true ? 1000 / (options.tokensPerSecond ?? 100) : 2),
    failNext: (fault, count) => faults.failNext(fault, count),
    failAll: (fault) => faults.failAlways(fault),
    requests,
    counts,
    handle(request, url) {
      if (MODELS_PATHS.has(url.pathname) && request.method === "GET") return listModels(request);
      const flavour: FakeChatFlavour | null = url.pathname === OPENAI_PATH ? "openai" : url.pathname === GROQ_PATH ? "groq" : null;
      if (!flavour) return null;
      return answer(request, url.pathname, flavour);
    },
  };

  async function answer(request: Request, path: string, flavour: FakeChatFlavour): Promise<Response> {
    counts.requests++;
    if (request.method !== "POST") return reject(405, `${request.method} ${path} is not allowed; use POST`, "invalid_request_error", null);
    if (request.headers.get("authorization") !== `Bearer ${apiKey}`) {
      return reject(401, "Invalid API Key", "invalid_request_error", "invalid_api_key");
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return reject(400, "the request body is not valid JSON", "invalid_request_error", null);
    }
    const parsed = parseBody(body);
    if (typeof parsed === "string") return reject(400, parsed, "invalid_request_error", null);
    const seen: FakeChatBrainRequest = { model: parsed.model, messages: parsed.messages, tools: parsed.tools, ...(parsed.toolChoice === undefined ? {} : { toolChoice: parsed.toolChoice }) };
    const fault = faults.take(seen);
    requests.push({ path, flavour, model: parsed.model, messages: parsed.messages, tools: parsed.tools, toolChoice: parsed.toolChoice ?? null, fault: fault?.kind ?? null });
    if (requests.length > maxRecorded) requests.shift();
    if (fault) counts.faulted++;
    if (fault?.kind === "status") {
      return vendorError(fault.status, fault.message ?? defaultStatusMessage(fault.status), statusType(fault.status), null);
    }
    if (fault?.kind === "stallBeforeHeaders") {
      await untilAborted(request.signal);
      return new Response(null, { status: 499 });
    }
    const realistic = options.realistic === true;
    const reply = realistic ? toolCallsFirst(chat.brain, seen) : chat.brain(seen);
    const usage = flavour === "openai" && (parsed.includeUsage || options.usageChunk === true);
    const chunks = replyChunks(reply, { id: `chatcmpl-fake${++sequence}`, model: parsed.model, flavour, usage, pieces: realistic ? "realistic" : "scripted" });
    return streamResponse(request, chunks, fault);
  }

  /** The vendors' list shape: {object: "list", data: [{id, object: "model", created, owned_by}]}. */
  function listModels(request: Request): Response {
    if (request.headers.get("authorization") !== `Bearer ${apiKey}`) return reject(401, "Invalid API Key", "invalid_request_error", "invalid_api_key");
    const data = (options.models ?? DEFAULT_FAKE_MODELS).map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "fake" }));
    return Response.json({ object: "list", data });
  }

  function reject(status: number, message: string, type: string, code: string | null): Response {
    counts.rejected++;
    return vendorError(status, message, type, code);
  }

  function streamResponse(request: Request, chunks: readonly Uint8Array[], fault: FakeChatFault | null): Response {
    const ttftMs = chat.ttftMs;
    const intervalMs = chat.tokenIntervalMs;
    const gone = new AbortController();
    const onClientGone = (): void => gone.abort();
    request.signal.addEventListener("abort", onClientGone, { once: true });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const produce = async (): Promise<void> => {
          for (let i = 0; i < chunks.length; i++) {
            if (fault?.kind === "stall" && i === (fault.afterChunks ?? 1)) await untilAborted(gone.signal);
            if (fault?.kind === "disconnect" && i === fault.afterChunks) {
              // Lets Bun flush the chunks already queued; error() without a reason resets the socket quietly.
              await sleepUnlessAborted(Math.max(intervalMs, 10), gone.signal);
              controller.error();
              return;
            }
            if (fault?.kind === "errorEvent" && i === fault.afterChunks) {
              controller.enqueue(errorEvent(fault.message ?? "The server had an error while processing your request."));
              controller.close();
              return;
            }
            if (i === 1) await sleepUnlessAborted(ttftMs, gone.signal);
            else if (i > 1) await sleepUnlessAborted(intervalMs, gone.signal);
            if (gone.signal.aborted) return;
            controller.enqueue(chunks[i] as Uint8Array);
          }
          controller.enqueue(DONE);
          controller.close();
          counts.completed++;
        };
        produce().then(
          () => request.signal.removeEventListener("abort", onClientGone),
          () => request.signal.removeEventListener("abort", onClientGone),
        );
      },
      cancel() {
        counts.abandoned++;
        gone.abort();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": `req_fake${sequence}` },
    });
  }

  return chat;
}

/**
 * What a real model offered tools does: the tool calls first, with no words; the words once the
 * results are back (the brain's text for the conversation as it stood before the calls). A result
 * that says ok:false is the brain's to answer, as it is in scripted mode.
 */
export function toolCallsFirst(brain: FakeChatBrain, request: FakeChatBrainRequest): FakeChatReply {
  const messages = request.messages;
  if (messages.at(-1)?.role === "tool") {
    const asked = messages.findLastIndex((m) => m.role === "assistant" && m.tool_calls !== undefined);
    const results = messages.slice(asked + 1);
    if (asked < 0 || results.some((m) => (m.content ?? "").includes('"ok":false'))) return brain(request);
    const text = brain({ ...request, messages: messages.slice(0, asked) }).text;
    return text === undefined ? {} : { text };
  }
  const reply = brain(request);
  return reply.toolCalls !== undefined && reply.toolCalls.length > 0 ? { toolCalls: reply.toolCalls } : reply;
}

interface ParsedBody {
  model: string;
  messages: FakeChatMessage[];
  tools: string[];
  toolChoice?: string;
  includeUsage: boolean;
}

/** Checks what the real APIs reject; returns the vendor-style message of the first problem. */
function parseBody(body: unknown): ParsedBody | string {
  if (typeof body !== "object" || body === null) return "the request body must be a JSON object";
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model === "") return "'model' is required and must be a non-empty string";
  if (b.stream !== true) return "this fake only streams: 'stream' must be true";
  if (!Array.isArray(b.messages) || b.messages.length === 0) return "'messages' must be a non-empty array";
  const messages: FakeChatMessage[] = [];
  const openCalls = new Set<string>();
  for (const [i, raw] of (b.messages as unknown[]).entries()) {
    const m = raw as FakeChatMessage;
    if (typeof m !== "object" || m === null) return `messages[${i}] must be an object`;
    if (m.role === "system" || m.role === "user") {
      if (typeof m.content !== "string") return `messages[${i}].content must be a string for role '${m.role}'`;
    } else if (m.role === "assistant") {
      if (m.content !== null && m.content !== undefined && typeof m.content !== "string") return `messages[${i}].content must be a string or null`;
      if (m.tool_calls !== undefined) {
        if (!Array.isArray(m.tool_calls) || m.tool_calls.length === 0) return `messages[${i}].tool_calls must be a non-empty array when present`;
        for (const call of m.tool_calls as unknown[] as (FakeChatToolCallMessage | null)[]) {
          if (typeof call !== "object" || call === null || typeof call.id !== "string" || call.type !== "function" || typeof call.function?.name !== "string" || typeof call.function.arguments !== "string") {
            return `messages[${i}].tool_calls entries need id, type 'function' and function {name, arguments (a string)}`;
          }
          openCalls.add(call.id);
        }
      } else if (typeof m.content !== "string") {
        return `messages[${i}] with role 'assistant' must have content or tool_calls`;
      }
    } else if (m.role === "tool") {
      if (typeof m.tool_call_id !== "string" || !openCalls.has(m.tool_call_id)) {
        return `messages[${i}] with role 'tool' must answer a tool_call_id of an earlier assistant message; got ${JSON.stringify(m.tool_call_id)}`;
      }
      if (typeof m.content !== "string") return `messages[${i}].content must be a string for role 'tool'`;
    } else {
      return `messages[${i}].role ${JSON.stringify(m.role)} is invalid; allowed: system, user, assistant, tool`;
    }
    messages.push(m);
  }
  const tools: string[] = [];
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) return "'tools' must be an array";
    for (const [i, tool] of (b.tools as unknown[]).entries()) {
      const t = tool as { type?: unknown; function?: { name?: unknown; parameters?: unknown } };
      if (t?.type !== "function" || typeof t.function?.name !== "string") return `tools[${i}] must be {type: 'function', function: {name, ...}}`;
      if (t.function.parameters !== undefined && (typeof t.function.parameters !== "object" || t.function.parameters === null)) {
        return `tools[${i}].function.parameters must be a JSON Schema object`;
      }
      tools.push(t.function.name);
    }
  }
  const streamOptions = b.stream_options as { include_usage?: unknown } | undefined;
  const choice = parseToolChoice(b.tool_choice, tools);
  if (typeof choice === "object") return choice.error;
  return { model: b.model, messages, tools, includeUsage: streamOptions?.include_usage === true, ...(choice === undefined ? {} : { toolChoice: choice }) };
}

/** "auto", "none", "required", or {type: "function", function: {name}} naming an offered tool. */
function parseToolChoice(raw: unknown, tools: readonly string[]): string | undefined | { error: string } {
  if (raw === undefined || raw === "auto" || raw === "none" || raw === "required") return undefined;
  const choice = raw as { type?: unknown; function?: { name?: unknown } } | null;
  const name = choice?.function?.name;
  if (choice?.type !== "function" || typeof name !== "string") return { error: "'tool_choice' must be none, auto, required or {type: 'function', function: {name}}" };
  if (!tools.includes(name)) return { error: `tool_choice names ${JSON.stringify(name)}, which is not in 'tools'` };
  return name;
}

function vendorError(status: number, message: string, type: string, code: string | null): Response {
  return Response.json({ error: { message, type, code } }, { status });
}

function defaultStatusMessage(status: number): string {
  if (status === 401) return "Invalid API Key";
  if (status === 429) return "Rate limit reached for model. Please try again in 1s.";
  if (status >= 500) return "The server had an error while processing your request.";
  return `fake chat: status ${status}`;
}

function statusType(status: number): string {
  if (status === 429) return "rate_limit_exceeded";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}
