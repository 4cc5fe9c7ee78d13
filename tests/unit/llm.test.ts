import { describe, expect, test } from "bun:test";
import { createGroqLlm } from "../../src/ai/llm/groq.ts";
import { createOpenAiLlm } from "../../src/ai/llm/openai.ts";
import { LlmError, type ChatMessage, type LanguageModel, type ToolCall, type ToolSpec } from "../../src/ai/llm/types.ts";
import { rootLogger } from "../../src/log.ts";
import { createFakeChat, type FakeChat, type FakeChatFlavour, type FakeChatOptions } from "../fakes/chat.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { collectChat, failure } from "../support/provider-streams.ts";

const log = rootLogger.child("llm-test");

interface Rig {
  chat: FakeChat;
  http: FakeHttpServer;
  llm: LanguageModel;
}

function makeLlm(flavour: FakeChatFlavour, http: FakeHttpServer, apiKey: string, timeoutMs: number): LanguageModel {
  return flavour === "openai"
    ? createOpenAiLlm({ apiKey, baseUrl: `${http.url}/v1`, model: "gpt-test", timeoutMs, log })
    : createGroqLlm({ apiKey, baseUrl: http.url, model: "llama-test", timeoutMs, log });
}

async function withRig(
  flavour: FakeChatFlavour,
  options: FakeChatOptions & { timeoutMs?: number; clientKey?: string },
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const chat = createFakeChat({ tokenIntervalMs: 1, ...options });
  const http = startFakeHttp([chat]);
  try {
    await body({ chat, http, llm: makeLlm(flavour, http, options.clientKey ?? chat.apiKey, options.timeoutMs ?? 5000) });
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

describe.each(["openai", "groq"] as const)("%s provider against the fake chat API", (flavour) => {
  test("streams the text as several deltas and sends the vendor's request shape", async () => {
    const text = "Je suis désolé. Pouvez-vous me donner votre nom ?";
    await withRig(flavour, { brain: () => ({ text, reasoning: "the caller has a box problem" }), usageChunk: true }, async ({ chat, llm }) => {
      const { texts, calls } = await collectChat(llm.stream({ messages: hello, tools }));
      expect(texts.length).toBeGreaterThan(3);
      expect(texts.join("")).toBe(text);
      expect(calls).toEqual([]);
      const seen = chat.requests[0];
      expect(seen?.flavour).toBe(flavour);
      expect(seen?.path).toBe(flavour === "openai" ? "/v1/chat/completions" : "/openai/v1/chat/completions");
      expect(seen?.model).toBe(flavour === "openai" ? "gpt-test" : "llama-test");
      expect(seen?.tools).toEqual(["record_customer", "set_problem"]);
      expect(seen?.messages).toEqual([
        { role: "system", content: "Tu es l'agent SAV." },
        { role: "user", content: "Bonjour, ma box ne marche plus" },
      ]);
      expect(llm.id).toBe(flavour === "openai" ? "openai:gpt-test" : "groq:llama-test");
    });
  });

  test("joins two streamed tool calls and yields each once complete, after the text", async () => {
    const brain = () => ({
      text: "Très bien.",
      toolCalls: [
        { name: "record_customer", arguments: { name: "Jean Dupont", phone: "0612345678", confirmed: true } },
        { name: "set_problem", arguments: { kind: "internet", description: "la box clignote en rouge" } },
      ],
    });
    await withRig(flavour, { brain }, async ({ llm }) => {
      const { texts, calls, order } = await collectChat(llm.stream({ messages: hello, tools }));
      expect(texts.join("")).toBe("Très bien.");
      expect(order.slice(-2)).toEqual(["toolCall", "toolCall"]);
      expect(calls.map((c) => c.name)).toEqual(["record_customer", "set_problem"]);
      expect(JSON.parse(calls[0]?.arguments ?? "")).toEqual({ name: "Jean Dupont", phone: "0612345678", confirmed: true });
      expect(JSON.parse(calls[1]?.arguments ?? "")).toEqual({ kind: "internet", description: "la box clignote en rouge" });
      expect(calls[0]?.id).not.toBe(calls[1]?.id);
    });
  });

  test("a forced tool reaches the vendor as tool_choice; the realistic fake answers tool calls first, text after the results", async () => {
    const brain = () => ({ text: "C'est noté.", toolCalls: [{ name: "set_problem", arguments: { kind: "internet", description: "la box clignote en rouge" } }] });
    await withRig(flavour, { brain, realistic: true, tokensPerSecond: 1000 }, async ({ chat, llm }) => {
      const first = await collectChat(llm.stream({ messages: hello, tools, toolChoice: "set_problem" }));
      expect(chat.requests[0]?.toolChoice).toBe("set_problem");
      expect(first.texts).toEqual([]);
      expect(first.calls.map((c) => c.name)).toEqual(["set_problem"]);
      const call = first.calls[0] as ToolCall;
      const after = await collectChat(llm.stream({
        messages: [...hello, { role: "assistant", content: "", toolCalls: [call] }, { role: "tool", toolCallId: call.id, content: '{"ok":true}' }],
        tools,
      }));
      expect(after.texts.join("")).toBe("C'est noté.");
      expect(after.texts.length).toBeGreaterThan(2); // token-sized deltas
      expect(after.calls).toEqual([]);
      expect(await failure(collectChat(llm.stream({ messages: hello, tools, toolChoice: "launch_rocket" })))).toBeInstanceOf(LlmError);
    });
  });

  test("sends tool calls and their results back in the vendor's shape", async () => {
    const brain = (request: { messages: readonly { role: string; content?: string | null }[] }) => ({
      text: `vu: ${request.messages.filter((m) => m.role === "tool").map((m) => m.content).join(" + ")}`,
    });
    await withRig(flavour, { brain }, async ({ chat, llm }) => {
      const messages: ChatMessage[] = [
        ...hello,
        {
          role: "assistant",
          content: "",
          toolCalls: [
            { id: "call_1", name: "record_customer", arguments: '{"name":"Jean"}' },
            { id: "call_2", name: "set_problem", arguments: '{"kind":"internet"}' },
          ],
        },
        { role: "tool", toolCallId: "call_1", content: '{"ok":true}' },
        { role: "tool", toolCallId: "call_2", content: '{"ok":false}' },
      ];
      const { texts } = await collectChat(llm.stream({ messages, tools }));
      expect(texts.join("")).toBe('vu: {"ok":true} + {"ok":false}');
      const seen = chat.requests[0]?.messages;
      expect(seen?.[2]).toEqual({
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "record_customer", arguments: '{"name":"Jean"}' } },
          { id: "call_2", type: "function", function: { name: "set_problem", arguments: '{"kind":"internet"}' } },
        ],
      });
      expect(seen?.[3]).toEqual({ role: "tool", tool_call_id: "call_1", content: '{"ok":true}' });
    });
  });

  test("a wrong key is a non-retryable LlmError with status 401 and the vendor's message", async () => {
    await withRig(flavour, { clientKey: "wrong-key" }, async ({ llm }) => {
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      const e = error as LlmError;
      expect(e.status).toBe(401);
      expect(e.retryable).toBe(false);
      expect(e.provider).toBe(llm.id);
      expect(e.message).toContain("HTTP 401");
      expect(e.message).toContain("Invalid API Key");
    });
  });

  test.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    [400, false],
    [404, false],
  ])("status %d is an LlmError, retryable: %p", async (status, retryable) => {
    await withRig(flavour, {}, async ({ chat, llm }) => {
      chat.failNext({ kind: "status", status, message: `fake failure ${status}` });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).status).toBe(status);
      expect((error as LlmError).retryable).toBe(retryable);
      expect((error as LlmError).message).toContain(`fake failure ${status}`);
    });
  });

  test("a connection dropped mid-stream is a retryable LlmError", async () => {
    await withRig(flavour, { brain: () => ({ text: "un deux trois quatre cinq six sept" }) }, async ({ chat, llm }) => {
      chat.failNext({ kind: "disconnect", afterChunks: 3 });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).retryable).toBe(true);
      expect((error as LlmError).status).toBeNull();
    });
  });

  test("an error event inside the stream is a retryable LlmError naming the vendor's message", async () => {
    await withRig(flavour, { brain: () => ({ text: "un deux trois quatre" }) }, async ({ chat, llm }) => {
      chat.failNext({ kind: "errorEvent", afterChunks: 2, message: "model overloaded" });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).retryable).toBe(true);
      expect((error as LlmError).message).toContain("model overloaded");
    });
  });

  test("a stream that stalls after the headers ends in a retryable LlmError after timeoutMs", async () => {
    await withRig(flavour, { timeoutMs: 150 }, async ({ chat, llm }) => {
      chat.failNext({ kind: "stall" });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).retryable).toBe(true);
      expect((error as LlmError).message).toContain("stream stalled: no data for 150 ms");
      await until(() => chat.counts.abandoned === 1, "the fake to see the stalled stream closed");
    });
  });

  test("no response headers within timeoutMs is a retryable LlmError", async () => {
    await withRig(flavour, { timeoutMs: 150 }, async ({ chat, llm }) => {
      chat.failNext({ kind: "stallBeforeHeaders" });
      const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
      expect(error).toBeInstanceOf(LlmError);
      expect((error as LlmError).retryable).toBe(true);
      expect((error as LlmError).message).toContain("150 ms");
    });
  });

  test("a slow consumer is not mistaken for a stalled stream", async () => {
    await withRig(flavour, { timeoutMs: 100, brain: () => ({ text: "un deux trois" }) }, async ({ llm }) => {
      const texts: string[] = [];
      for await (const chunk of llm.stream({ messages: hello, tools })) {
        if (chunk.type === "text") texts.push(chunk.text);
        await Bun.sleep(150);
      }
      expect(texts.join("")).toBe("un deux trois");
    });
  });

  test("aborting mid-stream throws the abort reason and closes the request", async () => {
    await withRig(flavour, { tokenIntervalMs: 20, brain: () => ({ text: "un deux trois quatre cinq six sept huit neuf dix" }) }, async ({ chat, llm }) => {
      const controller = new AbortController();
      const reason = new Error("caller barged in");
      const texts: string[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of llm.stream({ messages: hello, tools, signal: controller.signal })) {
            if (chunk.type === "text") texts.push(chunk.text);
            if (texts.length === 2) controller.abort(reason);
          }
        })(),
      );
      expect(error).toBe(reason);
      expect(texts.length).toBe(2);
      await until(() => chat.counts.abandoned === 1, "the fake to see the stream closed");
      expect(chat.counts.completed).toBe(0);
    });
  });

  test("aborting while waiting on a stalled stream stops at once, long before timeoutMs", async () => {
    await withRig(flavour, { timeoutMs: 60_000 }, async ({ chat, llm }) => {
      chat.failNext({ kind: "stall" });
      const controller = new AbortController();
      const pending = failure(collectChat(llm.stream({ messages: hello, tools, signal: controller.signal })));
      await until(() => chat.counts.requests === 1, "the request to reach the fake");
      controller.abort(new Error("hang-up"));
      const error = await pending;
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe("hang-up");
    });
  });

  test("an already aborted signal throws its reason without a request", async () => {
    await withRig(flavour, {}, async ({ chat, llm }) => {
      const controller = new AbortController();
      controller.abort(new Error("too late"));
      const error = await failure(collectChat(llm.stream({ messages: hello, tools, signal: controller.signal })));
      expect((error as Error).message).toBe("too late");
      expect(chat.counts.requests).toBe(0);
    });
  });

  test("stopping the iteration early closes the request", async () => {
    await withRig(flavour, { tokenIntervalMs: 20, brain: () => ({ text: "un deux trois quatre cinq six sept" }) }, async ({ chat, llm }) => {
      for await (const chunk of llm.stream({ messages: hello, tools })) {
        if (chunk.type === "text") break;
      }
      await until(() => chat.counts.abandoned === 1, "the fake to see the stream closed");
    });
  });

  test("a refused connection is a retryable LlmError", async () => {
    const http = startFakeHttp([]);
    const url = http.url;
    await http.stop();
    const llm = flavour === "openai"
      ? createOpenAiLlm({ apiKey: "k", baseUrl: `${url}/v1`, model: "m", timeoutMs: 2000, log })
      : createGroqLlm({ apiKey: "k", baseUrl: url, model: "m", timeoutMs: 2000, log });
    const error = await failure(collectChat(llm.stream({ messages: hello, tools })));
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).retryable).toBe(true);
    expect((error as LlmError).message).toContain("connection failed");
  });
});

describe("provider options", () => {
  const base = { apiKey: "k", baseUrl: null, model: "m", timeoutMs: 1000, log };
  test.each([
    [{ ...base, apiKey: " " }, "apiKey is empty"],
    [{ ...base, model: "" }, "model is empty"],
    [{ ...base, timeoutMs: 0 }, "timeoutMs 0 is invalid"],
    [{ ...base, timeoutMs: 1.5 }, "timeoutMs 1.5 is invalid"],
    [{ ...base, baseUrl: "api.groq.com" }, 'baseUrl "api.groq.com" is invalid'],
  ])("bad options are refused with a specific message (%#)", (options, message) => {
    expect(() => createOpenAiLlm(options)).toThrow(message);
    expect(() => createGroqLlm(options)).toThrow(message);
  });
});
