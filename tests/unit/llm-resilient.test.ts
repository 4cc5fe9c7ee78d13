import { describe, expect, test } from "bun:test";
import { createGroqLlm } from "../../src/ai/llm/groq.ts";
import { createOpenAiLlm } from "../../src/ai/llm/openai.ts";
import { createResilientLlm, type ResilientLanguageModel, type ResilientLlmOptions } from "../../src/ai/llm/resilient.ts";
import { forCall } from "../../src/ai/call-context.ts";
import { ProviderBreakers } from "../../src/ai/circuit-breaker.ts";
import { LlmError, type ChatChunk, type ChatMessage } from "../../src/ai/llm/types.ts";
import type { LogFields, Logger } from "../../src/log.ts";
import { createFakeChat, type FakeChat, type FakeChatOptions } from "../fakes/chat.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { failure } from "../support/provider-streams.ts";

interface LogRecord {
  level: string;
  msg: string;
  fields: LogFields | undefined;
}

function recordingLogger(records: LogRecord[]): Logger {
  const logger: Logger = {
    debug: (msg, fields) => records.push({ level: "debug", msg, fields }),
    info: (msg, fields) => records.push({ level: "info", msg, fields }),
    warn: (msg, fields) => records.push({ level: "warn", msg, fields }),
    error: (msg, fields) => records.push({ level: "error", msg, fields }),
    child: () => logger,
  };
  return logger;
}

interface Rig {
  /** The primary's fake (OpenAI flavour) and the fallback's (Groq flavour), on separate servers. */
  a: FakeChat;
  b: FakeChat;
  llm: ResilientLanguageModel;
  logs: LogRecord[];
  switches: [string, string, string][];
}

interface RigOptions {
  a?: FakeChatOptions & { clientKey?: string };
  b?: FakeChatOptions & { clientKey?: string };
  withFallback?: boolean;
  resilient?: Partial<Pick<ResilientLlmOptions, "ttftTimeoutMs" | "chunkTimeoutMs" | "retryAttempts" | "backoffMs" | "breakers">>;
}

