import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult, ScriptStep } from "../../src/simulate/call-types.ts";
import { createFakeAnthropic, type FakeAnthropic } from "../fakes/anthropic.ts";
import { createFakeChat, type FakeChat } from "../fakes/chat.ts";
import { startFakeDeepgram, type FakeDeepgram } from "../fakes/deepgram.ts";
import { createFakeDeepgramSpeak, type FakeDeepgramSpeak } from "../fakes/deepgram-speak.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { savBrain } from "../fakes/sav-brain.ts";
import { E2E_TIMEOUT_MS, expectCleanStop, type RunningServer, startServer } from "./harness.ts";
import { endedCallRow, queryStore } from "./store-rows.ts";
import { renderCallerAudio, SAV_CALL } from "./ai-fakes.ts";

/**
 * An AI call through dist/voicebot with one Deepgram key for ears and voice and Claude as the mind
 * (LLM_PROVIDER=anthropic, TTS_PROVIDER=deepgram), Groq behind Claude: the official SDKs in the
 * binary speak to local fakes of the Messages API and of Deepgram's listen and speak endpoints.
 * Claude's fake answers as Claude does when offered tools: the tool calls alone, the words after.
 */
const KEY = "e2e-key";
const CLAUDE_KEY = "e2e-claude-key";
const { BOX, NAME, YES, WORKS } = SAV_CALL;

let deepgram: FakeDeepgram;
let speak: FakeDeepgramSpeak;
let claude: FakeAnthropic;
let groq: FakeChat;
let http: FakeHttpServer;
let server: RunningServer;
const audio = new Map<string, Int16Array>();
let words: string[] = [];

beforeAll(async () => {
  for (const [text, pcm] of await renderCallerAudio([BOX, NAME, YES, WORKS])) audio.set(text, pcm);

  speak = createFakeDeepgramSpeak({ apiKey: KEY, ttfbMs: 50 });
  deepgram = startFakeDeepgram({ apiKey: KEY, script: (_connection, utterance) => words[utterance] ?? "", endpointingMs: 120, delayMs: 30, routes: [speak] });
  claude = createFakeAnthropic({ apiKey: CLAUDE_KEY, brain: savBrain, ttftMs: 50, tokensPerSecond: 200 });
  groq = createFakeChat({ apiKey: KEY, brain: savBrain, ttftMs: 50, realistic: true, tokensPerSecond: 200 });
  http = startFakeHttp([claude, groq]);
  server = await startServer({
    DEEPGRAM_API_KEY: KEY, DEEPGRAM_BASE_URL: deepgram.url, TTS_PROVIDER: "deepgram",
    ANTHROPIC_API_KEY: CLAUDE_KEY, ANTHROPIC_BASE_URL: http.url, LLM_PROVIDER: "anthropic",
    GROQ_API_KEY: KEY, GROQ_BASE_URL: http.url,
    LLM_TTFT_TIMEOUT: "1", API_TIMEOUT: "3",
    // Each test's faults stay its own: no breaker opened by one test may skip a provider in the next.
    PROVIDER_BREAKER_FAILURES: "100",
  });
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  await expectCleanStop(server);
  await Promise.all([deepgram.stop(), http.stop()]);
}, E2E_TIMEOUT_MS);

afterEach(() => {
  claude.failAll(null);
  speak.failAlways(null);
});

async function call(said: string[], seconds = 60): Promise<CallResult> {
  words = said;
  const script: ScriptStep[] = said.map((s) => ({ say: audio.get(s) as Int16Array }));
  script.push({ hangupAfter: seconds });
  return new SimulatedCaller({ ...server.audiosocket, script, greetingTimeoutMs: 10_000 }).run();
}

