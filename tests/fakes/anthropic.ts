/**
 * A local fake of Anthropic's Messages API, for tests and `voicebot bench --fake-providers`:
 * POST /v1/messages with `stream: true` answers with the real SSE events (message_start, ping,
 * content_block_start/delta/stop with text_delta and input_json_delta, message_delta with the stop
 * reason, message_stop), GET /v1/models lists models. It checks the key (401 otherwise), sent as
 * `x-api-key` or, as the SDK's 1.x versions send it, `Authorization: Bearer`, and `anthropic-version`
 * (400 without). The answers come from the same brain as the fake chat
 * (tests/fakes/chat.ts), and by default as Claude answers when offered tools: the tool calls alone,
 * no words (the words come once the results are back). Text at `tokensPerSecond` in token-sized
 * deltas. Faults on request: an error status (500, 529 overloaded…), a stall, a disconnect, an
 * `error` event mid-stream. Bundled into the binary: no test-only imports, no console output.
 */
import { toolCallsFirst, type FakeChatBrain, type FakeChatBrainRequest, type FakeChatFault, type FakeChatFaultChooser } from "./chat.ts";
import type { FakeRoute } from "./http.ts";
import { errorBody, parseMessagesBody, replyEvents, sseEvent, type PacedEvent } from "./anthropic-wire.ts";
import { sleepUnlessAborted, untilAborted } from "./abortable-wait.ts";
import { FaultPlan } from "./fault-plan.ts";

export interface FakeAnthropicOptions {
  /** The key clients must send as `x-api-key`; default "fake-anthropic-key". */
  apiKey?: string;
  brain?: FakeChatBrain;
  /** Delay before the first content block (message_start and a ping go out at once). */
  ttftMs?: number;
  /** Token rate after the first; default 100 (Claude: about 50 to 150). */
  tokensPerSecond?: number;
  /** Answer offered tools with the tool calls alone (as Claude does); default true. */
  toolFirst?: boolean;
  /** What GET /v1/models lists; default DEFAULT_FAKE_CLAUDE_MODELS. */
  models?: readonly string[];
  /** How many requests `requests` keeps (the newest); default 500. */
  maxRecorded?: number;
}

export interface FakeAnthropicSeenRequest extends FakeChatBrainRequest {
  /** The `anthropic-version` header. */
  version: string;
  fault: FakeChatFault["kind"] | null;
}

export interface FakeAnthropicCounts {
  requests: number;
  /** Replies sent to message_stop. */
  completed: number;
  faulted: number;
  /** Streams the client left before the end. */
  abandoned: number;
  /** Requests refused with 400/401. */
  rejected: number;
}

export interface FakeAnthropic extends FakeRoute {
  readonly apiKey: string;
  brain: FakeChatBrain;
  ttftMs: number;
  tokenIntervalMs: number;
  /** The next `count` requests get this fault (queued after earlier failNext calls). */
  failNext(fault: FakeChatFault, count?: number): void;
  /** Every request gets this fault (after any queued ones); a function chooses per request; null stops it. */
  failAll(fault: FakeChatFault | FakeChatFaultChooser | null): void;
  readonly requests: readonly FakeAnthropicSeenRequest[];
  readonly counts: Readonly<FakeAnthropicCounts>;
}

export const DEFAULT_FAKE_CLAUDE_MODELS: readonly string[] = ["claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"];
const MESSAGES_PATH = "/v1/messages";
const MODELS_PATH = "/v1/models";

const defaultBrain: FakeChatBrain = () => ({ text: "D'accord." });

