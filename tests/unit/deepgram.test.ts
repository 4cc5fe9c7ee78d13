import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createDeepgramStt, deepgramLanguageFor, toSttEvent } from "../../src/ai/stt/deepgram.ts";
import type { SpeechToText, SttEvent, SttOptions, SttStream } from "../../src/ai/stt/types.ts";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { startFakeDeepgram, type FakeDeepgram, type FakeDeepgramOptions } from "../fakes/deepgram.ts";

const KEY = "test-deepgram-key";
const SAID = "Bonjour, ma box internet ne marche plus";
const logLines: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  setLogSink((line) => logLines.push(line));
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  setLogSink((line) => process.stderr.write(line + "\n"));
});

const fakes: FakeDeepgram[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.stop();
  expect(unhandled).toEqual([]);
});

function fake(options: FakeDeepgramOptions = {}): FakeDeepgram {
  const started = startFakeDeepgram({ apiKey: KEY, script: [SAID], ...options });
  fakes.push(started);
  return started;
}

function provider(baseUrl: string, overrides: { apiKey?: string; timeoutMs?: number; model?: string } = {}): SpeechToText {
  return createDeepgramStt({
    apiKey: overrides.apiKey ?? KEY,
    baseUrl,
    model: overrides.model ?? "nova-3",
    timeoutMs: overrides.timeoutMs ?? 2000,
    log: rootLogger.child("deepgram-test"),
  });
}

function sttOptions(sampleRate: number): SttOptions {
  return { sampleRate, language: "fr-FR", keyterms: ["Acme Box", "fibre optique"] };
}

/** What a stream reported: its events, and every onClosed call. */
class Recorder {
  readonly events: SttEvent[] = [];
  readonly closes: (Error | null)[] = [];
  readonly handlers = {
    onEvent: (e: SttEvent) => {
      this.events.push(e);
    },
    onClosed: (e: Error | null) => {
      this.closes.push(e);
    },
  };
  transcripts(): Extract<SttEvent, { type: "transcript" }>[] {
    return this.events.filter((e): e is Extract<SttEvent, { type: "transcript" }> => e.type === "transcript");
  }
}

/** Polls until the condition holds; a bound, not a latency assertion. */
async function until(what: string, condition: () => boolean, boundMs = 4000): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** 300 Hz with two harmonics peaking at −12 dBFS for speechMs, then silenceMs of digital silence. */
function speechBurst(rate: number, speechMs: number, silenceMs: number): Int16Array {
  const speech = Math.round((rate * speechMs) / 1000);
  const out = new Int16Array(speech + Math.round((rate * silenceMs) / 1000));
  const peak = 32768 * 10 ** (-12 / 20);
  for (let i = 0; i < speech; i++) {
    const t = (2 * Math.PI * 300 * i) / rate;
    out[i] = Math.round(peak * (0.5 * Math.sin(t) + 0.3 * Math.sin(2 * t) + 0.2 * Math.sin(3 * t)));
  }
  return out;
}

/** Sends 20 ms views into one buffer, as the call does (views that do not span their buffer). */
function sendFrames(stream: SttStream, pcm: Int16Array, rate: number): void {
  const n = rate / 50;
  for (let i = 0; i < pcm.length; i += n) stream.send(pcm.subarray(i, Math.min(pcm.length, i + n)));
}

async function unusedPort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

