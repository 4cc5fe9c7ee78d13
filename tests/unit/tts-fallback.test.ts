import { afterAll, describe, expect, test } from "bun:test";
import { forCall } from "../../src/ai/call-context.ts";
import { CircuitBreaker } from "../../src/ai/circuit-breaker.ts";
import { createEspeakTts } from "../../src/ai/tts/espeak.ts";
import { withOfflineFallback, type OfflineFallbackOptions } from "../../src/ai/tts/offline-fallback.ts";
import { createOpenAiTts } from "../../src/ai/tts/openai.ts";
import { withTtsRetries } from "../../src/ai/tts/retrying.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import type { LogFields, Logger } from "../../src/log.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import { startFakeHttp } from "../fakes/http.ts";
import { createFakeSpeech } from "../fakes/speech.ts";

const SENTENCE = "Votre box est-elle allumée ?";
const resampler = createResamplerPool({ size: 1, engine: "speex" });
const speech = createFakeSpeech({ apiKey: "k" });
const http = startFakeHttp([speech]);
afterAll(async () => {
  await resampler.close();
  await http.stop();
});

interface Warn {
  msg: string;
  fields: LogFields | undefined;
}

function logger(warns: Warn[]): Logger {
  const log: Logger = {
    debug: () => undefined, info: () => undefined, error: () => undefined,
    warn: (msg, fields) => void warns.push({ msg, fields }),
    child: () => log,
  };
  return log;
}

/** A voice that answers from a script: `stallAfter` chunks then nothing until aborted (Infinity = never stalls). */
function scripted(voiceId: string, sampleRate: number, chunks: number, stallAfter = Number.POSITIVE_INFINITY): TextToSpeech & { asked: string[] } {
  const asked: string[] = [];
  return {
    voiceId, sampleRate, asked,
    async *synthesize(text, signal) {
      asked.push(text);
      for (let i = 0; i < chunks; i++) {
        if (i === stallAfter) {
          signal?.throwIfAborted();
          await new Promise<void>((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true }));
        }
        yield new Int16Array(sampleRate / 10).fill(1000);
      }
    },
    close: async () => undefined,
  };
}

async function collect(stream: AsyncIterable<Int16Array>): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += chunk.length;
  return n;
}

function rig(cloud: TextToSpeech, offline: TextToSpeech, extra: Partial<OfflineFallbackOptions> = {}) {
  const warns: Warn[] = [];
  const fallbacks: string[] = [];
  const errors: string[] = [];
  const log = logger(warns);
  const breaker = new CircuitBreaker("openai:gpt-4o-mini-tts", { failures: 2, cooldownMs: 60_000, log });
  const tts = withOfflineFallback({
    cloud, offline, resampler, deadlineMs: 150, breaker, log,
    onFallback: (from, to, reason) => void fallbacks.push(`${from}>${to}:${reason}`),
    onError: (_provider, error) => void errors.push(String(error)),
    ...extra,
  });
  return { tts, warns, fallbacks, errors, breaker };
}

/** 22050 Hz audio resampled to 24000 Hz: within a few filter delays of the exact ratio. */
const at24k = (samples22k: number): number => Math.round((samples22k * 24000) / 22050);

