import { afterEach, describe, expect, test } from "bun:test";
import { createDeepgramTts } from "../../src/ai/tts/deepgram.ts";
import { withOfflineFallback } from "../../src/ai/tts/offline-fallback.ts";
import { TtsError } from "../../src/ai/tts/pcm-body.ts";
import { withTtsRetries } from "../../src/ai/tts/retrying.ts";
import { voiceAtRate, type TextToSpeech } from "../../src/ai/tts/types.ts";
import { rootLogger } from "../../src/log.ts";
import { startFakeDeepgram } from "../fakes/deepgram.ts";
import { createFakeDeepgramSpeak, type FakeDeepgramSpeak } from "../fakes/deepgram-speak.ts";
import { collectPcm, failure } from "../support/provider-streams.ts";

const log = rootLogger.child("deepgram-tts-test");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** The speak fake on the listen fake's host, as Deepgram serves both: the voice gets the recognizer's ws:// base URL. */
function rig(o: { key?: string; voice?: string; timeoutMs?: number; ttfbMs?: number; msPerChar?: number } = {}): { speak: FakeDeepgramSpeak; tts: TextToSpeech } {
  const speak = createFakeDeepgramSpeak({ ttfbMs: o.ttfbMs, speed: 50, msPerChar: o.msPerChar });
  const dg = startFakeDeepgram({ routes: [speak] });
  cleanups.push(() => dg.stop());
  const tts = createDeepgramTts({ apiKey: o.key ?? "fake-deepgram-key", baseUrl: dg.url, voice: o.voice ?? "aura-2-agathe-fr", timeoutMs: o.timeoutMs ?? 5000, log });
  return { speak, tts };
}

const TEXT = "Bonjour, je suis l'assistant du service après-vente.";

