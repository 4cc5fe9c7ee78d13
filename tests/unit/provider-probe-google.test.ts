import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status as Status } from "@grpc/grpc-js";
import { probeGoogleStt, probeGoogleTts } from "../../src/install/provider-probe-google.ts";
import { startFakeGoogle, type FakeGoogle } from "../fakes/google.ts";

const credentials = { path: "/dev/null", clientEmail: "voicebot@fake.iam.gserviceaccount.com", privateKey: "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", projectId: "fake" };
let google: FakeGoogle;
beforeAll(async () => {
  google = await startFakeGoogle({ stt: { script: ["allô"] } });
});
afterAll(async () => {
  await google.stop();
});

const probe = { credentials, signal: AbortSignal.timeout(8000) };

describe("doctor's Google probes against the gRPC fake", () => {
  test("the voice: first audio within its share, an unknown voice, a refused account", async () => {
    const ok = await probeGoogleTts({ ...probe, endpoint: google.endpoint, voice: "fr-FR-Chirp3-HD-Aoede" });
    expect([ok.ok, ok.detail]).toEqual([true, expect.stringContaining("google fr-FR-Chirp3-HD-Aoede: first audio byte in")]);
    expect(ok.ms).toBeGreaterThan(0);
    expect(google.tts.requests.at(-1)?.sampleRate).toBe(8000);
    const missing = await probeGoogleTts({ ...probe, endpoint: google.endpoint, voice: "fr-FR-Chirp3-HD-Nobody" });
    expect([missing.status, missing.detail, missing.fix]).toEqual(["FAIL", expect.stringContaining("no such voice"), expect.stringContaining("GOOGLE_TTS_VOICE")]);
    google.tts.failNext({ kind: "status", code: Status.UNAUTHENTICATED });
    const refused = await probeGoogleTts({ ...probe, endpoint: google.endpoint, voice: "fr-FR-Chirp3-HD-Aoede" });
    expect([refused.status, refused.detail, refused.fix]).toEqual(["FAIL", expect.stringContaining("key refused (HTTP 401)"), expect.stringContaining("GOOGLE_APPLICATION_CREDENTIALS")]);
  });

  test("the recognizer: an utterance answered, an unknown model, a refused account", async () => {
    const ok = await probeGoogleStt({ ...probe, endpoint: google.endpoint, model: "telephony", language: "fr-FR" });
    expect([ok.ok, ok.detail]).toEqual([true, expect.stringContaining("google telephony: answered the utterance in")]);
    const model = await probeGoogleStt({ ...probe, endpoint: google.endpoint, model: "nova-3", language: "fr-FR" });
    expect([model.status, model.fix]).toEqual(["FAIL", expect.stringContaining("GOOGLE_STT_MODEL")]);
    google.stt.failNext({ kind: "status", code: Status.PERMISSION_DENIED });
    const refused = await probeGoogleStt({ ...probe, endpoint: google.endpoint, model: "telephony", language: "fr-FR" });
    expect([refused.status, refused.detail]).toEqual(["FAIL", expect.stringContaining("key refused (HTTP 403)")]);
  });
});
