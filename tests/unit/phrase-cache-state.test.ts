import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEspeakTts } from "../../src/ai/tts/espeak.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import type { Logger, LogFields } from "../../src/log.ts";
import { PhraseCache } from "../../src/media/phrase-cache.ts";
import { PHRASE_FORMAT_VERSION, type PhraseManifest } from "../../src/media/phrase-store.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import type { ResamplerPool } from "../../src/media/resampler.ts";
import pkg from "../../package.json" with { type: "json" };

const TEXTS: Record<string, string> = {
  welcome: "Bonjour, vous êtes bien au service après-vente.",
  goodbye: "Merci de votre appel, au revoir.",
  digit1: "un",
  digit2: "deux",
  digit3: "trois",
  digit4: "quatre",
};
const COUNT = Object.keys(TEXTS).length;

/** The real eSpeak voice under another name, failing on one text, and counting what runs at once. */
class ProbeTts implements TextToSpeech {
  readonly calls: string[] = [];
  active = 0;
  maxActive = 0;
  constructor(
    private readonly inner: TextToSpeech,
    readonly voiceId: string = inner.voiceId,
    private readonly failOn: string | null = null,
  ) {}
  get sampleRate(): number {
    return this.inner.sampleRate;
  }
  async *synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    this.calls.push(text);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (text === this.failOn) throw new Error("401 Unauthorized: invalid api key");
      yield* this.inner.synthesize(text, signal);
    } finally {
      this.active--;
    }
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function recordingLogger(lines: string[]): Logger {
  const record = (level: string) => (msg: string, fields?: LogFields) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  const logger: Logger = { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error"), child: () => logger };
  return logger;
}

let espeak: TextToSpeech;
let resampler: ResamplerPool;
const root = mkdtempSync(join(tmpdir(), "voicebot-phrase-state-"));
beforeAll(async () => {
  espeak = await createEspeakTts({ voice: "fr", log: recordingLogger([]) });
  resampler = createResamplerPool({ size: 2 });
});
afterAll(async () => {
  await resampler.close();
  await espeak.close();
  rmSync(root, { recursive: true, force: true });
});

interface CacheSetup {
  texts?: Record<string, string>;
  voiceId?: string;
  language?: string;
  failOn?: string;
}

function newCache(dir: string, setup: CacheSetup = {}) {
  const tts = new ProbeTts(espeak, setup.voiceId, setup.failOn ?? null);
  const lines: string[] = [];
  const cache = new PhraseCache({
    texts: setup.texts ?? TEXTS, tts, resampler, cacheDir: dir, log: recordingLogger(lines), language: setup.language ?? "fr-FR",
  });
  return { cache, tts, lines };
}

async function manifestOf(dir: string): Promise<PhraseManifest> {
  return (await Bun.file(join(dir, "manifest.json")).json()) as PhraseManifest;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("PhraseCache disk state and manifest", () => {
  const dir = join(root, "main");

  test("never built → missing; after prepare → fresh, with a manifest describing the build", async () => {
    const { cache, tts } = newCache(dir);
    expect(await cache.diskState([8000, 16000])).toMatchObject({ state: "missing", reason: "never built", present: 0, expected: 2 * COUNT, manifest: null });
    const seen: [number, number][] = [];
    const report = await cache.prepare([8000, 16000], { onProgress: (done, total) => seen.push([done, total]) });
    expect(report).toEqual({ rendered: 2 * COUNT, reused: 0 });
    expect(seen).toEqual(Array.from({ length: 2 * COUNT }, (_, i) => [i + 1, 2 * COUNT] as [number, number]));
    expect(tts.maxActive).toBeLessThanOrEqual(4);
    const state = await cache.diskState([16000, 8000, 8000]);
    expect(state.state).toBe("fresh");
    expect(state.reason).toBe(`all ${2 * COUNT} phrases on disk for espeak-ng:fr at 8000, 16000 Hz`);
    expect(state.present).toBe(2 * COUNT);
    expect(state.bytes).toBeGreaterThan(2 * COUNT * 16);
    const manifest = await manifestOf(dir);
    expect(manifest).toMatchObject({ format: PHRASE_FORMAT_VERSION, voiceId: "espeak-ng:fr", language: "fr-FR", rates: [8000, 16000], version: pkg.version });
    expect(Object.keys(manifest.phrases).sort()).toEqual(Object.keys(TEXTS).sort());
    expect(manifest.phraseSetHash).toMatch(/^[0-9a-f]{16}$/);
    expect(Number.isNaN(Date.parse(manifest.builtAt))).toBe(false);
    expect(filesUnder(dir).filter((file) => file.endsWith(".tmp"))).toEqual([]);
  });

  test("a second cache reuses everything and still reports progress to the end", async () => {
    const { cache, tts } = newCache(dir);
    const seen: number[] = [];
    expect(await cache.prepare([8000, 16000], { onProgress: (done) => seen.push(done) })).toEqual({ rendered: 0, reused: 2 * COUNT });
    expect(tts.calls).toEqual([]);
    expect(seen.at(-1)).toBe(2 * COUNT);
    const again: number[] = [];
    expect(await cache.prepare([8000], { onProgress: (done, total) => again.push(done, total) })).toEqual({ rendered: 0, reused: COUNT });
    expect(again).toEqual([COUNT, COUNT]);
  });

  test("another voice, language or text reads as stale and says what differs", async () => {
    const voice = await newCache(dir, { voiceId: "openai:gpt-4o-mini-tts:nova" }).cache.diskState([8000]);
    expect(voice).toMatchObject({ state: "stale", reason: "built for espeak-ng:fr, now openai:gpt-4o-mini-tts:nova", present: 0 });
    const language = await newCache(dir, { language: "en-US", texts: { ...TEXTS, goodbye: "Thank you for calling." } }).cache.diskState([8000]);
    expect(language).toMatchObject({ state: "stale", reason: "built for fr-FR, now en-US", present: COUNT - 1 });
    const both = await newCache(dir, { voiceId: "espeak-ng:en-us", language: "en-US" }).cache.diskState([8000]);
    expect(both.reason).toBe("built for espeak-ng:fr in fr-FR, now espeak-ng:en-us in en-US");
    const texts = await newCache(dir, { texts: { ...TEXTS, goodbye: "Au revoir.", extra: "Encore." } }).cache.diskState([8000]);
    expect(texts).toMatchObject({ state: "stale", reason: "text changed for goodbye; new phrases extra" });
    const fewer = await newCache(dir, { texts: { welcome: TEXTS.welcome as string } }).cache.diskState([8000, 16000]);
    expect(fewer.state).toBe("fresh");
  });

  test("a rate never rendered reads as missing; rendering it adds it to the manifest", async () => {
    const { cache } = newCache(dir);
    expect(await cache.diskState([8000, 48000])).toMatchObject({ state: "missing", reason: "nothing at 48000 Hz for espeak-ng:fr", present: COUNT });
    await cache.ensureRate(48000);
    expect((await manifestOf(dir)).rates).toEqual([8000, 16000, 48000]);
    expect((await cache.diskState([8000, 16000, 48000])).state).toBe("fresh");
    await expect(cache.diskState([0])).rejects.toThrow("sample rate 0 is not allowed");
  });

  test("switching voice re-renders, keeps the old voice's files until pruned", async () => {
    const other = newCache(dir, { voiceId: "test:other-voice" });
    await other.cache.prepare([8000]);
    expect(other.tts.calls.length).toBe(COUNT);
    expect((await manifestOf(dir)).voiceId).toBe("test:other-voice");
    expect(readdirSync(dir).sort()).toEqual(["espeak-ng_fr", "manifest.json", "test_other-voice"]);
    const back = newCache(dir);
    expect((await back.cache.diskState([8000, 16000])).state).toBe("fresh");
    expect(await back.cache.pruneOtherVoices()).toEqual(["test_other-voice"]);
    expect(readdirSync(dir).sort()).toEqual(["espeak-ng_fr", "manifest.json"]);
    expect(await newCache(join(root, "absent")).cache.pruneOtherVoices()).toEqual([]);
  });

  test("an unreadable manifest is ignored with a warning", async () => {
    const broken = join(root, "broken");
    mkdirSync(broken, { recursive: true });
    await Bun.write(join(broken, "manifest.json"), "{ not json");
    const { cache, lines } = newCache(broken);
    expect(await cache.diskState([8000])).toMatchObject({ state: "missing", reason: "never built" });
    expect(lines.some((line) => line.startsWith("warn phrase cache manifest is not valid JSON"))).toBe(true);
    await Bun.write(join(broken, "manifest.json"), JSON.stringify({ format: 1, voiceId: 3 }));
    expect((await cache.diskState([8000])).manifest).toBeNull();
    expect(lines.some((line) => line.includes("voiceId is not a string"))).toBe(true);
  });

  test("a failing voice rejects naming the phrase and voice, cancels the rest, and leaves no manifest", async () => {
    const failing = join(root, "failing");
    const texts: Record<string, string> = {};
    for (let i = 0; i < 12; i++) texts[`p${i}`] = `Phrase numéro ${i}, pour voir.`;
    const { cache, tts } = newCache(failing, { texts, voiceId: "openai:tts-1:alloy", failOn: texts.p1 as string });
    await expect(cache.prepare([8000, 16000])).rejects.toThrow('cannot synthesize phrase "p1" with voice openai:tts-1:alloy: 401 Unauthorized: invalid api key');
    expect(tts.active).toBe(0);
    expect(tts.calls.length).toBeLessThan(12);
    expect(tts.maxActive).toBeLessThanOrEqual(4);
    expect(existsSync(join(failing, "manifest.json"))).toBe(false);
    expect(filesUnder(failing).filter((file) => !file.endsWith(".pcm"))).toEqual([]);
    expect(await cache.diskState([8000])).toMatchObject({ state: "missing" });
  });

  test("memory only has no disk state", async () => {
    const cache = new PhraseCache({ texts: TEXTS, tts: espeak, resampler, cacheDir: null, log: recordingLogger([]) });
    expect(await cache.diskState([8000])).toMatchObject({ state: "missing", reason: "no cache directory (memory only)", expected: COUNT });
  });
});