export function createFakeAnthropic(options: FakeAnthropicOptions = {}): FakeAnthropic {
  const apiKey = options.apiKey ?? "fake-anthropic-key";
  const maxRecorded = options.maxRecorded ?? 500;
  const toolFirst = options.toolFirst ?? true;
  const faults = new FaultPlan<FakeChatFault, FakeChatBrainRequest>();
  const requests: FakeAnthropicSeenRequest[] = [];
  const counts: FakeAnthropicCounts = { requests: 0, completed: 0, faulted: 0, abandoned: 0, rejected: 0 };
  let sequence = 0;

  const fake: FakeAnthropic = {
    apiKey,
    brain: options.brain ?? defaultBrain,
    ttftMs: options.ttftMs ?? 0,
    tokenIntervalMs: 1000 / (options.tokensPerSecond ?? 100),
    failNext: (fault, count) => faults.failNext(fault, count),
    failAll: (fault) => faults.failAlways(fault),
    requests,
    counts,
    handle(request, url) {
      if (url.pathname === MODELS_PATH && request.method === "GET") return listModels(request);
      if (url.pathname !== MESSAGES_PATH) return null;
      return answer(request);
    },
  };

  /** Authentication first, as the API does; null = let it through. */
  function refusal(request: Request): Response | null {
    const key = request.headers.get("x-api-key") ?? request.headers.get("authorization")?.replace(/^Bearer /, "");
    if (key !== apiKey) return reject(401, "authentication_error", "invalid x-api-key");
    if (!request.headers.get("anthropic-version")) return reject(400, "invalid_request_error", "anthropic-version: header is required");
    return null;
  }

  async function answer(request: Request): Promise<Response> {
    counts.requests++;
    if (request.method !== "POST") return reject(405, "invalid_request_error", `${request.method} ${MESSAGES_PATH} is not allowed; use POST`);
    const refused = refusal(request);
    if (refused) return refused;
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return reject(400, "invalid_request_error", "the request body is not valid JSON");
    }
    const seen = parseMessagesBody(body);
    if (typeof seen === "string") return reject(400, "invalid_request_error", seen);
    const fault = faults.take(seen);
    requests.push({ ...seen, version: request.headers.get("anthropic-version") ?? "", fault: fault?.kind ?? null });
    if (requests.length > maxRecorded) requests.shift();
    if (fault) counts.faulted++;
    if (fault?.kind === "status") return Response.json(errorBody(statusType(fault.status), fault.message ?? statusMessage(fault.status)), { status: fault.status });
    if (fault?.kind === "stallBeforeHeaders") {
      await untilAborted(request.signal);
      return new Response(null, { status: 499 });
    }
    const reply = toolFirst && seen.tools.length > 0 && seen.toolChoice === undefined ? toolCallsFirst(fake.brain, seen) : fake.brain(seen);
    return streamResponse(request, replyEvents(reply, { id: `msg_fake${++sequence}`, model: seen.model }), fault);
  }

  /** The API's list shape: {data: [{type: "model", id, display_name, created_at}], has_more, first_id, last_id}. */
  function listModels(request: Request): Response {
    const refused = refusal(request);
    if (refused) return refused;
    const ids = options.models ?? DEFAULT_FAKE_CLAUDE_MODELS;
    const data = ids.map((id) => ({ type: "model", id, display_name: id, created_at: "2026-01-01T00:00:00Z" }));
    return Response.json({ data, has_more: false, first_id: ids[0] ?? null, last_id: ids.at(-1) ?? null });
  }

  function reject(status: number, type: string, message: string): Response {
    counts.rejected++;
    return Response.json(errorBody(type, message), { status });
  }

  function streamResponse(request: Request, events: readonly PacedEvent[], fault: FakeChatFault | null): Response {
    const gone = new AbortController();
    const onClientGone = (): void => gone.abort();
    request.signal.addEventListener("abort", onClientGone, { once: true });
    const ttftMs = fake.ttftMs;
    const intervalMs = fake.tokenIntervalMs;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const produce = async (): Promise<void> => {
          for (let i = 0; i < events.length; i++) {
            if (fault?.kind === "stall" && i === (fault.afterChunks ?? 2)) await untilAborted(gone.signal);
            if (fault?.kind === "disconnect" && i === fault.afterChunks) {
              // Lets Bun flush the events already queued; error() without a reason resets the socket quietly.
              await sleepUnlessAborted(Math.max(intervalMs, 10), gone.signal);
              controller.error();
              return;
            }
            if (fault?.kind === "errorEvent" && i === fault.afterChunks) {
              controller.enqueue(sseEvent("error", errorBody("overloaded_error", fault.message ?? "Overloaded")));
              controller.close();
              return;
            }
            const event = events[i] as PacedEvent;
            if (event.pace === "first") await sleepUnlessAborted(ttftMs, gone.signal);
            else if (event.pace === "token") await sleepUnlessAborted(intervalMs, gone.signal);
            if (gone.signal.aborted) return;
            controller.enqueue(event.bytes);
          }
          controller.close();
          counts.completed++;
        };
        const done = (): void => request.signal.removeEventListener("abort", onClientGone);
        produce().then(done, done);
      },
      cancel() {
        counts.abandoned++;
        gone.abort();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": `req_fake${sequence}` },
    });
  }

  return fake;
}

function statusType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

function statusMessage(status: number): string {
  if (status === 529) return "Overloaded";
  if (status === 429) return "Number of request tokens has exceeded your per-minute rate limit";
  if (status >= 500) return "Internal server error";
  return `fake anthropic: status ${status}`;
}