async function withRig(options: RigOptions, body: (rig: Rig) => Promise<void>): Promise<void> {
  const a = createFakeChat({ tokenIntervalMs: 1, brain: () => ({ text: "réponse de A" }), ...options.a });
  const b = createFakeChat({ tokenIntervalMs: 1, brain: () => ({ text: "réponse de B" }), ...options.b });
  const servers: FakeHttpServer[] = [startFakeHttp([a]), startFakeHttp([b])];
  const logs: LogRecord[] = [];
  const log = recordingLogger(logs);
  const [httpA, httpB] = servers as [FakeHttpServer, FakeHttpServer];
  const primary = createOpenAiLlm({ apiKey: options.a?.clientKey ?? a.apiKey, baseUrl: `${httpA.url}/v1`, model: "a", timeoutMs: 5000, log });
  const fallback = createGroqLlm({ apiKey: options.b?.clientKey ?? b.apiKey, baseUrl: httpB.url, model: "b", timeoutMs: 5000, log });
  const switches: [string, string, string][] = [];
  const llm = createResilientLlm({
    primary,
    fallback: options.withFallback === false ? null : fallback,
    ttftTimeoutMs: 400,
    chunkTimeoutMs: 2000,
    retryAttempts: 2,
    backoffMs: 10,
    log,
    onSwitch: (from, to, why) => switches.push([from, to, why]),
    ...options.resilient,
  });
  try {
    await body({ a, b, llm, logs, switches });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const messages: ChatMessage[] = [{ role: "user", content: "Bonjour" }];

async function text(stream: AsyncIterable<ChatChunk>): Promise<string> {
  let out = "";
  for await (const chunk of stream) if (chunk.type === "text") out += chunk.text;
  return out;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await Bun.sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("resilient LLM: time to first token", () => {
  test("a slow primary is abandoned for the fallback after ttftTimeoutMs, and the switch is logged and counted", async () => {
    await withRig({ a: { ttftMs: 3000 } }, async ({ a, b, llm, logs, switches }) => {
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de B");
      expect(llm.stats).toEqual({ switches: 1, retries: 0, failures: 0 });
      expect(switches).toEqual([["openai:a", "groq:b", "no first token within 400 ms"]]);
      expect(logs.some((r) => r.msg === "LLM switched" && r.fields?.from === "openai:a" && r.fields?.to === "groq:b")).toBe(true);
      expect(b.counts.requests).toBe(1);
      await until(() => a.counts.abandoned === 1, "the slow primary's request to be closed");
    });
  });

  test("without a fallback, a primary that misses the deadline fails the turn at once", async () => {
    await withRig({ a: { ttftMs: 3000 }, withFallback: false }, async ({ a, llm, logs }) => {
      const error = await failure(forCall("call-9", () => text(llm.stream({ messages, tools: [] }))));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).message).toContain("no first token within 400 ms");
      expect(a.counts.requests).toBe(1);
      expect(llm.stats).toEqual({ switches: 0, retries: 0, failures: 1 });
      expect(logs.some((r) => r.level === "warn" && r.msg === "LLM first-token deadline missed" && r.fields?.provider === "openai:a" && r.fields?.call === "call-9")).toBe(true);
      await until(() => a.counts.abandoned === 1, "the slow request to be closed");
    });
  });

  test("slow gaps after the first token do not trigger a switch", async () => {
    const brain = () => ({ text: "un deux trois quatre cinq" });
    await withRig({ a: { tokenIntervalMs: 80, brain }, resilient: { ttftTimeoutMs: 50 } }, async ({ b, llm }) => {
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("un deux trois quatre cinq");
      expect(llm.stats.switches).toBe(0);
      expect(b.counts.requests).toBe(0);
    });
  });

  test("both slow: the turn fails after the fallback's deadline too, without waiting for either", async () => {
    await withRig({ a: { ttftMs: 3000 }, b: { ttftMs: 3000 } }, async ({ a, b, llm }) => {
      const error = await failure(text(llm.stream({ messages, tools: [] })));
      expect((error as LlmError).message).toBe("groq:b: no first token within 400 ms");
      expect([a.counts.requests, b.counts.requests]).toEqual([1, 1]);
      expect(llm.stats).toEqual({ switches: 1, retries: 0, failures: 1 });
      await until(() => a.counts.abandoned === 1 && b.counts.abandoned === 1, "both slow requests to be closed");
    });
  });

  test("a stall mid-reply ends the stream with an LlmError after chunkTimeoutMs; the words before it were passed on", async () => {
    const brain = () => ({ text: "un deux trois quatre" });
    await withRig({ a: { brain, tokenIntervalMs: 5000 }, resilient: { chunkTimeoutMs: 150 } }, async ({ a, b, llm, logs }) => {
      const texts: string[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of llm.stream({ messages, tools: [] })) if (chunk.type === "text") texts.push(chunk.text);
        })(),
      );
      expect((error as LlmError).message).toBe("openai:a: stream stalled: no chunk for 150 ms mid-reply");
      expect(texts.join("")).toBe("un");
      expect(b.counts.requests).toBe(0);
      expect(llm.stats.failures).toBe(1);
      expect(logs.some((r) => r.level === "warn" && r.msg === "LLM stalled mid-reply")).toBe(true);
      await until(() => a.counts.abandoned === 1, "the stalled request to be closed");
    });
  });

  test("tool calls count as the first chunk", async () => {
    const brain = () => ({ toolCalls: [{ name: "end_call", arguments: {} }] });
    await withRig({ a: { brain } }, async ({ llm }) => {
      const chunks: ChatChunk[] = [];
      for await (const chunk of llm.stream({ messages, tools: [{ name: "end_call", description: "end", parameters: { type: "object" } }] })) chunks.push(chunk);
      expect(chunks.map((c) => (c.type === "toolCall" ? c.call.name : c.text))).toEqual(["end_call"]);
      expect(llm.stats.switches).toBe(0);
    });
  });
});

