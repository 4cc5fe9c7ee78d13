import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEspeakTts } from "../../src/ai/tts/espeak.ts";
import { rootLogger } from "../../src/log.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import { loadVadModule, type Vad, type VadModule } from "../../src/media/vad.ts";
import { synthesizeAll } from "../../src/ai/tts/synthesize-all.ts";

const SENTENCE = "Bonjour, je vous appelle parce que ma box internet ne fonctionne plus depuis hier soir.";
const RATES = [8000, 16000] as const;

let vads: VadModule;
const speechAt = new Map<number, Int16Array>();

beforeAll(async () => {
  vads = await loadVadModule();
  const tts = await createEspeakTts({ voice: "fr", log: rootLogger.child("vad-test") });
  const pool = createResamplerPool({ size: 1 });
  try {
    const speech = await synthesizeAll(tts, SENTENCE);
    // resample() transfers its input to the worker: each rate gets its own copy.
    for (const rate of RATES) speechAt.set(rate, await pool.resample(speech.slice(), tts.sampleRate, rate));
  } finally {
    await tts.close();
    await pool.close();
  }
}, 30_000);

const detectors: Vad[] = [];
afterAll(() => {
  for (const vad of detectors) vad.free();
});

function detector(rate: number, mode: 0 | 1 | 2 | 3 = 3): Vad {
  const vad = vads.create(rate, mode);
  if (!vad) throw new Error(`no VAD at ${rate} Hz`);
  detectors.push(vad);
  return vad;
}

function speech(rate: number): Int16Array {
  const pcm = speechAt.get(rate);
  if (!pcm) throw new Error(`no speech rendered at ${rate} Hz`);
  return pcm;
}

/** Verdicts for consecutive frames of `ms` (a partial last frame is dropped). */
function classify(vad: Vad, pcm: Int16Array, ms: number): boolean[] {
  const n = (vad.sampleRate * ms) / 1000;
  const verdicts: boolean[] = [];
  for (let at = 0; at + n <= pcm.length; at += n) verdicts.push(vad.isSpeech(pcm.subarray(at, at + n)));
  return verdicts;
}

/** Deterministic white noise at `dbfs` RMS. */
function noise(samples: number, dbfs: number, seed = 1): Int16Array {
  const out = new Int16Array(samples);
  const amplitude = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3);
  let state = seed;
  for (let i = 0; i < samples; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round(((state / 2 ** 32) * 2 - 1) * amplitude);
  }
  return out;
}

const fraction = (verdicts: boolean[]): number => verdicts.filter(Boolean).length / verdicts.length;

describe("loadVadModule", () => {
  test("instantiates the WASM once per process", async () => {
    expect(await loadVadModule()).toBe(vads);
  });

  test("create() is null for rates libfvad does not support", () => {
    for (const rate of [11025, 22050, 44100, 0, 8000.5]) expect(vads.create(rate, 3)).toBeNull();
  });

  test("create() names a bad mode and what is allowed", () => {
    expect(() => vads.create(8000, 4 as 3)).toThrow("VAD: mode 4 is not allowed; use 0, 1, 2 or 3");
    expect(() => vads.create(8000, -1 as 0)).toThrow("mode -1 is not allowed");
  });
});

describe.each(RATES)("VAD at %d Hz", (rate) => {
  test("digital silence is not speech", () => {
    expect(classify(detector(rate), new Int16Array(rate), 20).some(Boolean)).toBe(false);
  });

  test("steady line noise is not speech once the VAD has adapted to it (~100 ms)", () => {
    for (const dbfs of [-60, -40]) {
      const verdicts = classify(detector(rate), noise(rate * 2, dbfs), 20);
      expect(verdicts.slice(6).some(Boolean)).toBe(false);
    }
  });

  test("French speech is mostly speech, and silence after it is not once the hangover ends", () => {
    const vad = detector(rate);
    const verdicts = classify(vad, speech(rate), 20);
    expect(verdicts.length).toBeGreaterThan(100);
    expect(fraction(verdicts)).toBeGreaterThan(0.6);
    const after = classify(vad, new Int16Array(rate), 20);
    expect(after.slice(10).some(Boolean)).toBe(false);
  });

  test("10 ms and 30 ms frames are accepted too", () => {
    for (const ms of [10, 30]) expect(fraction(classify(detector(rate), speech(rate), ms))).toBeGreaterThan(0.6);
  });

  test("a frame of any other length is a RangeError naming the lengths allowed", () => {
    const vad = detector(rate);
    const n = rate / 50;
    expect(() => vad.isSpeech(new Int16Array(n + 1))).toThrow(
      `VAD: a frame of ${n + 1} samples is not allowed at ${rate} Hz; use ${rate / 100}, ${n}, ${(rate * 3) / 100} samples (10/20/30 ms)`,
    );
    expect(() => vad.isSpeech(new Int16Array(0))).toThrow(RangeError);
  });
});

describe("detectors", () => {
  test("keep separate state: interleaved calls give each the verdicts it gets alone", () => {
    const pcm = speech(8000);
    const hiss = noise(pcm.length, -40, 7);
    const speechAlone = classify(detector(8000), pcm, 20);
    const hissAlone = classify(detector(8000), hiss, 20);
    const a = detector(8000);
    const b = detector(8000);
    const speechInterleaved: boolean[] = [];
    const hissInterleaved: boolean[] = [];
    for (let at = 0; at + 160 <= pcm.length; at += 160) {
      speechInterleaved.push(a.isSpeech(pcm.subarray(at, at + 160)));
      hissInterleaved.push(b.isSpeech(hiss.subarray(at, at + 160)));
    }
    expect(speechInterleaved).toEqual(speechAlone);
    expect(hissInterleaved).toEqual(hissAlone);
    expect(speechAlone).not.toEqual(hissAlone);
  });

  test("still classify correctly after thousands of others have grown the WASM heap", () => {
    const pcm = speech(16000);
    const reference = classify(detector(16000), pcm, 20);
    const early = detector(16000);
    const crowd: Vad[] = [];
    for (let i = 0; i < 8000; i++) crowd.push(detector(48000));
    expect(classify(early, pcm, 20)).toEqual(reference);
    for (const vad of crowd) vad.free();
  });

  test("free() twice is harmless; isSpeech() after free() says so", () => {
    const vad = detector(8000);
    vad.free();
    vad.free();
    expect(() => vad.isSpeech(new Int16Array(160))).toThrow("VAD: isSpeech() called after free()");
  });

  test("report their rate and mode", () => {
    const vad = detector(16000, 2);
    expect(vad.sampleRate).toBe(16000);
    expect(vad.mode).toBe(2);
  });
});