describe("Deepgram Aura against the fake speak endpoint", () => {
  test("streams linear16 at the call's own rate, in several chunks, exactly what the API sent", async () => {
    const { speak, tts } = rig();
    expect([tts.voiceId, tts.sampleRate]).toEqual(["deepgram:aura-2-agathe-fr", 24000]);
    const narrow = voiceAtRate(tts, 8000);
    expect([narrow.voiceId, narrow.sampleRate]).toEqual(["deepgram:aura-2-agathe-fr", 8000]);
    expect(voiceAtRate(tts, 8000)).toBe(narrow);
    expect(voiceAtRate(tts, 11025)).toBe(tts);
    const { pcm, chunks } = await collectPcm(narrow.synthesize(TEXT));
    expect(chunks).toBeGreaterThan(3);
    expect(pcm).toEqual(speak.pcmFor(TEXT, 8000));
    const wide = await collectPcm(voiceAtRate(tts, 16000).synthesize(TEXT));
    expect(wide.pcm).toEqual(speak.pcmFor(TEXT, 16000));
    expect(speak.requests.map((r) => [r.model, r.sampleRate, r.text])).toEqual([["aura-2-agathe-fr", 8000, TEXT], ["aura-2-agathe-fr", 16000, TEXT]]);
  });

  test("a text over the endpoint's 2000 characters is spoken in pieces, one stream", async () => {
    const { speak, tts } = rig({ msPerChar: 1 });
    const sentence = "La box redémarre, patientez deux minutes. ";
    const long = sentence.repeat(60).trim();
    await collectPcm(tts.synthesize(long));
    expect(speak.requests.length).toBe(2);
    expect(speak.requests.every((r) => r.text.length <= 2000 && r.text.endsWith("."))).toBe(true);
  });

  test("a refused key and an unknown voice are TtsErrors that no retry will fix", async () => {
    const wrong = rig({ key: "wrong" });
    const refused = await failure(collectPcm(wrong.tts.synthesize(TEXT)));
    expect(refused).toBeInstanceOf(TtsError);
    expect(refused).toMatchObject({ status: 401, retryable: false });
    expect((refused as Error).message).toContain("Invalid credentials. (INVALID_AUTH)");
    const other = rig({ voice: "aura-2-nobody-fr" });
    const missing = await failure(collectPcm(other.tts.synthesize(TEXT)));
    expect(missing).toMatchObject({ status: 400, retryable: false });
    expect((missing as Error).message).toContain("No such model");
  });

  test.each([[500, true], [429, true], [503, true], [403, false]])("status %d is a TtsError, retryable: %p", async (status, retryable) => {
    const { speak, tts } = rig();
    speak.failNext({ kind: "status", status });
    const error = await failure(collectPcm(tts.synthesize(TEXT)));
    expect(error).toBeInstanceOf(TtsError);
    expect(error).toMatchObject({ status, retryable });
  });

  test("a stall mid-body, no headers at all, and a dropped connection are retryable TtsErrors", async () => {
    const { speak, tts } = rig({ timeoutMs: 150 });
    speak.failNext({ kind: "stall", afterBytes: 3000 });
    const stalled = await failure(collectPcm(tts.synthesize(TEXT)));
    expect(stalled).toMatchObject({ retryable: true });
    expect((stalled as Error).message).toContain("no audio for 150 ms");
    speak.failNext({ kind: "stall" });
    const silent = await failure(collectPcm(tts.synthesize(TEXT)));
    expect((silent as Error).message).toContain("no response within 150 ms");
    speak.failNext({ kind: "disconnect", afterBytes: 3000 });
    const dropped = await failure(collectPcm(tts.synthesize(TEXT)));
    expect(dropped).toMatchObject({ retryable: true, status: null });
    expect((dropped as Error).message).toContain("audio stream broke");
  });

  test("aborting mid-sentence throws the abort reason and closes the request", async () => {
    const { speak, tts } = rig();
    const controller = new AbortController();
    const reason = new Error("caller barged in");
    let chunks = 0;
    const error = await failure((async () => {
      for await (const _chunk of tts.synthesize(TEXT.repeat(5), controller.signal)) {
        if (++chunks === 2) controller.abort(reason);
      }
    })());
    expect(error).toBe(reason);
    for (let i = 0; i < 200 && speak.counts.cancelled === 0; i++) await Bun.sleep(5);
    expect(speak.counts.cancelled).toBe(1);
    expect(speak.counts.completed).toBe(0);
  });

  test("bad options are refused with a specific message", () => {
    const base = { apiKey: "k", baseUrl: null, voice: "aura-2-agathe-fr", timeoutMs: 1000, log };
    expect(() => createDeepgramTts({ ...base, apiKey: " " })).toThrow("the API key is empty");
    expect(() => createDeepgramTts({ ...base, voice: "nova" })).toThrow('voice "nova" is not allowed');
    expect(() => createDeepgramTts({ ...base, baseUrl: "ftp://x" })).toThrow("has scheme ftp:");
    expect(() => createDeepgramTts({ ...base, timeoutMs: 0 })).toThrow("timeoutMs 0");
  });
});

describe("Aura behind the retries and the offline voice, at the call's rate", () => {
  test("a first byte that misses the deadline: the offline voice says the sentence, at the call's rate", async () => {
    const { speak, tts } = rig({ ttfbMs: 10_000 });
    const offlineSaid: string[] = [];
    const offline: TextToSpeech = {
      voiceId: "espeak-ng:fr",
      sampleRate: 8000,
      async *synthesize(text) {
        offlineSaid.push(text);
        yield new Int16Array(80).fill(7);
      },
      close: async () => {},
    };
    const resampler = { openStream: () => Promise.reject(new Error("no resampling expected: both voices at 8000 Hz")) };
    const voice = withOfflineFallback({ cloud: withTtsRetries(tts, { attempts: 1, log }), offline, resampler, deadlineMs: 1000, breaker: null, log });
    const call = voiceAtRate(voice, 8000);
    expect([call.voiceId, call.sampleRate]).toEqual(["deepgram:aura-2-agathe-fr", 8000]);
    const { pcm } = await collectPcm(call.synthesize(TEXT));
    expect(offlineSaid).toEqual([TEXT]);
    expect(pcm).toEqual(new Int16Array(80).fill(7));
    expect(speak.requests[0]?.sampleRate).toBe(8000);
    speak.ttfbMs = 0;
    const fine = await collectPcm(call.synthesize(TEXT));
    expect(fine.pcm).toEqual(speak.pcmFor(TEXT, 8000));
  });
});