describe("resilient LLM: retries", () => {
  test("a 500 is retried on the same provider after a backoff, then succeeds", async () => {
    await withRig({ withFallback: false }, async ({ a, llm, logs }) => {
      a.failNext({ kind: "status", status: 500 });
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de A");
      expect(llm.stats).toEqual({ switches: 0, retries: 1, failures: 0 });
      expect(a.counts.requests).toBe(2);
      expect(logs.some((r) => r.msg === "LLM retry" && r.fields?.delayMs === 10)).toBe(true);
    });
  });

  test("with a fallback, a retry alternates to the other provider without waiting", async () => {
    await withRig({}, async ({ a, b, llm, switches }) => {
      a.failNext({ kind: "status", status: 503 });
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de B");
      expect(llm.stats).toEqual({ switches: 1, retries: 1, failures: 0 });
      expect(a.counts.requests + b.counts.requests).toBe(2);
      expect(switches[0]?.[2]).toContain("HTTP 503");
    });
  });

  test("three failures in a row (retryAttempts 2) end the turn with the last LlmError", async () => {
    await withRig({ withFallback: false }, async ({ a, llm }) => {
      a.failAll({ kind: "status", status: 500 });
      const error = await failure(text(llm.stream({ messages, tools: [] })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).status).toBe(500);
      expect(a.counts.requests).toBe(3);
      expect(llm.stats).toEqual({ switches: 0, retries: 2, failures: 1 });
    });
  });

  test("three failures alternate between both providers before the turn fails", async () => {
    await withRig({}, async ({ a, b, llm }) => {
      a.failAll({ kind: "status", status: 429 });
      b.failAll({ kind: "disconnect", afterChunks: 0 });
      const error = await failure(text(llm.stream({ messages, tools: [] })));
      expect(error).toBeInstanceOf(LlmError);
      expect([a.counts.requests, b.counts.requests]).toEqual([2, 1]);
      expect(llm.stats).toEqual({ switches: 2, retries: 2, failures: 1 });
    });
  });

  test("an error after the first chunk is thrown, not retried", async () => {
    const brain = () => ({ text: "un deux trois quatre cinq six sept huit" });
    await withRig({ a: { brain }, withFallback: false }, async ({ a, llm }) => {
      a.failNext({ kind: "disconnect", afterChunks: 3 });
      const texts: string[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of llm.stream({ messages, tools: [] })) if (chunk.type === "text") texts.push(chunk.text);
        })(),
      );
      expect(error).toBeInstanceOf(LlmError);
      expect(texts.length).toBeGreaterThan(0);
      expect(a.counts.requests).toBe(1);
      expect(llm.stats).toEqual({ switches: 0, retries: 0, failures: 1 });
    });
  });

  test("a non-retryable error on the primary gets one try on the fallback, outside the retry budget", async () => {
    await withRig({ a: { clientKey: "revoked" }, resilient: { retryAttempts: 0 } }, async ({ a, b, llm, switches }) => {
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de B");
      expect([a.counts.requests, b.counts.requests]).toEqual([1, 1]);
      expect(llm.stats).toEqual({ switches: 1, retries: 0, failures: 0 });
      expect(switches[0]?.[2]).toContain("HTTP 401");
    });
  });

  test("non-retryable errors on both providers end the turn at once", async () => {
    await withRig({ a: { clientKey: "revoked" }, b: { clientKey: "revoked" } }, async ({ a, b, llm }) => {
      const error = await failure(text(llm.stream({ messages, tools: [] })));
      expect((error as LlmError).status).toBe(401);
      expect([a.counts.requests, b.counts.requests]).toEqual([1, 1]);
      expect(llm.stats).toEqual({ switches: 1, retries: 0, failures: 1 });
    });
  });

  test("a non-retryable error without a fallback is thrown at once", async () => {
    await withRig({ withFallback: false }, async ({ a, llm }) => {
      a.failNext({ kind: "status", status: 400, message: "bad tool schema" });
      const error = await failure(text(llm.stream({ messages, tools: [] })));
      expect((error as LlmError).message).toContain("bad tool schema");
      expect(a.counts.requests).toBe(1);
      expect(llm.stats).toEqual({ switches: 0, retries: 0, failures: 1 });
    });
  });
});

