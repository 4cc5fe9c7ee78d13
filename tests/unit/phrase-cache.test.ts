import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEspeakTts } from "../../src/ai/tts/espeak.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import type { Logger, LogFields } from "../../src/log.ts";
import { PhraseCache } from "../../src/media/phrase-cache.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import type { ResamplerPool } from "../../src/media/resampler.ts";

const TEXTS: Record<string, string> = {
  welcome: "Bonjour, vous êtes bien au service après-vente.",
  stillThere: "Allô, vous êtes toujours là ?",
  goodbye: "Merci de votre appel, au revoir.",
  digit1: "un",
  digit2: "deux",
  digitHash: "dièse",
};
const IDS = Object.keys(TEXTS);
const PEAK = Math.round(32767 * 10 ** (-3 / 20));

/** The real eSpeak voice, counting what it is asked to say. */
class CountingTts implements TextToSpeech {
  readonly calls: string[] = [];
  constructor(private readonly inner: TextToSpeech) {}
  get voiceId(): string {
    return this.inner.voiceId;
  }
  get sampleRate(): number {
    return this.inner.sampleRate;
  }
  synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array> {
    this.calls.push(text);
    return this.inner.synthesize(text, signal);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Keeps log records so tests can read the info and warn lines. */
function recordingLogger(lines: string[]): Logger {
  const record = (level: string) => (msg: string, fields?: LogFields) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  const logger: Logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    child: () => logger,
  };
  return logger;
}

let espeak: TextToSpeech;
let resampler: ResamplerPool;
beforeAll(async () => {
  const lines: string[] = [];
  espeak = await createEspeakTts({ voice: "fr", log: recordingLogger(lines) });
  resampler = createResamplerPool({ size: 2 });
});
afterAll(async () => {
  await resampler.close();
  await espeak.close();
});

function newCache(texts: Record<string, string>, cacheDir: string | null) {
  const tts = new CountingTts(espeak);
  const lines: string[] = [];
  const cache = new PhraseCache({ texts, tts, resampler, cacheDir, log: recordingLogger(lines) });
  return { cache, tts, lines };
}

function peakOf(x: Int16Array): number {
  let peak = 0;
  for (const v of x) peak = Math.max(peak, Math.abs(v));
  return peak;
}

function cacheFiles(dir: string, rate: number): string[] {
  const voiceDir = join(dir, "espeak-ng_fr", String(rate));
  return readdirSync(voiceDir).map((name) => join(voiceDir, name));
}

describe("PhraseCache", () => {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-phrases-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("prepare renders every phrase at each rate, synthesizing each text once", async () => {
    const { cache, tts, lines } = newCache(TEXTS, dir);
    expect(cache.hasRate(8000)).toBe(false);
    expect(cache.get("welcome", 8000)).toBeUndefined();
    await cache.prepare([8000, 16000]);
    expect(cache.hasRate(8000) && cache.hasRate(16000)).toBe(true);
    expect(tts.calls.sort()).toEqual(Object.values(TEXTS).sort());
    for (const id of IDS) {
      const at8 = cache.get(id, 8000) as Int16Array;
      const at16 = cache.get(id, 16000) as Int16Array;
      expect(Math.abs(at16.length - 2 * at8.length)).toBeLessThanOrEqual(2);
      // Level: peak at −3 dBFS. Trim: 30 ms lead-in before the speech, 150 ms of quiet tail after it.
      expect(Math.abs(peakOf(at8) - PEAK)).toBeLessThanOrEqual(1);
      expect(peakOf(at8.subarray(0, 80))).toBeLessThan(PEAK / 10);
      expect(peakOf(at8.subarray(0, 400))).toBeGreaterThan(PEAK / 50);
      expect(peakOf(at8.subarray(at8.length - 1000))).toBeLessThan(PEAK / 10);
    }
    const welcome = (cache.get("welcome", 8000) as Int16Array).length / 8000;
    expect(welcome).toBeGreaterThan(1);
    expect(welcome).toBeLessThan(5);
    expect(cache.text("welcome")).toBe(TEXTS.welcome as string);
    expect(() => cache.text("nope")).toThrow('unknown phrase id "nope"');
    expect(() => cache.get("nope", 8000)).toThrow('unknown phrase id "nope"');
    const ready = lines.filter((line) => line.startsWith("info phrases ready at rate"));
    expect(ready.length).toBe(2);
    expect(ready.join("\n")).toContain(`"rendered":${IDS.length},"loaded":0`);
    expect(cacheFiles(dir, 8000).length).toBe(IDS.length);
    expect(cacheFiles(dir, 16000).length).toBe(IDS.length);
  });

  test("a second cache on the same directory loads from disk without calling the TTS", async () => {
    const first = newCache(TEXTS, dir);
    await first.cache.prepare([8000]);
    const { cache, tts, lines } = newCache(TEXTS, dir);
    await cache.prepare([8000, 16000]);
    expect(tts.calls).toEqual([]);
    expect(lines.filter((line) => line.includes(`"rendered":0,"loaded":${IDS.length}`)).length).toBe(2);
    for (const id of IDS) expect(cache.get(id, 8000)).toEqual(first.cache.get(id, 8000) as Int16Array);
  });

  test("a changed text re-renders only that phrase, and its old file goes", async () => {
    const changed = { ...TEXTS, goodbye: "Au revoir et bonne journée." };
    const { cache, tts } = newCache(changed, dir);
    await cache.prepare([8000, 16000]);
    expect(tts.calls).toEqual([changed.goodbye]);
    expect(cacheFiles(dir, 8000).length).toBe(IDS.length);
    const restored = newCache(TEXTS, dir);
    await restored.cache.prepare([8000]);
    expect(restored.tts.calls).toEqual([TEXTS.goodbye as string]);
  });

  test("a truncated or corrupt cache file is rendered again, with a warning", async () => {
    const files = cacheFiles(dir, 8000);
    const welcome = files.find((file) => file.includes("welcome.")) as string;
    truncateSync(welcome, Math.floor(statSync(welcome).size / 2));
    const digit = files.find((file) => file.includes("digit1.")) as string;
    const bytes = new Uint8Array(await Bun.file(digit).arrayBuffer());
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0xff;
    await Bun.write(digit, bytes);
    const { cache, tts, lines } = newCache(TEXTS, dir);
    await cache.prepare([8000]);
    expect(tts.calls.sort()).toEqual([TEXTS.digit1 as string, TEXTS.welcome as string].sort());
    const warnings = lines.filter((line) => line.startsWith("warn phrase cache file is corrupt"));
    expect(warnings.length).toBe(2);
    expect(warnings.join("\n")).toContain("checksum mismatch");
    const again = newCache(TEXTS, dir);
    await again.cache.prepare([8000]);
    expect(again.tts.calls).toEqual([]);
  });

  test("memory only: concurrent ensureRate calls share one render; a new rate reuses the synthesis", async () => {
    const { cache, tts } = newCache(TEXTS, null);
    await Promise.all([cache.ensureRate(8000), cache.ensureRate(8000), cache.prepare([8000])]);
    expect(tts.calls.length).toBe(IDS.length);
    await cache.ensureRate(48000);
    expect(tts.calls.length).toBe(IDS.length);
    const at8 = cache.get("welcome", 8000) as Int16Array;
    expect(Math.abs((cache.get("welcome", 48000) as Int16Array).length - 6 * at8.length)).toBeLessThanOrEqual(6);
  });

  test("an unwritable cache directory still renders into memory, with a warning", async () => {
    const file = join(dir, "not-a-directory");
    await Bun.write(file, "x");
    const { cache, lines } = newCache({ digit2: TEXTS.digit2 as string }, file);
    await cache.prepare([8000]);
    expect(cache.get("digit2", 8000)?.length).toBeGreaterThan(0);
    expect(lines.some((line) => line.startsWith("warn could not write phrase cache file"))).toBe(true);
  });

  test("bad input gets a clear error", async () => {
    expect(() => newCache({}, null)).toThrow("no phrase texts given");
    expect(() => newCache({ "bad id": "x" }, null)).toThrow('phrase id "bad id" is not allowed');
    expect(() => newCache({ welcome: " " }, null)).toThrow('the text of phrase "welcome" is empty');
    const { cache } = newCache(TEXTS, null);
    await expect(cache.ensureRate(0)).rejects.toThrow("sample rate 0 is not allowed");
    await expect(cache.prepare([8000.5])).rejects.toThrow("sample rate 8000.5 is not allowed");
  });
});
