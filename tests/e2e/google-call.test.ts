import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult, ScriptStep } from "../../src/simulate/call-types.ts";
import { startFakeGoogle, FAKE_GOOGLE_CREDENTIALS, type FakeGoogle } from "../fakes/google.ts";
import { SAV_CALL, startAiFakes, type AiFakes } from "./ai-fakes.ts";
import { E2E_TIMEOUT_MS, expectCleanStop, type RunningServer, startServer } from "./harness.ts";
import { endedCallRow, queryStore } from "./store-rows.ts";

/**
 * An AI call through dist/voicebot with Google Cloud for ears and voice (STT_PROVIDER=google,
 * TTS_PROVIDER=google) and Groq as the mind: the official Google clients in the binary speak gRPC
 * to the local fake (127.0.0.1, no TLS), unchanged but for the endpoint.
 */
const { BOX, NAME, YES, WORKS } = SAV_CALL;

let fakes: AiFakes;
let google: FakeGoogle;
let server: RunningServer;
let words: string[] = [];

beforeAll(async () => {
  fakes = await startAiFakes([BOX, NAME, YES, WORKS]);
  google = await startFakeGoogle({ stt: { script: (_stream, utterance) => words[utterance] ?? "", endpointingMs: 120, delayMs: 30 }, tts: { ttfbMs: 50 } });
  const credentials = join(mkdtempSync(join(tmpdir(), "voicebot-google-")), "service-account.json");
  writeFileSync(credentials, FAKE_GOOGLE_CREDENTIALS);
  const { DEEPGRAM_API_KEY: _dg, DEEPGRAM_BASE_URL: _dgUrl, ...env } = fakes.env;
  server = await startServer({
    ...env, STT_PROVIDER: "google", TTS_PROVIDER: "google", GOOGLE_APPLICATION_CREDENTIALS: credentials, GOOGLE_SPEECH_ENDPOINT: google.endpoint, GOOGLE_TTS_ENDPOINT: google.endpoint,
    PROVIDER_BREAKER_FAILURES: "100",
  });
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  await expectCleanStop(server);
  await Promise.all([fakes.stop(), google.stop()]);
}, E2E_TIMEOUT_MS);

async function call(steps: ScriptStep[]): Promise<CallResult> {
  return new SimulatedCaller({ ...server.audiosocket, script: [...steps, { hangupAfter: 60 }], greetingTimeoutMs: 10_000 }).run();
}

const say = (text: string): ScriptStep => ({ say: fakes.audio.get(text) as Int16Array });

describe("Google speech both ways through dist/voicebot and the local gRPC fake", () => {
  test("a whole SAV call: Google hears the caller, Google speaks 8 kHz for the 8 kHz call, the ticket is filled", async () => {
    words = [BOX, NAME, YES, WORKS];
    const r = await call([say(BOX), say(NAME), say(YES), say(WORKS)]);
    expect(r.error).toBeNull();
    expect(r.hungUpBy).toBe("server");
    expect(r.responseMs.length).toBe(4);
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    const ticket = queryStore<Record<string, unknown>>(server, "SELECT * FROM tickets WHERE call_id = ?", c.id)[0];
    expect(ticket).toMatchObject({ status: "resolved", problem_type: "internet", customer: "Pierre Dupont", phone: "0612345678" });
    const stream = google.stt.streams.at(-1);
    expect(stream?.config).toMatchObject({ encoding: "LINEAR16", sampleRateHertz: 8000, languageCode: "fr-FR", model: "telephony" });
    // The call's own speech was asked at its rate (no resampling); only the phrase cache renders at 24 kHz.
    const live = google.tts.requests.filter((q) => q.sampleRate === 8000);
    expect(live.length).toBeGreaterThanOrEqual(3);
    expect(google.tts.requests.every((q) => q.voice === "fr-FR-Chirp3-HD-Aoede" && q.method === "StreamingSynthesize")).toBe(true);
  }, E2E_TIMEOUT_MS);

  test("Google STT stalls (stream open, no results): the STT deadline moves the call to the keypad, which resolves it", async () => {
    words = [BOX];
    google.stt.failNext({ kind: "stall" });
    const r = await call([say(BOX), { dtmf: "1" }, { dtmf: "1" }]);
    expect(r.error).toBeNull();
    expect(r.hungUpBy).toBe("server");
    const c = await endedCallRow(server, r.uuid);
    expect(c.end_reason).toBe("resolved");
    expect(server.logs().split("\n").some((line) => line.includes(`call=${r.uuid}`) && line.includes("speech recognition missed its deadline"))).toBe(true);
  }, E2E_TIMEOUT_MS);

  test("/healthz names Google's recognizer and voice", async () => {
    const health = (await (await fetch(`${server.http}/healthz`)).json()) as { modes: { stt: string; tts: string } };
    expect(health.modes.stt).toBe("google (telephony, streaming v1)");
    expect(health.modes.tts).toBe("google (fr-FR-Chirp3-HD-Aoede, linear16 at the call's rate, streamed), offline espeak-ng:fr behind it");
  }, E2E_TIMEOUT_MS);
});