describe("Deepgram STT against the local fake", () => {
  for (const rate of [8000, 16000]) {
    test(`hears a speech burst at ${rate} Hz: speechStarted, interims, final, utteranceEnd`, async () => {
      const dg = fake();
      const rec = new Recorder();
      const stream = await provider(dg.url).open(sttOptions(rate), rec.handlers);
      const pcm = speechBurst(rate, 800, 700);
      sendFrames(stream, pcm, rate);
      await until("utteranceEnd", () => rec.events.some((e) => e.type === "utteranceEnd"));

      expect(rec.events[0]).toEqual({ type: "speechStarted" });
      const interims = rec.transcripts().filter((t) => !t.isFinal);
      expect(interims.length).toBeGreaterThanOrEqual(2);
      for (const t of interims) expect(SAID.startsWith(t.text)).toBe(true);
      expect(interims[1]?.text.length).toBeGreaterThan(interims[0]?.text.length ?? 0);
      const finals = rec.transcripts().filter((t) => t.isFinal);
      expect(finals).toEqual([{ type: "transcript", text: SAID, isFinal: true, speechFinal: true, fromFinalize: false }]);
      expect(rec.events.at(-1)).toEqual({ type: "utteranceEnd" });

      const seen = dg.connections[0];
      expect(seen?.query).toMatchObject({
        model: "nova-3",
        language: "fr",
        encoding: "linear16",
        sample_rate: String(rate),
        channels: "1",
        interim_results: "true",
        vad_events: "true",
        utterance_end_ms: "1000",
        endpointing: "300",
        smart_format: "true",
        punctuate: "true",
      });
      expect(seen?.keyterms).toEqual(["Acme Box", "fibre optique"]);
      expect(seen?.authorization).toBe(`Token ${KEY}`);
      expect(seen?.audioBytes).toBe(pcm.byteLength);

      await stream.close();
      expect(rec.closes).toEqual([null]);
      expect(dg.connections[0]?.closeStreams).toBe(1);
      expect(dg.connections[0]?.closed).toEqual({ code: 1000, reason: "", by: "server" });
    });
  }

  test("keepAlive and finalize are counted; finalize flushes the words at once", async () => {
    const dg = fake();
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(8000), rec.handlers);
    stream.keepAlive();
    stream.keepAlive();
    sendFrames(stream, speechBurst(8000, 600, 0), 8000);
    await until("speech start", () => rec.events.length > 0);
    stream.finalize();
    await until("the flushed final", () => rec.transcripts().some((t) => t.isFinal));
    expect(rec.transcripts().filter((t) => t.isFinal)).toEqual([{ type: "transcript", text: SAID, isFinal: true, speechFinal: false, fromFinalize: true }]);
    expect(dg.connections[0]?.keepAlives).toBe(2);
    expect(dg.connections[0]?.finalizes).toBe(1);
    await stream.close();
    await stream.close();
    expect(rec.closes).toEqual([null]);
  });

  test("CloseStream sends the pending final before the close; a scripted function picks the words", async () => {
    const dg = fake({ delayMs: 5000, script: (c, u) => `connexion ${c} phrase ${u}` });
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(16000), rec.handlers);
    sendFrames(stream, speechBurst(16000, 400, 400), 16000);
    await until("the end of the utterance", () => dg.connections[0]?.utterances === 1 && rec.events.length > 0);
    await stream.close();
    expect(rec.transcripts().filter((t) => t.isFinal).map((t) => t.text)).toEqual(["connexion 0 phrase 0"]);
    expect(rec.closes).toEqual([null]);
  });

  test("a wrong key rejects open() with a message naming Deepgram, the URL and 401", async () => {
    const dg = fake();
    const rec = new Recorder();
    const opening = provider(dg.url, { apiKey: "wrong" }).open(sttOptions(8000), rec.handlers);
    await expect(opening).rejects.toThrow(/Deepgram.*ws:\/\/127\.0\.0\.1:\d+\/v1\/listen.*401/);
    expect(dg.refusals).toEqual([{ status: 401, reason: "wrong key" }]);
    await Bun.sleep(50);
    expect(rec.closes).toEqual([]);
    expect(dg.connections).toHaveLength(0);
  });

  test("an unreachable port rejects open() as refused; a silent server as a timeout", async () => {
    const port = await unusedPort();
    await expect(provider(`ws://127.0.0.1:${port}`).open(sttOptions(8000), new Recorder().handlers)).rejects.toThrow(/Deepgram.*refused/);
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const opening = provider(`http://127.0.0.1:${silent.port}`, { timeoutMs: 300 }).open(sttOptions(8000), new Recorder().handlers);
      await expect(opening).rejects.toThrow(/Deepgram.*timed out after 300 ms/);
    } finally {
      silent.stop(true);
    }
  });

  test("rejections and refusals on request: 429, then refuseConnections", async () => {
    const dg = fake({ reject: 429 });
    await expect(provider(dg.url).open(sttOptions(8000), new Recorder().handlers)).rejects.toThrow(/429/);
    dg.setFaults({ reject: null, refuseConnections: 1 });
    await expect(provider(dg.url).open(sttOptions(8000), new Recorder().handlers)).rejects.toThrow(/503/);
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(8000), rec.handlers);
    await stream.close();
    expect(rec.closes).toEqual([null]);
  });

  test("faults per connection: failNext for the next handshakes, failAll for every one after", async () => {
    const dg = fake({ script: (_c, u) => `phrase ${u}` });
    dg.failNext({ kind: "reject", status: 500 });
    dg.failNext({ kind: "stall", afterUtterances: 1 });
    dg.failAll({ kind: "stall" });
    await expect(provider(dg.url).open(sttOptions(8000), new Recorder().handlers)).rejects.toThrow(/500/);
    // Results stop after the first utterance's final; the socket stays open and takes audio.
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(8000), rec.handlers);
    sendFrames(stream, speechBurst(8000, 400, 400), 8000);
    await until("the first final", () => rec.transcripts().some((t) => t.isFinal));
    sendFrames(stream, speechBurst(8000, 400, 400), 8000);
    await until("the second utterance heard", () => dg.connections[0]?.utterances === 2);
    stream.finalize();
    await until("the finalize received", () => dg.connections[0]?.finalizes === 1);
    expect(rec.transcripts().filter((t) => t.isFinal).map((t) => t.text)).toEqual(["phrase 0"]);
    expect(dg.connections[0]?.closed).toBeNull();
    // failAll: no result at all, not even for a Finalize.
    const silent = new Recorder();
    const next = await provider(dg.url).open(sttOptions(8000), silent.handlers);
    sendFrames(next, speechBurst(8000, 400, 400), 8000);
    next.finalize();
    await until("the audio and the finalize received", () => dg.connections[1]?.finalizes === 1 && dg.connections[1].utterances === 1);
    expect(silent.events).toEqual([]);
    dg.failAll(null);
    dg.failNext({ kind: "drop", afterMs: 50 });
    const dropped = new Recorder();
    await provider(dg.url).open(sttOptions(8000), dropped.handlers);
    await until("onClosed", () => dropped.closes.length > 0);
    expect(dropped.closes[0]?.message).toBe("Deepgram closed the stream: 1011 NET-0000");
    await stream.close();
    await next.close();
  });

  test("a drop mid-stream reports onClosed(Error) once, and the stream stays safe to use", async () => {
    const dg = fake();
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(8000), rec.handlers);
    dg.setFaults({ dropAfterMs: 50 }, "all");
    await until("onClosed", () => rec.closes.length > 0);
    expect(rec.closes).toHaveLength(1);
    expect(rec.closes[0]?.message).toBe("Deepgram closed the stream: 1011 NET-0000");
    expect(() => stream.send(new Int16Array(160))).not.toThrow();
    stream.keepAlive();
    stream.finalize();
    await stream.close();
    await Bun.sleep(50);
    expect(rec.closes).toHaveLength(1);
  });

  test("the server vanishing mid-stream reports onClosed(Error) once", async () => {
    const dg = startFakeDeepgram({ apiKey: KEY });
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(8000), rec.handlers);
    sendFrames(stream, speechBurst(8000, 200, 0), 8000);
    await dg.stop();
    await until("onClosed", () => rec.closes.length > 0);
    await Bun.sleep(50);
    expect(rec.closes).toHaveLength(1);
    expect(rec.closes[0]?.message).toBe("Deepgram closed the stream: 1001 fake stopped");
    await stream.close();
    expect(rec.closes).toHaveLength(1);
  });

  test("a connection cut without a close frame reports onClosed(Error) once", async () => {
    const cutter = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request, server) => (server.upgrade(request) ? undefined : new Response("upgrade", { status: 426 })),
      websocket: { message: (ws) => ws.terminate() },
    });
    try {
      const rec = new Recorder();
      const stream = await provider(`ws://127.0.0.1:${cutter.port}`).open(sttOptions(8000), rec.handlers);
      stream.send(new Int16Array(160));
      await until("onClosed", () => rec.closes.length > 0);
      await Bun.sleep(50);
      expect(rec.closes).toHaveLength(1);
      expect(rec.closes[0]?.message).toMatch(/^Deepgram (closed the stream|stream failed): /);
      await stream.close();
      expect(rec.closes).toHaveLength(1);
    } finally {
      await cutter.stop(true);
    }
  });

  test("a stalled server does not hang close()", async () => {
    const dg = fake({ stall: true });
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(8000), rec.handlers);
    sendFrames(stream, speechBurst(8000, 800, 700), 8000);
    await stream.close();
    expect(rec.events).toEqual([]);
    expect(rec.closes).toEqual([null]);
    expect(dg.connections[0]?.closeStreams).toBe(1);
    await until("the fake to see the client close", () => dg.connections[0]?.closed !== null);
    expect(dg.connections[0]?.closed?.by).toBe("client");
  });

  test("the fake's idle timeout closes with 1011 NET-0001; KeepAlive holds it off", async () => {
    const dg = fake({ idleTimeoutMs: 300 });
    const kept = new Recorder();
    const keptStream = await provider(dg.url).open(sttOptions(8000), kept.handlers);
    const idle = new Recorder();
    await provider(dg.url).open(sttOptions(8000), idle.handlers);
    const keeper = setInterval(() => keptStream.keepAlive(), 60);
    try {
      await until("idle close", () => idle.closes.length > 0);
      expect(idle.closes[0]?.message).toBe("Deepgram closed the stream: 1011 NET-0001");
      expect(kept.closes).toEqual([]);
    } finally {
      clearInterval(keeper);
    }
    await keptStream.close();
    expect(kept.closes).toEqual([null]);
  });

  test("frames sent before open or after close are dropped without throwing", async () => {
    const dg = fake();
    const rec = new Recorder();
    const stream = await provider(dg.url).open(sttOptions(8000), rec.handlers);
    await stream.close();
    expect(() => stream.send(new Int16Array(160))).not.toThrow();
    expect(dg.connections[0]?.audioBytes).toBe(0);
  });
});