describe("TTS with the offline voice behind it", () => {
  test("a cloud voice that answers in time is used alone; its success closes the breaker's count", async () => {
    const cloud = scripted("openai:m:nova", 24000, 3);
    const offline = scripted("espeak-ng:fr", 22050, 2);
    const { tts, breaker, fallbacks } = rig(cloud, offline);
    breaker.failure();
    expect(await collect(tts.synthesize(SENTENCE))).toBe(3 * 2400);
    expect(offline.asked).toEqual([]);
    expect(fallbacks).toEqual([]);
    expect(breaker.snapshot().failures).toBe(0);
    expect([tts.voiceId, tts.sampleRate]).toEqual(["openai:m:nova", 24000]);
  });

  test("no first audio within the deadline: the offline voice says the sentence, resampled to the cloud voice's rate", async () => {
    const cloud = scripted("openai:m:nova", 24000, 3, 0);
    const offline = scripted("espeak-ng:fr", 22050, 4);
    const { tts, warns, fallbacks, errors, breaker } = rig(cloud, offline);
    const samples = await forCall("call-7", () => collect(tts.synthesize(SENTENCE)));
    expect(Math.abs(samples - at24k(4 * 2205))).toBeLessThan(200);
    expect(offline.asked).toEqual([SENTENCE]);
    expect(fallbacks).toEqual(["openai:m:nova>espeak-ng:fr:deadline"]);
    expect(errors).toEqual(["TtsError: openai:m:nova: no audio within 150 ms"]);
    expect(warns.find((w) => w.msg === "TTS fell back to the offline voice")?.fields).toMatchObject({ call: "call-7", voice: "openai:m:nova", reason: "deadline" });
    expect(breaker.snapshot().failures).toBe(1);
  });

  test("a stall mid-sentence: what was heard stays, then the offline voice says the whole sentence", async () => {
    const cloud = scripted("openai:m:nova", 24000, 5, 2);
    const offline = scripted("espeak-ng:fr", 22050, 2);
    const { tts, fallbacks } = rig(cloud, offline);
    const samples = await collect(tts.synthesize(SENTENCE));
    expect(Math.abs(samples - (2 * 2400 + at24k(2 * 2205)))).toBeLessThan(200);
    expect(fallbacks).toEqual(["openai:m:nova>espeak-ng:fr:stalled"]);
  });

  test("once the breaker is open the cloud voice is not asked at all", async () => {
    const cloud = scripted("openai:m:nova", 24000, 3, 0);
    const offline = scripted("espeak-ng:fr", 22050, 1);
    const { tts, fallbacks, breaker, warns } = rig(cloud, offline);
    await collect(tts.synthesize("un"));
    await collect(tts.synthesize("deux"));
    expect(breaker.state).toBe("open");
    await collect(tts.synthesize("trois"));
    expect(cloud.asked).toEqual(["un", "deux"]);
    expect(offline.asked).toEqual(["un", "deux", "trois"]);
    expect(fallbacks.at(-1)).toBe("openai:m:nova>espeak-ng:fr:circuit-open");
    expect(warns.some((w) => w.msg === "provider circuit opened: skipping the provider")).toBe(true);
  });

  test("the caller's abort stops both voices and is rethrown", async () => {
    const cloud = scripted("openai:m:nova", 24000, 3, 1);
    const offline = scripted("espeak-ng:fr", 22050, 3);
    const { tts, fallbacks } = rig(cloud, offline, { deadlineMs: 5000 });
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await (async () => {
      try {
        for await (const chunk of tts.synthesize(SENTENCE, controller.signal)) {
          seen.push(chunk.length);
          controller.abort(new Error("barge-in"));
        }
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect((error as Error).message).toBe("barge-in");
    expect(seen).toEqual([2400]);
    expect(offline.asked).toEqual([]);
    expect(fallbacks).toEqual([]);
  });

  test("a half-open trial cut by the caller once its audio came (a barge-in) closes the breaker", async () => {
    const cloud = scripted("openai:m:nova", 24000, 3, 1);
    const offline = scripted("espeak-ng:fr", 22050, 3);
    const breaker = new CircuitBreaker("openai:m:nova", { failures: 1, cooldownMs: 1, log: logger([]) });
    const { tts } = rig(cloud, offline, { deadlineMs: 5000, breaker });
    breaker.failure();
    await Bun.sleep(5);
    expect(breaker.state).toBe("half-open");
    const controller = new AbortController();
    await (async () => {
      try {
        for await (const _chunk of tts.synthesize(SENTENCE, controller.signal)) controller.abort(new Error("barge-in"));
      } catch {
        // the caller's abort, rethrown
      }
    })();
    expect(breaker.snapshot()).toMatchObject({ state: "closed", failures: 0 });
    expect(offline.asked).toEqual([]);
  });

  test("bad options are refused", () => {
    const voice = scripted("x", 24000, 1);
    expect(() => rig(voice, voice, { deadlineMs: 0 })).toThrow("deadlineMs 0 is invalid");
  });
});

describe("the real path: OpenAI TTS against the fake speech server, eSpeak-NG behind it", () => {
  test("a stalled server, a 500 on every request: each sentence is spoken by eSpeak-NG, at 24 kHz", async () => {
    const log = logger([]);
    const cloud = withTtsRetries(createOpenAiTts({ apiKey: "k", baseUrl: `${http.url}/v1`, model: "gpt-4o-mini-tts", voice: "nova", timeoutMs: 10_000, log }), { attempts: 2, backoffMs: 10, log });
    const offline = await createEspeakTts({ voice: "fr", log });
    try {
      const { tts, fallbacks } = rig(cloud, offline, { breaker: null });
      speech.failNext({ kind: "stall" });
      const stalled = await collect(tts.synthesize(SENTENCE));
      speech.failAlways({ kind: "status", status: 500 });
      const failing = await collect(tts.synthesize(SENTENCE));
      speech.failAlways(null);
      const fine = await collect(tts.synthesize(SENTENCE));
      expect(fallbacks.map((f) => f.split(":").at(-1))).toEqual(["deadline", "error"]);
      // eSpeak speaks this sentence in about a second and a half; the fake voice in 65 ms per character.
      for (const samples of [stalled, failing]) expect(samples).toBeGreaterThan(24000);
      expect(Math.abs(fine - speech.pcmFor(SENTENCE).length)).toBeLessThan(2);
      expect(speech.counts.faulted).toBe(4);
    } finally {
      await offline.close();
    }
  });
});
