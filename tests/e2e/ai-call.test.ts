import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult, ScriptStep } from "../../src/simulate/call-types.ts";
import { createFakeChat, type FakeChat } from "../fakes/chat.ts";
import { startFakeDeepgram, type FakeDeepgram } from "../fakes/deepgram.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { savBrain } from "../fakes/sav-brain.ts";
import { createFakeSpeech, type FakeSpeech } from "../fakes/speech.ts";
import { concat } from "../support/pcm-8k.ts";
import { E2E_TIMEOUT_MS, expectCleanStop, runCli, type RunningServer, startServer } from "./harness.ts";
import { endedCallRow } from "./store-rows.ts";
import { renderCallerAudio, SAV_CALL } from "./ai-fakes.ts";

/**
 * AI calls through dist/voicebot against local fakes of Deepgram, Groq, OpenAI chat and OpenAI
 * speech: the official SDKs in the binary speak to them over real sockets. The chat fakes answer
 * as real models do: tool calls first with no words, token by token.
 */
const KEY = "e2e-key";
const { BOX, NAME, YES, WORKS } = SAV_CALL;
const WAIT = "Attendez je la débranche tout de suite.";
const HUH = "Euh je ne sais pas trop quoi dire.";
const OUI = "Oui.";

let deepgram: FakeDeepgram;
let groq: FakeChat;
let openai: FakeChat;
let speech: FakeSpeech;
let groqHttp: FakeHttpServer;
let openaiHttp: FakeHttpServer;
let server: RunningServer;
const audio = new Map<string, Int16Array>();
/** What the fake recognizer hears, per connection, in order. */
let words: string[] = [];