describe("resilient LLM: the caller's signal", () => {
  test("abort during the backoff throws the reason and no retry follows", async () => {
    await withRig({ withFallback: false, resilient: { backoffMs: 300 } }, async ({ a, llm }) => {
      a.failNext({ kind: "status", status: 500 });
      const controller = new AbortController();
      const pending = failure(text(llm.stream({ messages, tools: [], signal: controller.signal })));
      await until(() => a.counts.requests === 1, "the first request");
      await Bun.sleep(20);
      controller.abort(new Error("caller hung up"));
      expect(((await pending) as Error).message).toBe("caller hung up");
      await Bun.sleep(400);
      expect(a.counts.requests).toBe(1);
      expect(llm.stats.failures).toBe(0);
    });
  });

  test("abort while waiting for the first token stops the request and the TTFT timer", async () => {
    await withRig({ a: { ttftMs: 3000 }, resilient: { ttftTimeoutMs: 200 } }, async ({ a, b, llm }) => {
      const controller = new AbortController();
      const pending = failure(text(llm.stream({ messages, tools: [], signal: controller.signal })));
      await until(() => a.counts.requests === 1, "the first request");
      controller.abort(new Error("barge-in"));
      expect(((await pending) as Error).message).toBe("barge-in");
      await Bun.sleep(300);
      expect(b.counts.requests).toBe(0);
      expect(llm.stats).toEqual({ switches: 0, retries: 0, failures: 0 });
      await until(() => a.counts.abandoned === 1, "the request to be closed");
    });
  });

  test("abort mid-reply throws the reason, counts no failure and closes the request", async () => {
    const brain = () => ({ text: "un deux trois quatre cinq six sept huit neuf" });
    await withRig({ a: { brain, tokenIntervalMs: 20 } }, async ({ a, llm }) => {
      const controller = new AbortController();
      const error = await failure(
        (async () => {
          for await (const chunk of llm.stream({ messages, tools: [], signal: controller.signal })) {
            if (chunk.type === "text") controller.abort(new Error("stop"));
          }
        })(),
      );
      expect((error as Error).message).toBe("stop");
      expect(llm.stats.failures).toBe(0);
      await until(() => a.counts.abandoned === 1, "the request to be closed");
    });
  });

  test("leaving the loop early closes the provider's request", async () => {
    const brain = () => ({ text: "un deux trois quatre cinq six sept huit neuf" });
    await withRig({ a: { brain, tokenIntervalMs: 20 } }, async ({ a, llm }) => {
      for await (const chunk of llm.stream({ messages, tools: [] })) if (chunk.type === "text") break;
      await until(() => a.counts.abandoned === 1, "the request to be closed");
      expect(llm.stats).toEqual({ switches: 0, retries: 0, failures: 0 });
    });
  });
});

