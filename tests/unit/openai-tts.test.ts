import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOpenAiTts } from "../../src/ai/tts/openai.ts";
import { TtsError } from "../../src/ai/tts/pcm-body.ts";
import { withTtsRetries } from "../../src/ai/tts/retrying.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import { rootLogger } from "../../src/log.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { createFakeSpeech, type FakeSpeech, type FakeSpeechOptions } from "../fakes/speech.ts";
import { concat } from "../support/pcm-8k.ts";

const log = rootLogger.child("openai-tts-test");
const SENTENCE = "Bonjour, je vais vous aider à rétablir votre connexion internet.";

interface Rig {
  fake: FakeSpeech;
  server: FakeHttpServer;
  tts(options?: { model?: string; instructions?: string; apiKey?: string; timeoutMs?: number }): TextToSpeech;
}

const rigs: Rig[] = [];
function rig(options?: FakeSpeechOptions): Rig {
  const fake = createFakeSpeech(options);
  const server = startFakeHttp([fake]);
  const made: Rig = {
    fake,
    server,
    tts: (o = {}) =>
      createOpenAiTts({
        apiKey: o.apiKey ?? "test",
        baseUrl: `${server.url}/v1`,
        model: o.model ?? "gpt-4o-mini-tts",
        voice: "nova",
        instructions: o.instructions,
        timeoutMs: o.timeoutMs ?? 2000,
        log,
      }),
  };
  rigs.push(made);
  return made;
}
afterAll(() => Promise.all(rigs.map((r) => r.server.stop())));

async function collect(stream: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const chunks: Int16Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function failure(stream: AsyncIterable<Int16Array>): Promise<unknown> {
  try {
    await collect(stream);
  } catch (error) {
    return error;
  }
  throw new Error("expected the stream to fail");
}

/** Waits for a condition the server side reaches on its own (connection teardown), counting turns, not time. */
async function eventually(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 200 && !condition(); turn++) await Bun.sleep(5);
  expect(condition()).toBe(true);
}