beforeAll(async () => {
  for (const [text, pcm] of await renderCallerAudio([BOX, WAIT, WORKS, HUH, NAME, YES, OUI])) audio.set(text, pcm);

  deepgram = startFakeDeepgram({ apiKey: KEY, script: (_connection, utterance) => words[utterance] ?? "", endpointingMs: 120, delayMs: 30 });
  groq = createFakeChat({ apiKey: KEY, brain: savBrain, ttftMs: 50, realistic: true, tokensPerSecond: 200 });
  openai = createFakeChat({ apiKey: KEY, brain: savBrain, ttftMs: 50, realistic: true, tokensPerSecond: 200 });
  speech = createFakeSpeech({ apiKey: KEY, ttfbMs: 50 });
  groqHttp = startFakeHttp([groq]);
  openaiHttp = startFakeHttp([openai, speech]);
  server = await startServer({
    DEEPGRAM_API_KEY: KEY, DEEPGRAM_BASE_URL: deepgram.url,
    GROQ_API_KEY: KEY, GROQ_BASE_URL: groqHttp.url,
    OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${openaiHttp.url}/v1`,
    LLM_PROVIDER: "groq", LLM_TTFT_TIMEOUT: "1", API_TIMEOUT: "3",
    // Each test's faults stay its own: no breaker opened by one test may skip a provider in the next.
    PROVIDER_BREAKER_FAILURES: "100",
  });
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  await expectCleanStop(server);
  await Promise.all([deepgram.stop(), groqHttp.stop(), openaiHttp.stop()]);
}, E2E_TIMEOUT_MS);

afterEach(() => {
  groq.failAll(null);
  openai.failAll(null);
  speech.failAlways(null);
  groq.ttftMs = 50;
  deepgram.setFaults({ dropAfterMs: null, refuseConnections: 0 }, "new");
});

type Step = string | { over: string } | { dtmf: string };

/** One call: the caller says (or types) each step when the bot goes quiet; `over` speaks over the bot. */
async function call(steps: Step[], seconds = 60): Promise<CallResult> {
  words = steps.flatMap((s) => (typeof s === "string" ? [s] : "over" in s ? [s.over] : []));
  const script: ScriptStep[] = steps.map((s) =>
    typeof s === "string" ? { say: audio.get(s) as Int16Array }
    : "over" in s ? { say: audio.get(s.over) as Int16Array, overBotAfterMs: 1000 }
    : { dtmf: s.dtmf });
  script.push({ hangupAfter: seconds });
  return new SimulatedCaller({ ...server.audiosocket, script, greetingTimeoutMs: 10_000 }).run();
}

function db(): Database {
  return new Database(join(server.dataDir, "voicebot.db"), { readonly: true });
}

function ticketOf(callId: number): Record<string, unknown> {
  const d = db();
  try {
    return d.query<Record<string, unknown>, [number]>("SELECT * FROM tickets WHERE call_id = ?").get(callId) as Record<string, unknown>;
  } finally {
    d.close();
  }
}

function turnsOf(callId: number): Record<string, unknown>[] {
  const d = db();
  try {
    return d.query<Record<string, unknown>, [number]>("SELECT * FROM turns WHERE call_id = ? ORDER BY started_at, id").all(callId);
  } finally {
    d.close();
  }
}

function eventsOf(callId: number, kind: string): string[] {
  const d = db();
  try {
    return d.query<{ detail: string }, [number, string]>("SELECT detail FROM events WHERE call_id = ? AND kind = ?").all(callId, kind).map((r) => r.detail);
  } finally {
    d.close();
  }
}

function endedByServer(r: CallResult): void {
  expect(r.error).toBeNull();
  expect(r.hungUpBy).toBe("server");
  expect(r.serverSentHangup).toBe(true);
}

describe("AI conversation through dist/voicebot and local provider fakes", () => {
  test("five turns, each answered without a tool round trip; the scribe fills the ticket; per-turn timings", async () => {
    const before = groq.requests.length;
    const r = await call([BOX, { over: WAIT }, NAME, YES, WORKS]);
    endedByServer(r);
    expect(r.responseMs.length).toBe(5);
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    const ticket = ticketOf(c.id);
    expect(ticket).toMatchObject({ status: "resolved", problem_type: "internet", customer: "Pierre Dupont", phone: "0612345678" });
    const turns = turnsOf(c.id);
    const caller = turns.filter((t) => t.speaker === "caller").map((t) => t.text);
    expect(caller).toEqual([BOX, WAIT, NAME, YES, WORKS]);
    // One reply request and one scribe per caller turn; never a request that carries a tool result back.
    const requests = groq.requests.slice(before);
    expect(requests.filter((q) => q.toolChoice === "record_facts")).toHaveLength(5);
    const talks = requests.filter((q) => q.toolChoice === null);
    expect(talks).toHaveLength(5);
    expect(talks.every((q) => q.messages.at(-1)?.role === "user")).toBe(true);
    expect(talks.every((q) => q.tools.join() === "request_technician,end_call")).toBe(true);
    expect(eventsOf(c.id, "facts").length).toBeGreaterThanOrEqual(4);
    const answers = turns.filter((t) => t.speaker === "bot" && t.reply_id !== null && t.first_frame_at !== null);
    expect(answers.length).toBeGreaterThanOrEqual(4);
    const answer = answers.find((t) => t.interrupted === 0);
    for (const k of ["llm_first_token_at", "tts_first_byte_at", "first_frame_at", "last_frame_at"]) expect(answer?.[k]).not.toBeNull();
    expect(String(answer?.llm_provider)).toStartWith("groq:");
    const said = turns.filter((t) => t.speaker === "bot").map((t) => String(t.text)).join(" ");
    expect(said).toMatch(new RegExp(`${String(ticket.id).split("").join(" ")}(\\.|$| )`));
    const shown = await runCli(["calls", "show", r.uuid, "--data-dir", server.dataDir]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("STT final");
    expect(speech.requests.length).toBeGreaterThan(0);
  }, E2E_TIMEOUT_MS);

  test("a caller who speaks over the bot cuts it off; history keeps what was heard", async () => {
    const r = await call([BOX, { over: WAIT }, WORKS]);
    endedByServer(r);
    expect(r.bargeInStopMs.length).toBe(1);
    const c = await endedCallRow(server, r.uuid);
    expect(eventsOf(c.id, "barge-in").length).toBeGreaterThanOrEqual(1);
    const cut = turnsOf(c.id).find((t) => t.speaker === "bot" && t.interrupted === 1);
    expect(cut).toBeDefined();
    expect(cut?.barge_in_at).not.toBeNull();
    // The next request's history has the interrupted reply as heard, not as written.
    const after = groq.requests.find((q) => q.messages.some((m) => m.role === "user" && m.content === WAIT));
    const assistant = after?.messages.filter((m) => m.role === "assistant").map((m) => m.content ?? "") ?? [];
    expect(assistant.some((text) => text === String(cut?.text))).toBe(true);
  }, E2E_TIMEOUT_MS);

  test("a caller who goes on after a short pause: the reply to their first words is dropped unheard, the next answers both", async () => {
    // Slow enough that the caller's second part ends before the first reply has any audio.
    groq.ttftMs = 900;
    const pause = new Int16Array(8000 * 0.15);
    const said = [HUH, OUI];
    words = said;
    const before = groq.requests.length;
    const r = await new SimulatedCaller({
      ...server.audiosocket, greetingTimeoutMs: 10_000,
      script: [{ say: concat([audio.get(HUH) as Int16Array, pause, audio.get(OUI) as Int16Array]) }, { hangupAfter: 20 }],
    }).run();
    expect(r.error).toBeNull();
    const c = await endedCallRow(server, r.uuid);
    expect(turnsOf(c.id).filter((t) => t.speaker === "caller").map((t) => t.text)).toEqual(said);
    expect(eventsOf(c.id, "reply-dropped")).toEqual(["the caller went on"]);
    expect(eventsOf(c.id, "barge-in")).toEqual([]);
    // The reply the caller hears was asked with both parts, one after the other, nothing between.
    const talks = groq.requests.slice(before).filter((q) => q.toolChoice === null);
    expect(talks.at(-1)?.messages.slice(-2)).toEqual([{ role: "user", content: HUH }, { role: "user", content: OUI }]);
    expect(r.responseMs.length).toBeGreaterThanOrEqual(1);
  }, E2E_TIMEOUT_MS);

  test("a slow first token moves the turn to the other provider", async () => {
    groq.ttftMs = 5000;
    const r = await call([BOX, WORKS]);
    endedByServer(r);
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    expect(openai.requests.length).toBeGreaterThan(0);
    expect(server.logs()).toContain("LLM switched");
  }, E2E_TIMEOUT_MS);

  test("three failed replies in a row: error phrase, ticket incomplete, polite end", async () => {
    groq.failAll({ kind: "status", status: 500 });
    openai.failAll({ kind: "status", status: 500 });
    const r = await call([BOX, BOX, BOX]);
    endedByServer(r);
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("ai-error");
    expect(ticketOf(c.id).status).toBe("incomplete");
  }, E2E_TIMEOUT_MS);

  test("speech the cloud voice cannot synthesize is said by the offline voice, never left silent", async () => {
    speech.failAlways({ kind: "status", status: 500 });
    const r = await call([BOX, WORKS]);
    endedByServer(r);
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    expect(ticketOf(c.id).status).toBe("resolved");
    expect(server.logs()).toContain("TTS fell back to the offline voice");
  }, E2E_TIMEOUT_MS);

  test("recognition lost for good: the call carries on with the keypad", async () => {
    deepgram.setFaults({ dropAfterMs: 700 }, "new");
    const r = await call([{ dtmf: "1" }, { dtmf: "1" }]);
    endedByServer(r);
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    expect(ticketOf(c.id).status).toBe("resolved");
    expect(server.logs()).toContain("speech recognition lost");
  }, E2E_TIMEOUT_MS);

  test("/metrics counts the conversation", async () => {
    const text = await (await fetch(`${server.http}/metrics`)).text();
    expect(text).toMatch(/^voicebot_replies_total [1-9]/m);
    expect(text).toMatch(/^voicebot_barge_ins_total [1-9]/m);
    expect(text).toMatch(/^voicebot_llm_switches_total [1-9]/m);
    // The slow-first-token call waited over a second for its reply: it heard the filler.
    expect(text).toMatch(/^voicebot_fillers_total [1-9]/m);
    expect(text).toMatch(/^voicebot_stt_lost_total [1-9]/m);
    // The full set: each turn stage measured, failures and fallbacks by kind, calls by tenant.
    for (const stage of ["stt", "llm_first_token", "tts_first_byte", "first_audio"]) {
      expect(text).toMatch(new RegExp(`^voicebot_turn_${stage}_seconds_count [1-9]`, "m"));
      expect(text).toMatch(new RegExp(`^voicebot_turn_${stage}_seconds_bucket\\{le="1"\\} [1-9]`, "m"));
    }
    expect(text).toMatch(/^voicebot_provider_errors_total\{provider="groq:[^"]+",kind="server"\} [1-9]/m);
    expect(text).toMatch(/^voicebot_provider_fallbacks_total\{from="groq:[^"]+",to="openai:[^"]+",reason="slow-first-token"\} [1-9]/m);
    expect(text).toMatch(/^voicebot_provider_fallbacks_total\{from="deepgram:[^"]+",to="keypad",reason="stt-lost"\} [1-9]/m);
    expect(text).toMatch(/^voicebot_tenant_calls_ended_total\{tenant="default",reason="[a-z-]+"\} [1-9]/m);
    // Every provider has a circuit breaker, in /metrics and /healthz (PROVIDER_BREAKER_FAILURES=100 here: all closed).
    for (const provider of ["deepgram:nova-3", "groq:llama-3.3-70b-versatile", "openai:gpt-4.1-mini", "openai:gpt-4o-mini-tts"]) {
      expect(text).toContain(`voicebot_provider_circuit_open{provider="${provider}"} 0`);
    }
    expect(text).toMatch(/^voicebot_provider_fallbacks_total\{from="openai:gpt-4o-mini-tts:nova",to="espeak-ng:fr",reason="error"\} [1-9]/m);
    const health = (await (await fetch(`${server.http}/healthz`)).json()) as {
      modes: { stt: string; llm: string; tts: string };
      providers: Record<string, { state: string; failures: number; openUntil: number | null }>;
    };
    expect(health.modes.stt).toContain("deepgram");
    expect(health.modes.llm).toContain("groq");
    expect(health.modes.tts).toContain("openai");
    expect(health.modes.tts).toContain("espeak-ng:fr");
    expect(Object.keys(health.providers).sort()).toEqual(["deepgram:nova-3", "groq:llama-3.3-70b-versatile", "openai:gpt-4.1-mini", "openai:gpt-4o-mini-tts"]);
    expect(health.providers["openai:gpt-4o-mini-tts"]).toMatchObject({ state: "closed", openUntil: null });
  }, E2E_TIMEOUT_MS);
});
