import { afterEach, describe, expect, test } from "bun:test";
import { status as Status } from "@grpc/grpc-js";
import { createGoogleTts } from "../../src/ai/tts/google.ts";
import { TtsError } from "../../src/ai/tts/pcm-body.ts";
import { voiceAtRate, type TextToSpeech } from "../../src/ai/tts/types.ts";
import { pcmFromWav } from "../../src/ai/tts/wav-body.ts";
import { rootLogger } from "../../src/log.ts";
import { startFakeGoogle, type FakeGoogle } from "../fakes/google.ts";
import { collectPcm, failure } from "../support/provider-streams.ts";

const log = rootLogger.child("google-tts-test");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const credentials = { path: "/dev/null", clientEmail: "voicebot@fake.iam.gserviceaccount.com", privateKey: "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", projectId: null };

async function rig(o: { voice?: string; timeoutMs?: number; listChunk?: boolean } = {}): Promise<{ google: FakeGoogle; tts: TextToSpeech }> {
  const google = await startFakeGoogle({ tts: { speed: 50, listChunk: o.listChunk } });
  const tts = createGoogleTts({ credentials, endpoint: google.endpoint, voice: o.voice ?? "fr-FR-Chirp3-HD-Aoede", timeoutMs: o.timeoutMs ?? 5000, log });
  cleanups.push(() => google.stop(), () => tts.close());
  return { google, tts };
}

const TEXT = "Bonjour, je suis l'assistant du service après-vente.";

describe("Google TTS against the fake gRPC server", () => {
  test("a Chirp 3 HD voice streams PCM at the call's own rate, in several chunks, exactly what the server sent", async () => {
    const { google, tts } = await rig();
    expect([tts.voiceId, tts.sampleRate]).toEqual(["google:fr-FR-Chirp3-HD-Aoede", 24000]);
    const narrow = voiceAtRate(tts, 8000);
    expect([narrow.voiceId, narrow.sampleRate]).toEqual(["google:fr-FR-Chirp3-HD-Aoede", 8000]);
    expect(voiceAtRate(tts, 8000)).toBe(narrow);
    const { pcm, chunks } = await collectPcm(narrow.synthesize(TEXT));
    expect(chunks).toBeGreaterThan(3);
    expect(pcm).toEqual(google.tts.pcmFor(TEXT, 8000));
    expect(google.tts.requests[0]).toEqual({ method: "StreamingSynthesize", voice: "fr-FR-Chirp3-HD-Aoede", languageCode: "fr-FR", encoding: "PCM", sampleRate: 8000, text: TEXT });
  });

  test("another voice is synthesized whole: LINEAR16 at the call's rate, the WAV header parsed off (even with a LIST chunk)", async () => {
    const { google, tts } = await rig({ voice: "fr-FR-Neural2-A", listChunk: true });
    const { pcm } = await collectPcm(voiceAtRate(tts, 16000).synthesize(TEXT));
    expect(pcm).toEqual(google.tts.pcmFor(TEXT, 16000));
    expect(google.tts.requests[0]?.method).toBe("SynthesizeSpeech");
  });

  test("an unknown voice and a refused key are TtsErrors no retry will fix; UNAVAILABLE may pass on a retry", async () => {
    const unknown = await rig({ voice: "fr-FR-Chirp3-HD-Nobody" });
    const missing = await failure(collectPcm(unknown.tts.synthesize(TEXT)));
    expect(missing).toBeInstanceOf(TtsError);
    expect([(missing as TtsError).status, (missing as TtsError).retryable]).toEqual([404, false]);

    const { google, tts } = await rig();
    google.tts.failNext({ kind: "status", code: Status.UNAUTHENTICATED, message: "Request had invalid authentication credentials." });
    const refused = (await failure(collectPcm(tts.synthesize(TEXT)))) as TtsError;
    expect([refused.status, refused.retryable]).toEqual([401, false]);
    expect(refused.message).toContain("UNAUTHENTICATED: Request had invalid authentication credentials.");
    google.tts.failNext({ kind: "status", code: Status.UNAVAILABLE });
    const down = (await failure(collectPcm(tts.synthesize(TEXT)))) as TtsError;
    expect([down.status, down.retryable]).toEqual([503, true]);
    const whole = await rig({ voice: "en-US-Neural2-F" });
    whole.google.tts.failNext({ kind: "status", code: Status.PERMISSION_DENIED });
    const denied = (await failure(collectPcm(whole.tts.synthesize("Hello")))) as TtsError;
    expect([denied.status, denied.retryable]).toEqual([403, false]);
  });

  test("a stall (streamed or whole) and a dropped stream are retryable TtsErrors", async () => {
    const { google, tts } = await rig({ timeoutMs: 300 });
    google.tts.failNext({ kind: "stall", afterBytes: 800 });
    const stalled = (await failure(collectPcm(tts.synthesize(TEXT)))) as TtsError;
    expect([stalled.retryable, /stalled/.test(stalled.message)]).toEqual([true, true]);
    google.tts.failNext({ kind: "disconnect", afterBytes: 800 });
    const dropped = (await failure(collectPcm(tts.synthesize(TEXT)))) as TtsError;
    expect([dropped.status, dropped.retryable]).toEqual([503, true]);
    const whole = await rig({ voice: "fr-FR-Neural2-A", timeoutMs: 300 });
    whole.google.tts.failNext({ kind: "stall" });
    const late = (await failure(collectPcm(whole.tts.synthesize(TEXT)))) as TtsError;
    expect([late.status, late.retryable]).toEqual([504, true]);
  });

  test("aborting mid-sentence throws the abort reason and cancels the stream", async () => {
    const { google, tts } = await rig();
    const controller = new AbortController();
    const reason = new Error("barge-in");
    const error = await failure((async () => {
      for await (const _ of tts.synthesize(TEXT.repeat(5), controller.signal)) controller.abort(reason);
    })());
    expect(error).toBe(reason);
    for (let i = 0; i < 100 && google.tts.counts.cancelled === 0; i++) await Bun.sleep(10);
    expect(google.tts.counts.cancelled).toBe(1);
  });

  test("bad options are refused with a specific message", () => {
    expect(() => createGoogleTts({ credentials, endpoint: null, voice: "Aoede", timeoutMs: 1000, log })).toThrow(/voice "Aoede" is not allowed/);
    expect(() => createGoogleTts({ credentials, endpoint: null, voice: "fr-FR-Neural2-A", timeoutMs: 0, log })).toThrow(/timeoutMs 0/);
  });
});

describe("WAV parsing", () => {
  test("walks the chunks, refuses another format or rate, takes bytes without RIFF as raw PCM", () => {
    const raw = new Uint8Array([1, 2, 3, 4]);
    expect(pcmFromWav(raw, 8000)).toEqual({ sampleRate: 8000, data: raw });
    const header = new Uint8Array(44);
    const view = new DataView(header.buffer);
    const ascii = (at: number, s: string): void => [...s].forEach((c, i) => (header[at + i] = c.charCodeAt(0)));
    ascii(0, "RIFF"); ascii(8, "WAVE"); ascii(12, "fmt "); view.setUint32(16, 16, true);
    view.setUint16(20, 1, true); view.setUint16(22, 2, true); view.setUint32(24, 8000, true); view.setUint16(34, 16, true);
    ascii(36, "data");
    expect(() => pcmFromWav(header, 8000)).toThrow(/2 channel/);
    view.setUint16(22, 1, true);
    expect(() => pcmFromWav(header, 16000)).toThrow(/8000 Hz; 16000 Hz was asked/);
    expect(pcmFromWav(header, 8000).data.length).toBe(0);
  });
});