describe("Claude and Deepgram Aura through dist/voicebot and local fakes", () => {
  test("a whole SAV call: Claude's tool-first answers still speak, Aura speaks 8 kHz for the 8 kHz call, the ticket is filled", async () => {
    const before = claude.requests.length;
    const r = await call([BOX, NAME, YES, WORKS]);
    expect(r.error).toBeNull();
    expect(r.hungUpBy).toBe("server");
    expect(r.responseMs.length).toBe(4);
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    const ticket = queryStore<Record<string, unknown>>(server, "SELECT * FROM tickets WHERE call_id = ?", c.id)[0];
    expect(ticket).toMatchObject({ status: "resolved", problem_type: "internet", customer: "Pierre Dupont", phone: "0612345678" });
    const requests = claude.requests.slice(before);
    expect(requests.every((q) => q.version !== "")).toBe(true);
    // The scribe forces record_facts; each talk offers tools, and the last one got end_call alone
    // (no words) from Claude: the call still said goodbye and ended resolved.
    expect(requests.filter((q) => q.toolChoice === "record_facts").length).toBeGreaterThanOrEqual(4);
    const talks = requests.filter((q) => q.toolChoice === undefined);
    expect(talks).toHaveLength(4);
    expect(talks.every((q) => q.tools.join() === "request_technician,end_call" && q.messages.at(-1)?.role === "user")).toBe(true);
    const answers = queryStore<Record<string, unknown>>(server, "SELECT * FROM turns WHERE call_id = ? AND speaker = 'bot' AND reply_id IS NOT NULL AND first_frame_at IS NOT NULL", c.id);
    expect(answers.length).toBeGreaterThanOrEqual(3);
    const answer = answers.find((t) => t.interrupted === 0);
    for (const k of ["llm_first_token_at", "tts_first_byte_at", "first_frame_at", "last_frame_at"]) expect(answer?.[k]).not.toBeNull();
    expect(String(answer?.llm_provider)).toStartWith("anthropic:claude-haiku-5-5");
    // The call's own speech was asked at its rate (no resampling); only the phrase cache renders at 24 kHz.
    const live = speak.requests.filter((q) => q.sampleRate === 8000);
    expect(live.length).toBeGreaterThanOrEqual(3);
    expect(speak.requests.every((q) => q.model === "aura-2-agathe-fr" && (q.sampleRate === 8000 || q.sampleRate === 24000))).toBe(true);
    expect(groq.requests.length).toBe(0);
  }, E2E_TIMEOUT_MS);

  test("Claude overloaded (529): the turn moves to Groq behind it, and the call goes on", async () => {
    claude.failAll({ kind: "status", status: 529 });
    const r = await call([BOX, WORKS]);
    expect(r.error).toBeNull();
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    expect(groq.requests.length).toBeGreaterThan(0);
    expect(server.logs()).toContain("LLM switched");
  }, E2E_TIMEOUT_MS);

  test("Aura stalls: the offline voice says the sentence, never silence", async () => {
    speak.failAlways({ kind: "stall" });
    const r = await call([BOX, WORKS]);
    expect(r.error).toBeNull();
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    expect(server.logs()).toContain("TTS fell back to the offline voice");
  }, E2E_TIMEOUT_MS);

  test("/healthz and /metrics name Claude, Groq behind it, and the Aura voice with eSpeak-NG behind it", async () => {
    const health = (await (await fetch(`${server.http}/healthz`)).json()) as { modes: { stt: string; llm: string; tts: string }; providers: Record<string, unknown> };
    expect(health.modes.llm).toBe("anthropic:claude-haiku-5-5, falls back to groq:llama-3.3-70b-versatile");
    expect(health.modes.tts).toBe("deepgram (aura-2-agathe-fr, linear16 at the call's rate), offline espeak-ng:fr behind it");
    expect(Object.keys(health.providers).sort()).toEqual(["deepgram:aura-2-agathe-fr", "deepgram:nova-3", "anthropic:claude-haiku-5-5", "groq:llama-3.3-70b-versatile"].sort());
    const text = await (await fetch(`${server.http}/metrics`)).text();
    expect(text).toMatch(/^voicebot_provider_errors_total\{provider="anthropic:claude-haiku-5-5",kind="server"\} [1-9]/m);
    expect(text).toMatch(/^voicebot_provider_fallbacks_total\{from="deepgram:aura-2-agathe-fr",to="espeak-ng:fr",reason="[a-z-]+"\} [1-9]/m);
    expect(server.logs()).toContain("anthropic:claude-haiku-5-5");
  }, E2E_TIMEOUT_MS);
});
