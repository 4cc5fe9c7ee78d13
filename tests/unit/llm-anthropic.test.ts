import { describe, expect, test } from "bun:test";
import { CONTINUE_PROMPT, toAnthropicConversation } from "../../src/ai/llm/anthropic-messages.ts";
import { createAnthropicLlm } from "../../src/ai/llm/anthropic.ts";
import { createGroqLlm } from "../../src/ai/llm/groq.ts";
import { createResilientLlm } from "../../src/ai/llm/resilient.ts";
import { LlmError, type ChatMessage, type LanguageModel, type ToolCall, type ToolSpec } from "../../src/ai/llm/types.ts";
import { rootLogger } from "../../src/log.ts";
import { createFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from "../fakes/anthropic.ts";
import { createFakeChat } from "../fakes/chat.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { collectChat, failure } from "../support/provider-streams.ts";

const log = rootLogger.child("anthropic-test");

interface Rig {
  fake: FakeAnthropic;
  http: FakeHttpServer;
  llm: LanguageModel;
}

async function withRig(options: FakeAnthropicOptions & { timeoutMs?: number; clientKey?: string }, body: (rig: Rig) => Promise<void>): Promise<void> {
  const fake = createFakeAnthropic({ tokensPerSecond: 1000, ...options });
  const http = startFakeHttp([fake]);
  try {
    const llm = createAnthropicLlm({ apiKey: options.clientKey ?? fake.apiKey, baseUrl: http.url, model: "claude-haiku-5-5", timeoutMs: options.timeoutMs ?? 5000, log });
    await body({ fake, http, llm });
  } finally {
    await http.stop();
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await Bun.sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const tools: ToolSpec[] = [
  { name: "record_customer", description: "Record the caller", parameters: { type: "object", properties: { name: { type: "string" } } } },
  { name: "set_problem", description: "Set the problem", parameters: { type: "object", properties: { kind: { type: "string" } } } },
];
const hello: ChatMessage[] = [
  { role: "system", content: "Tu es l'agent SAV." },
  { role: "user", content: "Bonjour, ma box ne marche plus" },
];
const withTools = () => ({
  text: "Très bien.",
  toolCalls: [
    { name: "record_customer", arguments: { name: "Jean Dupont", phone: "0612345678" } },
    { name: "set_problem", arguments: { kind: "internet" } },
  ],
});

describe("Claude against the fake Messages API", () => {
  test("streams the text in several deltas; the request has the key, the version, the system prompt apart and a token bound", async () => {
    const text = "Je suis désolé. Pouvez-vous me donner votre nom ?";
    await withRig({ brain: () => ({ text }) }, async ({ fake, llm }) => {
      const { texts, calls } = await collectChat(llm.stream({ messages: hello, tools: [] }));
      expect(texts.length).toBeGreaterThan(3);
      expect(texts.join("")).toBe(text);
      expect(calls).toEqual([]);
      const seen = fake.requests[0];
      expect(seen?.version).not.toBe("");
      expect(seen?.model).toBe("claude-haiku-5-5");
      expect(seen?.messages).toEqual([{ role: "system", content: "Tu es l'agent SAV." }, { role: "user", content: "Bonjour, ma box ne marche plus" }]);
      expect(llm.id).toBe("anthropic:claude-haiku-5-5");
    });
  });

  test("offered tools, Claude answers with the tool calls alone; their results sent back get the words", async () => {
    await withRig({ brain: withTools }, async ({ fake, llm }) => {
      const first = await collectChat(llm.stream({ messages: hello, tools }));
      expect(first.texts).toEqual([]);
      expect(first.calls.map((c) => c.name)).toEqual(["record_customer", "set_problem"]);
      expect(JSON.parse(first.calls[0]?.arguments ?? "")).toEqual({ name: "Jean Dupont", phone: "0612345678" });
      expect(first.calls[0]?.id).toMatch(/^toolu_/);
      const results: ChatMessage[] = first.calls.map((call) => ({ role: "tool", toolCallId: call.id, content: '{"ok":true}' }));
      const after = await collectChat(llm.stream({ messages: [...hello, { role: "assistant", content: "", toolCalls: first.calls }, ...results], tools }));
      expect(after.texts.join("")).toBe("Très bien.");
      expect(after.calls).toEqual([]);
      // The brain saw the exchange in the same shape whatever the vendor.
      expect(fake.requests[1]?.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "tool"]);
      expect(fake.requests[1]?.messages[2]?.tool_calls?.map((c) => c.function.name)).toEqual(["record_customer", "set_problem"]);
    });
  });

  test("without tool-first answers, text then tool calls, each call once complete", async () => {
    await withRig({ brain: withTools, toolFirst: false }, async ({ llm }) => {
      const { texts, order, calls } = await collectChat(llm.stream({ messages: hello, tools }));
      expect(texts.join("")).toBe("Très bien.");
      expect(order.slice(-2)).toEqual(["toolCall", "toolCall"]);
      expect(order.indexOf("toolCall")).toBeGreaterThan(order.lastIndexOf("text"));
      expect(calls[0]?.id).not.toBe(calls[1]?.id);
    });
  });

  test("a forced tool reaches the API as tool_choice {type: tool}; an unknown one is refused", async () => {
    const brain = () => ({ toolCalls: [{ name: "set_problem", arguments: { kind: "mobile" } }] });
    await withRig({ brain }, async ({ fake, llm }) => {
      const { calls } = await collectChat(llm.stream({ messages: hello, tools, toolChoice: "set_problem" }));
      expect(fake.requests[0]?.toolChoice).toBe("set_problem");
      expect(calls.map((c) => [c.name, c.arguments])).toEqual([["set_problem", '{"kind":"mobile"}']]);
      const error = await failure(collectChat(llm.stream({ messages: hello, tools, toolChoice: "launch_rocket" })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).status).toBe(400);
      expect((error as LlmError).retryable).toBe(false);
    });
  });

  test("a history another provider wrote (ids with dots, a cut starting on the bot's words) is accepted", async () => {
    await withRig({}, async ({ fake, llm }) => {
      const call: ToolCall = { id: "call.groq:1", name: "set_problem", arguments: "not json" };
      const messages: ChatMessage[] = [
        { role: "system", content: "Tu es l'agent SAV." },
        { role: "assistant", content: "Bonjour.", toolCalls: [call] },
        { role: "tool", toolCallId: call.id, content: '{"ok":false,"error":"bad arguments"}' },
        { role: "user", content: "allô ?" },
      ];
      const { texts } = await collectChat(llm.stream({ messages, tools }));
      expect(texts.join("")).toBe("D'accord.");
      expect(fake.requests[0]?.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "user"]);
    });
  });

  test("a wrong key is a non-retryable LlmError with status 401 and the API's message", async () => {
    await withRig({ clientKey: "wrong" }, async ({ fake, llm }) => {
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect(error).toMatchObject({ status: 401, retryable: false, provider: "anthropic:claude-haiku-5-5" });
      expect((error as LlmError).message).toContain("invalid x-api-key");
      expect(fake.counts.rejected).toBe(1);
    });
  });

  test.each([
    [529, true],
    [500, true],
    [429, true],
    [400, false],
    [404, false],
  ])("status %d is an LlmError, retryable: %p", async (status, retryable) => {
    await withRig({}, async ({ fake, llm }) => {
      fake.failNext({ kind: "status", status, message: `fake failure ${status}` });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect(error).toMatchObject({ status, retryable });
      expect((error as LlmError).message).toContain(`fake failure ${status}`);
    });
  });

  test("a connection dropped mid-reply is a retryable LlmError without a status", async () => {
    await withRig({ brain: () => ({ text: "un deux trois quatre cinq six" }) }, async ({ fake, llm }) => {
      fake.failNext({ kind: "disconnect", afterChunks: 4 });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect(error).toMatchObject({ status: null, retryable: true });
    });
  });

  test("an error event mid-stream is a retryable LlmError naming the API's words", async () => {
    await withRig({ brain: () => ({ text: "un deux trois quatre" }) }, async ({ fake, llm }) => {
      fake.failNext({ kind: "errorEvent", afterChunks: 3 });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).retryable).toBe(true);
      expect((error as LlmError).message).toContain("error event mid-stream: Overloaded (overloaded_error)");
    });
  });

  test("a stall after the headers, and no headers at all, end in retryable LlmErrors after timeoutMs", async () => {
    await withRig({ timeoutMs: 150 }, async ({ fake, llm }) => {
      fake.failNext({ kind: "stall" });
      const stalled = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(stalled).toBeInstanceOf(LlmError);
      expect((stalled as LlmError).message).toContain("stream stalled: no data for 150 ms");
      fake.failNext({ kind: "stallBeforeHeaders" });
      const silent = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(silent).toMatchObject({ retryable: true });
      expect((silent as LlmError).message).toContain("no response headers within 150 ms");
    });
  });

  test("aborting mid-reply throws the abort reason and closes the request", async () => {
    await withRig({ tokensPerSecond: 50, brain: () => ({ text: "un deux trois quatre cinq six sept huit neuf dix" }) }, async ({ fake, llm }) => {
      const controller = new AbortController();
      const reason = new Error("caller barged in");
      const texts: string[] = [];
      const error = await failure((async () => {
        for await (const chunk of llm.stream({ messages: hello, tools: [], signal: controller.signal })) {
          if (chunk.type === "text") texts.push(chunk.text);
          if (texts.length === 2) controller.abort(reason);
        }
      })());
      expect(error).toBe(reason);
      expect(texts.length).toBe(2);
      await until(() => fake.counts.abandoned === 1, "the fake to see the stream closed");
      expect(fake.counts.completed).toBe(0);
    });
  });
});

