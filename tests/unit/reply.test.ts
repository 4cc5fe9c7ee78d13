import { afterAll, describe, expect, test } from "bun:test";
import { createOpenAiLlm } from "../../src/ai/llm/openai.ts";
import { createOpenAiTts } from "../../src/ai/tts/openai.ts";
import { Reply, type ReplyHooks } from "../../src/call/reply.ts";
import { rootLogger } from "../../src/log.ts";
import type { Utterance } from "../../src/media/playout.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import { createFakeChat } from "../fakes/chat.ts";
import { startFakeHttp } from "../fakes/http.ts";
import { createFakeSpeech } from "../fakes/speech.ts";

/** A reply through the real OpenAI SDK adapters, the local fakes and the real resampler pool. */
const chat = createFakeChat({ apiKey: "k", brain: () => ({ text: "D'accord, je regarde. Votre box est-elle allumée ? Merci." }) });
const speech = createFakeSpeech({ apiKey: "k" });
const http = startFakeHttp([chat, speech]);
const resampler = createResamplerPool({ size: 1, engine: "speex" });
const llm = createOpenAiLlm({ apiKey: "k", baseUrl: `${http.url}/v1`, model: "m", timeoutMs: 2000, log: rootLogger });
const tts = createOpenAiTts({ apiKey: "k", baseUrl: `${http.url}/v1`, model: "gpt-4o-mini-tts", voice: "nova", timeoutMs: 2000, log: rootLogger });

afterAll(async () => {
  await resampler.close();
  await http.stop();
});

function utterance(): Utterance {
  return { id: 1, keys: [], segments: [], onStart: () => undefined, onEnd: () => undefined };
}

function recorder(): { hooks: ReplyHooks; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    hooks: {
      onFirstToken: () => void seen.push("first token"),
      onFirstAudio: () => void seen.push("first audio"),
      onToolCall: (call) => void seen.push(`tool ${call.name}`),
      onDone: (text) => void seen.push(`done ${text}`),
      onFailed: (error) => void seen.push(`failed ${error.slice(0, 40)}`),
    },
  };
}

const request = { messages: [{ role: "user" as const, content: "allô" }], tools: [] };
const samples = (u: Utterance): number => u.segments.reduce((n, s) => n + s.length, 0);

describe("Reply: model → sentences → TTS → resampler → one streamed utterance", () => {
  test("every piece lands in order at the call's rate; done once the speech is downloaded", async () => {
    const u = utterance();
    const { hooks, seen } = recorder();
    await new Reply(1, u, { llm, tts, resampler, rate: 8000 }, hooks).run(request);
    expect(seen).toEqual(["first token", "first audio", "done D'accord, je regarde. Votre box est-elle allumée ? Merci."]);
    expect(u.open).toBe(false);
    // Four pieces: the first clause at its comma (however short), then each sentence; the fake speaks 65 ms per character.
    const expected = ["D'accord,", "je regarde.", "Votre box est-elle allumée ?", "Merci."]
      .reduce((n, t) => n + Math.round((Math.max(300, t.length * 65) * 8000) / 1000), 0);
    expect(Math.abs(samples(u) - expected)).toBeLessThan(8000 * 0.2);
    expect(speech.requests.slice(-4).map((r) => r.input)).toEqual(["D'accord,", "je regarde.", "Votre box est-elle allumée ?", "Merci."]);
  });

  test("what was heard follows the samples played: whole pieces, then a share of the current one's words", async () => {
    const u = utterance();
    const reply = new Reply(2, u, { llm, tts, resampler, rate: 8000 }, recorder().hooks);
    await reply.run(request);
    expect(reply.heard()).toBe("");
    u.played = samples(u);
    expect(reply.heard()).toBe("D'accord, je regarde. Votre box est-elle allumée ? Merci.");
    u.played = Math.round((Math.max(300, 9 * 65) * 8000) / 1000) + 10;
    expect(reply.heard()).toBe("D'accord,");
  });

  test("abort stops the model and every download; no outcome is reported", async () => {
    chat.ttftMs = 300;
    const u = utterance();
    const { hooks, seen } = recorder();
    const reply = new Reply(3, u, { llm, tts, resampler, rate: 8000 }, hooks);
    const running = reply.run(request);
    reply.abort();
    await running;
    chat.ttftMs = 0;
    expect(seen).toEqual([]);
    expect(u.open).toBe(false);
  });

  test("a model failure, or speech that cannot be synthesized, is a failed reply", async () => {
    chat.failNext({ kind: "status", status: 400 });
    const { hooks, seen } = recorder();
    await new Reply(4, utterance(), { llm, tts, resampler, rate: 8000 }, hooks).run(request);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toStartWith("failed");

    speech.failAlways({ kind: "status", status: 401 });
    const second = recorder();
    await new Reply(5, utterance(), { llm, tts, resampler, rate: 8000 }, second.hooks).run(request);
    speech.failAlways(null);
    expect(second.seen[0]).toBe("first token");
    expect(second.seen.at(-1)).toStartWith("failed");
    expect(second.seen.some((s) => s.startsWith("done"))).toBe(false);
  });

  test("a model that breaks off mid-reply: the finished sentences are the reply, the cut one is dropped", async () => {
    chat.failNext({ kind: "disconnect", afterChunks: 6 });
    const u = utterance();
    const { hooks, seen } = recorder();
    await new Reply(6, u, { llm, tts, resampler, rate: 8000 }, hooks).run(request);
    expect(seen).toEqual(["first token", "first audio", "done D'accord, je regarde."]);
    expect(u.open).toBe(false);
    expect(speech.requests.slice(-2).map((r) => r.input)).toEqual(["D'accord,", "je regarde."]);
  });
});