describe("resilient LLM: circuit breakers", () => {
  const breakers = (clock: { now: number }): ProviderBreakers =>
    new ProviderBreakers({ failures: 2, cooldownMs: 30_000, log: recordingLogger([]), now: () => clock.now });

  test("a provider that failed twice in a row is skipped until its cool-down ends; then one trial", async () => {
    const clock = { now: 1_000 };
    const set = breakers(clock);
    await withRig({ a: { clientKey: "revoked" }, resilient: { breakers: set } }, async ({ a, b, llm, switches }) => {
      for (let turn = 0; turn < 2; turn++) expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de B");
      expect(set.for("openai:a").snapshot()).toMatchObject({ state: "open", failures: 2, openSince: 1_000, openUntil: 31_000, opens: 1 });
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de B");
      expect([a.counts.requests, b.counts.requests]).toEqual([2, 3]);
      expect(switches.at(-1)).toEqual(["openai:a", "groq:b", "circuit open"]);
      expect(set.for("groq:b").snapshot().state).toBe("closed");
      clock.now = 31_000;
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de B");
      expect(a.counts.requests).toBe(3);
      expect(set.for("openai:a").snapshot()).toMatchObject({ state: "open", opens: 2, openSince: 1_000, openUntil: 61_000 });
    });
  });

  test("a missed first-token deadline counts as a failure; both open: the turn fails without a request", async () => {
    const clock = { now: 0 };
    const set = breakers(clock);
    await withRig({ a: { ttftMs: 3000 }, b: { ttftMs: 3000 }, resilient: { breakers: set } }, async ({ a, b, llm }) => {
      for (let turn = 0; turn < 2; turn++) await failure(text(llm.stream({ messages, tools: [] })));
      expect([set.for("openai:a").state, set.for("groq:b").state]).toEqual(["open", "open"]);
      const error = await failure(text(llm.stream({ messages, tools: [] })));
      expect((error as Error).message).toContain("circuit is open");
      expect([a.counts.requests, b.counts.requests]).toEqual([2, 2]);
    });
  });

  test("a success closes a half-open breaker", async () => {
    const clock = { now: 0 };
    const set = breakers(clock);
    await withRig({ resilient: { breakers: set } }, async ({ llm }) => {
      const breaker = set.for("openai:a");
      breaker.failure();
      breaker.failure();
      clock.now = 30_000;
      expect(breaker.state).toBe("half-open");
      expect(await text(llm.stream({ messages, tools: [] }))).toBe("réponse de A");
      expect(breaker.snapshot()).toMatchObject({ state: "closed", failures: 0, openSince: null, openUntil: null });
    });
  });
  test("a half-open trial cut by the caller once its first token came (a barge-in) closes the breaker", async () => {
    const clock = { now: 0 };
    const set = breakers(clock);
    const brain = () => ({ text: "un deux trois quatre cinq six sept huit neuf" });
    await withRig({ a: { brain, tokenIntervalMs: 20 }, resilient: { breakers: set } }, async ({ a, llm }) => {
      const breaker = set.for("openai:a");
      breaker.failure();
      breaker.failure();
      clock.now = 30_000;
      expect(breaker.state).toBe("half-open");
      for await (const chunk of llm.stream({ messages, tools: [] })) if (chunk.type === "text") break;
      await until(() => a.counts.abandoned === 1, "the request to be closed");
      expect(breaker.snapshot()).toMatchObject({ state: "closed", failures: 0 });
    });
  });
});

describe("resilient LLM: options", () => {
  test("bad options are refused with a specific message", async () => {
    await withRig({}, async ({ llm }) => {
      const base = { primary: llm, fallback: null, ttftTimeoutMs: 1000, retryAttempts: 2, log: recordingLogger([]) };
      expect(() => createResilientLlm({ ...base, ttftTimeoutMs: 0 })).toThrow("ttftTimeoutMs 0 is invalid");
      expect(() => createResilientLlm({ ...base, retryAttempts: -1 })).toThrow("retryAttempts -1 is invalid");
      expect(() => createResilientLlm({ ...base, backoffMs: Number.NaN })).toThrow("backoffMs NaN is invalid");
    });
  });

  test("the id names both providers", async () => {
    await withRig({}, async ({ llm }) => expect(llm.id).toBe("openai:a|groq:b"));
  });
});