describe("Claude behind the resilient model", () => {
  test("as the fallback of Groq: Groq's 500s move the turn to Claude, which answers", async () => {
    const claude = createFakeAnthropic({ brain: () => ({ text: "Claude répond." }), tokensPerSecond: 1000 });
    const chat = createFakeChat({ tokenIntervalMs: 1 });
    const http = startFakeHttp([claude, chat]);
    try {
      chat.failAll({ kind: "status", status: 500 });
      const llm = createResilientLlm({
        primary: createGroqLlm({ apiKey: chat.apiKey, baseUrl: http.url, model: "llama-test", timeoutMs: 5000, log }),
        fallback: createAnthropicLlm({ apiKey: claude.apiKey, baseUrl: http.url, model: "claude-haiku-5-5", timeoutMs: 5000, log }),
        ttftTimeoutMs: 3000, retryAttempts: 1, backoffMs: 1, log,
      });
      const { texts } = await collectChat(llm.stream({ messages: hello, tools: [] }));
      expect(texts.join("")).toBe("Claude répond.");
      expect(llm.stats.switches).toBe(1);
    } finally {
      await http.stop();
    }
  });

  test("as the main model: a first token that misses its deadline moves the turn to the fallback", async () => {
    const claude = createFakeAnthropic({ ttftMs: 10_000 });
    const chat = createFakeChat({ tokenIntervalMs: 1, brain: () => ({ text: "Groq répond." }) });
    const http = startFakeHttp([claude, chat]);
    try {
      const llm = createResilientLlm({
        primary: createAnthropicLlm({ apiKey: claude.apiKey, baseUrl: http.url, model: "claude-haiku-5-5", timeoutMs: 20_000, log }),
        fallback: createGroqLlm({ apiKey: chat.apiKey, baseUrl: http.url, model: "llama-test", timeoutMs: 5000, log }),
        ttftTimeoutMs: 1000, retryAttempts: 1, log,
      });
      const { texts } = await collectChat(llm.stream({ messages: hello, tools: [] }));
      expect(texts.join("")).toBe("Groq répond.");
      await until(() => claude.counts.abandoned === 1, "the slow Claude request to be closed");
    } finally {
      await http.stop();
    }
  });
});

describe("messages in Anthropic's shape", () => {
  test("system apart, tool results first in the next user turn, turns merged to alternate, the user first and last", () => {
    const call: ToolCall = { id: "toolu_1", name: "set_problem", arguments: '{"kind":"internet"}' };
    const { system, messages } = toAnthropicConversation([
      { role: "system", content: "A" },
      { role: "system", content: "B" },
      { role: "user", content: "allô" },
      { role: "assistant", content: "", toolCalls: [call] },
      { role: "tool", toolCallId: "toolu_1", content: "ok" },
      { role: "user", content: "et alors ?" },
      { role: "assistant", content: "Voilà." },
    ]);
    expect(system).toBe("A\n\nB");
    expect(messages).toEqual([
      { role: "user", content: [{ type: "text", text: "allô" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "set_problem", input: { kind: "internet" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }, { type: "text", text: "et alors ?" }] },
      { role: "assistant", content: [{ type: "text", text: "Voilà." }] },
      { role: "user", content: [{ type: "text", text: CONTINUE_PROMPT }] },
    ]);
  });
});