describe("Deepgram provider input checks", () => {
  test("bad options fail with specific messages", async () => {
    expect(() => provider("ftp://example.com")).toThrow(/scheme ftp:/);
    expect(() => provider("ws://x", { apiKey: " " })).toThrow(/API key is empty/);
    expect(() => provider("ws://x", { timeoutMs: 0 })).toThrow(/timeoutMs 0/);
    await expect(provider("ws://127.0.0.1:9").open({ sampleRate: 11025.5, language: "fr-FR", keyterms: [] }, new Recorder().handlers)).rejects.toThrow(/sample rate 11025.5/);
    await expect(provider("ws://127.0.0.1:9").open({ sampleRate: 8000, language: "fr_FR!", keyterms: [] }, new Recorder().handlers)).rejects.toThrow(/not a BCP-47 tag/);
  });

  test("languages: primary subtag unless Nova-3 has the regional model", () => {
    expect(deepgramLanguageFor("fr-FR")).toBe("fr");
    expect(deepgramLanguageFor("fr-CA")).toBe("fr-CA");
    expect(deepgramLanguageFor("pt-BR")).toBe("pt-BR");
    expect(deepgramLanguageFor("en-US")).toBe("en-US");
    expect(deepgramLanguageFor("de")).toBe("de");
  });

  test("messages map to events; Metadata and junk map to nothing", () => {
    const results = { type: "Results", is_final: true, speech_final: false, channel: { alternatives: [{ transcript: "oui" }] } };
    expect(toSttEvent(results)).toEqual({ type: "transcript", text: "oui", isFinal: true, speechFinal: false, fromFinalize: false });
    expect(toSttEvent({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 1 })).toEqual({ type: "utteranceEnd" });
    expect(toSttEvent({ type: "SpeechStarted", channel: [0], timestamp: 0 })).toEqual({ type: "speechStarted" });
    expect(toSttEvent({ type: "Metadata" })).toBeNull();
    expect(toSttEvent({ type: "Results", channel: {} })).toBeNull();
    expect(toSttEvent("not json")).toBeNull();
  });

  test("keyterms are only sent to Nova-3 models", async () => {
    const dg = fake();
    const stream = await provider(dg.url, { model: "nova-2-phonecall" }).open(sttOptions(8000), new Recorder().handlers);
    await stream.close();
    expect(dg.connections[0]?.keyterms).toEqual([]);
    expect(dg.connections[0]?.query.model).toBe("nova-2-phonecall");
  });
});

describe("fake Deepgram handshake", () => {
  test("refuses like Deepgram before the upgrade: 401 without the key, 400 on a bad query", async () => {
    const dg = fake();
    const base = dg.url.replace("ws:", "http:");
    const auth = { headers: { Authorization: `Token ${KEY}` } };
    const noKey = await fetch(`${base}/v1/listen?encoding=linear16&sample_rate=8000`);
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ err_code: "INVALID_AUTH" });
    const badEncoding = await fetch(`${base}/v1/listen?encoding=wav&sample_rate=8000`, auth);
    expect(badEncoding.status).toBe(400);
    expect(((await badEncoding.json()) as { err_msg: string }).err_msg).toContain('Invalid encoding "wav"');
    const noRate = await fetch(`${base}/v1/listen?encoding=linear16`, auth);
    expect(noRate.status).toBe(400);
    expect(((await noRate.json()) as { err_msg: string }).err_msg).toContain("sample_rate is required");
    expect(dg.refusals.map((r) => r.status)).toEqual([401, 400, 400]);
  });
});
