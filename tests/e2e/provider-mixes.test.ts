/**
 * The providers mixed across vendors, each mix a whole SAV call through dist/voicebot to a resolved
 * ticket against the local fakes (the official clients unchanged but for their base URLs): the
 * README's table of supported combinations lists these, beside the single-vendor calls of
 * ai-call, claude-aura-call and google-call.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { createFakeAnthropic, type FakeAnthropic } from "../fakes/anthropic.ts";
import { createFakeChat, type FakeChat } from "../fakes/chat.ts";
import { startFakeDeepgram, type FakeDeepgram } from "../fakes/deepgram.ts";
import { createFakeDeepgramSpeak } from "../fakes/deepgram-speak.ts";
import { FAKE_GOOGLE_CREDENTIALS, startFakeGoogle, type FakeGoogle } from "../fakes/google.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { savBrain } from "../fakes/sav-brain.ts";
import { createFakeSpeech } from "../fakes/speech.ts";
import { E2E_TIMEOUT_MS, startServer } from "./harness.ts";
import { endedCallRow, queryStore } from "./store-rows.ts";
import { renderCallerAudio, SAV_CALL } from "./ai-fakes.ts";

const KEY = "e2e-key";
const { BOX, NAME, YES, WORKS } = SAV_CALL;
const WORDS = [BOX, NAME, YES, WORKS];

let work = "";
let deepgram: FakeDeepgram;
let google: FakeGoogle;
let claude: FakeAnthropic;
let groq: FakeChat;
let openai: FakeChat;
let chatHttp: FakeHttpServer;
let openaiHttp: FakeHttpServer;
let env: Record<string, string> = {};
const audio = new Map<string, Int16Array>();

beforeAll(async () => {
  for (const [text, pcm] of await renderCallerAudio(WORDS)) audio.set(text, pcm);

  work = mkdtempSync(join(tmpdir(), "voicebot-mixes-"));
  const credentials = join(work, "service-account.json");
  writeFileSync(credentials, FAKE_GOOGLE_CREDENTIALS);
  const script = (_stream: unknown, utterance: number) => WORDS[utterance] ?? "";
  deepgram = startFakeDeepgram({ apiKey: KEY, script, endpointingMs: 120, delayMs: 30, routes: [createFakeDeepgramSpeak({ apiKey: KEY, ttfbMs: 50 })] });
  google = await startFakeGoogle({ stt: { script, endpointingMs: 120, delayMs: 30 }, tts: { ttfbMs: 50 } });
  claude = createFakeAnthropic({ apiKey: KEY, brain: savBrain, ttftMs: 50, tokensPerSecond: 200 });
  groq = createFakeChat({ apiKey: KEY, brain: savBrain, ttftMs: 50, realistic: true, tokensPerSecond: 200 });
  openai = createFakeChat({ apiKey: KEY, brain: savBrain, ttftMs: 50, realistic: true, tokensPerSecond: 200 });
  chatHttp = startFakeHttp([claude, groq]);
  openaiHttp = startFakeHttp([openai, createFakeSpeech({ apiKey: KEY, ttfbMs: 50 })]);
  env = {
    DEEPGRAM_API_KEY: KEY, DEEPGRAM_BASE_URL: deepgram.url,
    GOOGLE_APPLICATION_CREDENTIALS: credentials, GOOGLE_SPEECH_ENDPOINT: google.endpoint, GOOGLE_TTS_ENDPOINT: google.endpoint,
    ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: chatHttp.url, GROQ_API_KEY: KEY, GROQ_BASE_URL: chatHttp.url,
    OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${openaiHttp.url}/v1`,
    LLM_TTFT_TIMEOUT: "1", API_TIMEOUT: "3", PROVIDER_BREAKER_FAILURES: "100",
  };
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([deepgram.stop(), google.stop(), chatHttp.stop(), openaiHttp.stop()]);
  rmSync(work, { recursive: true, force: true });
}, E2E_TIMEOUT_MS);

interface Mix {
  name: string;
  settings: Record<string, string>;
  /** Set up before the call (a fault), undone after. */
  fault?: { on(): void; off(): void };
  modes: { stt: RegExp; llm: RegExp; tts: RegExp };
}

const MIXES: Mix[] = [
  {
    name: "Google's ears, Claude's mind, OpenAI's voice",
    settings: { STT_PROVIDER: "google", LLM_PROVIDER: "anthropic", TTS_PROVIDER: "openai" },
    modes: { stt: /^google/, llm: /^anthropic/, tts: /^openai/ },
  },
  {
    name: "Deepgram's ears, OpenAI's mind failing over to Claude (LLM_FALLBACK=anthropic), Google's voice",
    settings: { STT_PROVIDER: "deepgram", LLM_PROVIDER: "openai", LLM_FALLBACK: "anthropic", TTS_PROVIDER: "google" },
    fault: { on: () => openai.failAll({ kind: "status", status: 500 }), off: () => openai.failAll(null) },
    modes: { stt: /^deepgram/, llm: /^openai.*falls back to anthropic/, tts: /^google/ },
  },
  {
    name: "Google's ears, Groq's mind, Deepgram Aura's voice",
    settings: { STT_PROVIDER: "google", LLM_PROVIDER: "groq", TTS_PROVIDER: "deepgram" },
    modes: { stt: /^google/, llm: /^groq/, tts: /^deepgram/ },
  },
];


describe("providers mixed across vendors, through dist/voicebot", () => {
  for (const mix of MIXES) {
    test(`${mix.name}: a whole SAV call to a resolved ticket`, async () => {
      const server = await startServer({ ...env, ...mix.settings });
      mix.fault?.on();
      try {
        const health = (await (await fetch(`${server.http}/healthz`)).json()) as { modes: { stt: string; llm: string; tts: string } };
        expect(health.modes.stt).toMatch(mix.modes.stt);
        expect(health.modes.llm).toMatch(mix.modes.llm);
        expect(health.modes.tts).toMatch(mix.modes.tts);
        const say = (text: string) => ({ say: audio.get(text) as Int16Array });
        const r = await new SimulatedCaller({ ...server.audiosocket, script: [say(BOX), say(NAME), say(YES), say(WORKS), { hangupAfter: 60 }], greetingTimeoutMs: 10_000 }).run();
        expect(r.error).toBeNull();
        expect(r.hungUpBy).toBe("server");
        const c = await endedCallRow(server, r.uuid);
        expect(c.end_reason).toBe("resolved");
        const ticket = queryStore<Record<string, unknown>>(server, "SELECT * FROM tickets WHERE call_id = ?", c.id)[0];
        expect(ticket).toMatchObject({ status: "resolved", problem_type: "internet", customer: "Pierre Dupont", phone: "0612345678" });
        expect(server.logs()).not.toContain("call handler failed");
      } finally {
        mix.fault?.off();
        expect(await server.stop()).toBe(0);
      }
    }, E2E_TIMEOUT_MS);
  }
});