describe("fake speech API", () => {
  let shared: Rig;
  beforeAll(() => {
    shared = rig();
  });

  test("renders speech-like audio: ~65 ms per character, about -12 dBFS, deterministic", () => {
    const pcm = shared.fake.pcmFor(SENTENCE);
    expect(pcm.length).toBe(Math.round((SENTENCE.length * 65 * 24_000) / 1000));
    let sum = 0;
    for (const sample of pcm) sum += sample * sample;
    const dbfs = 20 * Math.log10(Math.sqrt(sum / pcm.length) / 32767);
    expect(dbfs).toBeGreaterThan(-14);
    expect(dbfs).toBeLessThan(-10);
    expect(shared.fake.pcmFor(SENTENCE)).toEqual(pcm);
    expect(shared.fake.pcmFor("Oui.").length).toBe(7200); // the 300 ms minimum
  });

  test("streams the body in chunks, some of them with an odd number of bytes", async () => {
    const response = await fetch(`${shared.server.url}/v1/audio/speech`, {
      method: "POST",
      headers: { Authorization: "Bearer test", "Content-Type": "application/json" },
      body: JSON.stringify({ model: "tts-1", voice: "nova", input: SENTENCE, response_format: "pcm" }),
    });
    expect(response.headers.get("content-type")).toBe("audio/pcm");
    const sizes: number[] = [];
    for await (const chunk of response.body as ReadableStream<Uint8Array>) sizes.push(chunk.length);
    expect(sizes.length).toBeGreaterThan(5);
    expect(sizes.some((size) => size % 2 === 1)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(shared.fake.pcmFor(SENTENCE).byteLength);
  });

  test("rejects a missing key, a format other than pcm, and ignores other paths", async () => {
    const post = (path: string, body: object, key = "test"): Promise<Response> =>
      fetch(`${shared.server.url}${path}`, { method: "POST", headers: { Authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    const unauthorized = await post("/v1/audio/speech", {}, "nope");
    expect(unauthorized.status).toBe(401);
    expect(((await unauthorized.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    const mp3 = await post("/v1/audio/speech", { model: "tts-1", voice: "nova", input: "Salut", response_format: "mp3" });
    expect(mp3.status).toBe(400);
    expect(((await mp3.json()) as { error: { message: string } }).error.message).toContain('only response_format "pcm"');
    expect((await post("/v1/chat/completions", {})).status).toBe(404);
  });

  test("refuses bad options with a message naming the value", () => {
    expect(() => createFakeSpeech({ ttfbMs: -1 })).toThrow("ttfbMs -1 is not allowed");
    expect(() => shared.fake.failNext({ kind: "status", status: 200 })).toThrow("fault status 200 is not allowed");
  });
});

describe("OpenAI TTS provider", () => {
  let shared: Rig;
  beforeAll(() => {
    shared = rig();
  });

  test("names its voice and rate", () => {
    const tts = shared.tts();
    expect(tts.voiceId).toBe("openai:gpt-4o-mini-tts:nova");
    expect(tts.sampleRate).toBe(24_000);
  });

  test("yields the exact samples, across odd byte splits, each chunk owning its buffer", async () => {
    const chunks = await collect(shared.tts().synthesize(SENTENCE));
    expect(chunks.length).toBeGreaterThan(5);
    expect(concat(chunks)).toEqual(shared.fake.pcmFor(SENTENCE));
    for (const chunk of chunks) {
      expect(chunk.byteOffset).toBe(0);
      expect(chunk.buffer.byteLength).toBe(chunk.byteLength);
    }
  });

  test("yields the first chunk while the fake is still sending", async () => {
    const slow = rig({ chunkIntervalMs: 20 });
    const completedAtChunk: number[] = [];
    for await (const chunk of slow.tts().synthesize("Un instant, s'il vous plaît.")) {
      expect(chunk.length).toBeGreaterThan(0);
      completedAtChunk.push(slow.fake.counts.completed);
    }
    expect(completedAtChunk[0]).toBe(0);
    expect(completedAtChunk.length).toBeGreaterThan(5);
    expect(slow.fake.counts.completed).toBe(1);
  });

  test("sends model, voice, input, pcm, and instructions only to models that take them", async () => {
    await collect(shared.tts({ instructions: "Ton calme et professionnel." }).synthesize("Un instant."));
    await collect(shared.tts({ model: "tts-1", instructions: "Ton calme." }).synthesize("Merci."));
    expect(shared.fake.requests.slice(-2)).toEqual([
      { model: "gpt-4o-mini-tts", voice: "nova", input: "Un instant.", instructions: "Ton calme et professionnel." },
      { model: "tts-1", voice: "nova", input: "Merci.", instructions: null },
    ]);
  });

  test("sends nothing for blank text", async () => {
    const before = shared.fake.counts.requests;
    expect(await collect(shared.tts().synthesize("   "))).toEqual([]);
    expect(shared.fake.counts.requests).toBe(before);
  });

  test("splits text over 4096 characters at sentence ends and streams the pieces in order", async () => {
    const sentence = "Votre box redémarre, merci de patienter quelques instants. ";
    const text = sentence.repeat(120).trim();
    const fast = rig({ msPerChar: 1 });
    const chunks = await collect(fast.tts().synthesize(text));
    const inputs = fast.fake.requests.map((r) => r.input);
    expect(inputs.length).toBe(2);
    for (const input of inputs) {
      expect(input.length).toBeLessThanOrEqual(4096);
      expect(input.endsWith(".")).toBe(true);
    }
    expect(inputs.join(" ")).toBe(text);
    expect(concat(chunks)).toEqual(concat(inputs.map((input) => fast.fake.pcmFor(input))));
  });

  test("401 is a non-retryable TtsError naming the status and the vendor message", async () => {
    const error = await failure(shared.tts({ apiKey: "wrong" }).synthesize(SENTENCE));
    expect(error).toBeInstanceOf(TtsError);
    const tts = error as TtsError;
    expect(tts.status).toBe(401);
    expect(tts.retryable).toBe(false);
    expect(tts.message).toBe("openai:gpt-4o-mini-tts:nova: HTTP 401: Incorrect API key provided.");
  });

  test("500 and 429 are retryable TtsErrors", async () => {
    for (const status of [500, 429]) {
      shared.fake.failNext({ kind: "status", status });
      const error = (await failure(shared.tts().synthesize(SENTENCE))) as TtsError;
      expect(error).toBeInstanceOf(TtsError);
      expect(error.status).toBe(status);
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(`HTTP ${status}: `);
    }
  });

  test("a stall after the first bytes is a retryable TtsError, and the body is cancelled", async () => {
    const own = rig();
    own.fake.failNext({ kind: "stall", afterBytes: 4801 });
    const chunks: Int16Array[] = [];
    let caught: unknown;
    try {
      for await (const chunk of own.tts({ timeoutMs: 150 }).synthesize(SENTENCE)) chunks.push(chunk);
    } catch (error) {
      caught = error;
    }
    expect(concat(chunks).length).toBe(2400);
    expect(caught).toBeInstanceOf(TtsError);
    expect((caught as TtsError).retryable).toBe(true);
    expect((caught as TtsError).message).toContain("no audio for 150 ms after 4801 bytes (stalled)");
    await eventually(() => own.fake.counts.cancelled === 1);
  });

  test("no response at all is a retryable TtsError after timeoutMs", async () => {
    shared.fake.failNext({ kind: "stall" });
    const error = (await failure(shared.tts({ timeoutMs: 150 }).synthesize(SENTENCE))) as TtsError;
    expect(error).toBeInstanceOf(TtsError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("no response within 150 ms");
  });

  test("a dropped connection mid-body is a retryable TtsError", async () => {
    shared.fake.failNext({ kind: "disconnect", afterBytes: 10_001 });
    const error = (await failure(shared.tts().synthesize(SENTENCE))) as TtsError;
    expect(error).toBeInstanceOf(TtsError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("audio stream broke after 10001 bytes");
  });

  test("abort stops the stream, rethrows the reason and cancels the body", async () => {
    const slow = rig({ chunkIntervalMs: 30 });
    const controller = new AbortController();
    const reason = new Error("caller barged in");
    let chunks = 0;
    let caught: unknown;
    try {
      for await (const chunk of slow.tts().synthesize(SENTENCE, controller.signal)) {
        expect(chunk.length).toBeGreaterThan(0);
        if (++chunks === 2) controller.abort(reason);
      }
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(reason);
    expect(chunks).toBe(2);
    await eventually(() => slow.fake.counts.cancelled === 1);
    expect(slow.fake.counts.completed).toBe(0);
  });

  test("a consumer that stops early cancels the body", async () => {
    const slow = rig({ chunkIntervalMs: 30 });
    for await (const chunk of slow.tts().synthesize(SENTENCE)) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await eventually(() => slow.fake.counts.cancelled === 1);
  });

  test("an already aborted signal sends nothing", async () => {
    const before = shared.fake.counts.requests;
    const reason = new Error("gone");
    expect(await failure(shared.tts().synthesize(SENTENCE, AbortSignal.abort(reason)))).toBe(reason);
    expect(shared.fake.counts.requests).toBe(before);
  });

  test("bad options get a clear error", () => {
    const base = { apiKey: "k", baseUrl: null, model: "tts-1", voice: "nova", timeoutMs: 1000, log };
    expect(() => createOpenAiTts({ ...base, timeoutMs: 0 })).toThrow("timeoutMs 0 is not allowed");
    expect(() => createOpenAiTts({ ...base, voice: "" })).toThrow('voice "" is not allowed');
    expect(() => createOpenAiTts({ ...base, baseUrl: "127.0.0.1:80" })).toThrow('baseUrl "127.0.0.1:80" is not allowed');
  });
});

describe("TTS retries", () => {
  test("retries a 500 and then succeeds", async () => {
    const { fake, tts } = rig();
    fake.failNext({ kind: "status", status: 500 });
    const retrying = withTtsRetries(tts(), { attempts: 2, backoffMs: 1, log });
    expect(retrying.voiceId).toBe("openai:gpt-4o-mini-tts:nova");
    expect(concat(await collect(retrying.synthesize(SENTENCE)))).toEqual(fake.pcmFor(SENTENCE));
    expect(fake.counts.requests).toBe(2);
    expect(retrying.stats).toEqual({ retries: 1, failures: 0 });
  });

  test("does not retry once audio was yielded", async () => {
    const { fake, tts } = rig();
    fake.failNext({ kind: "disconnect", afterBytes: 10_000 });
    const retrying = withTtsRetries(tts(), { attempts: 2, backoffMs: 1, log });
    const error = (await failure(retrying.synthesize(SENTENCE))) as TtsError;
    expect(error.retryable).toBe(true);
    expect(fake.counts.requests).toBe(1);
    expect(retrying.stats).toEqual({ retries: 0, failures: 1 });
  });

  test("gives up after `attempts` retries, and never retries a 401", async () => {
    const { fake, tts } = rig();
    fake.failAlways({ kind: "status", status: 503 });
    const retrying = withTtsRetries(tts(), { attempts: 2, backoffMs: 1, log });
    expect(((await failure(retrying.synthesize(SENTENCE))) as TtsError).status).toBe(503);
    expect(fake.counts.requests).toBe(3);
    expect(retrying.stats).toEqual({ retries: 2, failures: 1 });

    const unauthorized = withTtsRetries(tts({ apiKey: "wrong" }), { attempts: 2, backoffMs: 1, log });
    expect(((await failure(unauthorized.synthesize(SENTENCE))) as TtsError).status).toBe(401);
    expect(unauthorized.stats).toEqual({ retries: 0, failures: 1 });
  });

  test("an abort during the backoff rethrows the reason at once", async () => {
    const { fake, tts } = rig();
    fake.failNext({ kind: "status", status: 500 });
    const retrying = withTtsRetries(tts(), { attempts: 2, backoffMs: 60_000, log });
    const controller = new AbortController();
    const reason = new Error("hung up");
    const outcome = failure(retrying.synthesize(SENTENCE, controller.signal));
    await eventually(() => retrying.stats.retries === 1);
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(fake.counts.requests).toBe(1);
    expect(retrying.stats).toEqual({ retries: 1, failures: 0 });
  });

  test("bad options get a clear error", () => {
    const tts = rig().tts();
    expect(() => withTtsRetries(tts, { attempts: -1, log })).toThrow("attempts -1 is not allowed");
    expect(() => withTtsRetries(tts, { attempts: 1, backoffMs: Number.NaN, log })).toThrow("backoffMs NaN is not allowed");
  });
});
