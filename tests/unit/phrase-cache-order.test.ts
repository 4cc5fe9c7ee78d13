/**
 * The phrase cache while it renders: the greetings first, each phrase usable as soon as it is
 * ready, live speech of a phrase being rendered heard from that render, and after a voice change
 * the previous voice's phrases standing in, never mixed with the new voice in one utterance.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import { rootLogger } from "../../src/log.ts";
import { PhraseCache } from "../../src/media/phrase-cache.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";

const RATE = 8000;
const TEXTS = { digit1: "un", goodbye: "Au revoir.", welcome: "Bonjour.", problemMenu: "Tapez 1.", busy: "Occupé." };
const resampler = createResamplerPool({ size: 1, engine: "speex" });
afterAll(() => resampler.close());

/** A voice whose requests the test finishes one by one: two chunks of `samples` each, the second once finished. */
class HeldVoice implements TextToSpeech {
  readonly sampleRate = 16000;
  readonly asked: string[] = [];
  private readonly finished = new Set<string>();
  private readonly held = new Map<string, () => void>();
  constructor(readonly voiceId: string, private readonly hold = true, private readonly samples = 400) {}
  async *synthesize(text: string): AsyncIterable<Int16Array> {
    this.asked.push(text);
    const level = 1000 + text.length * 100;
    yield new Int16Array(this.samples).fill(level);
    if (this.hold && !this.finished.has(text)) await new Promise<void>((resolve) => this.held.set(text, resolve));
    yield new Int16Array(this.samples).fill(-level);
  }
  finish(text: string): void {
    this.finished.add(text);
    this.held.get(text)?.();
    this.held.delete(text);
  }
  async close(): Promise<void> {}
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await Bun.sleep(5);
  expect(check()).toBe(true);
}

describe("PhraseCache while it renders", () => {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-order-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the `first` phrases are synthesized first, and each is usable as soon as it is ready", async () => {
    const voice = new HeldVoice("test:a");
    const cache = new PhraseCache({ texts: TEXTS, tts: voice, resampler, cacheDir: null, log: rootLogger, first: ["welcome", "problemMenu"], parallel: 1 });
    const done = cache.prepare([RATE]);
    await until(() => voice.asked.length === 1);
    expect(voice.asked).toEqual([TEXTS.welcome]);
    voice.finish(TEXTS.welcome);
    await until(() => cache.get("welcome", RATE) !== undefined);
    expect(cache.hasRate(RATE)).toBe(false);
    expect(cache.readiness([RATE])).toEqual({ ready: 1, total: 5 });
    expect(cache.audioFor(["welcome"], RATE)?.length).toBe(1);
    expect(cache.audioFor(["welcome", "problemMenu"], RATE)).toBeNull();
    for (const text of [TEXTS.problemMenu, TEXTS.digit1, TEXTS.goodbye, TEXTS.busy]) {
      await until(() => voice.asked.includes(text));
      voice.finish(text);
    }
    await done;
    expect(voice.asked).toEqual([TEXTS.welcome, TEXTS.problemMenu, TEXTS.digit1, TEXTS.goodbye, TEXTS.busy]);
    expect(cache.hasRate(RATE)).toBe(true);
    expect(() => new PhraseCache({ texts: TEXTS, tts: voice, resampler, cacheDir: null, log: rootLogger, first: ["nope"] })).toThrow('phrase "nope" is to be rendered first but has no text');
  });

  test("live speech of a phrase being rendered is heard from that render; a voice saying one thing at a time promotes a queued one", async () => {
    const voice = new HeldVoice("test:a");
    const cache = new PhraseCache({ texts: TEXTS, tts: voice, resampler, cacheDir: null, log: rootLogger, first: ["welcome"], parallel: 1 });
    const live = new HeldVoice("test:a", false);
    const speaking = cache.liveVoice(live);
    const done = cache.prepare([RATE]);
    await until(() => voice.asked.length === 1);
    const heard: number[] = [];
    const listening = (async () => {
      for await (const chunk of speaking.synthesize(TEXTS.welcome)) heard.push(chunk[0] as number);
    })();
    await until(() => heard.length === 1);
    // "busy" is last in the queue: asked for live, it is rendered next and heard from there.
    const busy: number[] = [];
    const promoted = (async () => {
      for await (const chunk of speaking.synthesize(TEXTS.busy)) busy.push(chunk.length);
    })();
    voice.finish(TEXTS.welcome);
    await listening;
    await until(() => voice.asked.length === 2);
    expect(voice.asked[1]).toBe(TEXTS.busy);
    voice.finish(TEXTS.busy);
    await promoted;
    expect(heard.length).toBe(2);
    expect(busy).toEqual([400, 400]);
    // Text no render is working on goes to the live voice.
    for await (const _ of speaking.synthesize("Une phrase libre.")) break;
    expect(live.asked).toEqual(["Une phrase libre."]);
    for (const text of [TEXTS.digit1, TEXTS.goodbye, TEXTS.problemMenu]) {
      await until(() => voice.asked.includes(text));
      voice.finish(text);
    }
    await done;
  });

  test("another voice is never tapped: it speaks for itself", async () => {
    const voice = new HeldVoice("test:a");
    const cache = new PhraseCache({ texts: TEXTS, tts: voice, resampler, cacheDir: null, log: rootLogger, parallel: 1 });
    const done = cache.prepare([RATE]);
    await until(() => voice.asked.length === 1);
    const other = new HeldVoice("test:b", false);
    for await (const _ of cache.liveVoice(other).synthesize(voice.asked[0] as string)) break;
    expect(other.asked.length).toBe(1);
    for (const text of Object.values(TEXTS)) {
      await until(() => voice.asked.includes(text));
      voice.finish(text);
    }
    await done;
  });

  test("after a voice change the previous voice's phrases stand in, whole utterances only, until the new voice has the rate", async () => {
    const old = new HeldVoice("test:old", false);
    await new PhraseCache({ texts: TEXTS, tts: old, resampler, cacheDir: dir, log: rootLogger }).prepare([RATE]);
    const voice = new HeldVoice("test:new", true, 480);
    const cache = new PhraseCache({ texts: TEXTS, tts: voice, resampler, cacheDir: dir, log: rootLogger, first: ["welcome"], parallel: 1 });
    expect(cache.loadPreviousVoice([RATE])).toEqual({ voiceId: "test:old", loaded: 5 });
    const done = cache.prepare([RATE]);
    await until(() => voice.asked.length === 1);
    const before = cache.audioFor(["welcome", "goodbye"], RATE) as Int16Array[];
    expect(before.length).toBe(2);
    expect(cache.currentAudioFor(["welcome"], RATE)).toBeNull();
    voice.finish(TEXTS.welcome);
    await until(() => cache.get("welcome", RATE) !== undefined);
    // Welcome alone comes in the new voice; with goodbye (not rendered yet) the whole utterance stays in the old one.
    expect(cache.audioFor(["welcome"], RATE)?.[0]).toBe(cache.get("welcome", RATE) as Int16Array);
    expect(cache.audioFor(["welcome", "goodbye"], RATE)?.[0]).toBe(before[0] as Int16Array);
    for (const text of Object.values(TEXTS)) {
      await until(() => voice.asked.includes(text));
      voice.finish(text);
    }
    await done;
    const after = cache.audioFor(["welcome", "goodbye"], RATE) as Int16Array[];
    expect(after[1]).toBe(cache.get("goodbye", RATE) as Int16Array);
    expect(after[1]).not.toEqual(before[1] as Int16Array);
    // The same voice as the disk's last build has nothing to stand in.
    expect(new PhraseCache({ texts: TEXTS, tts: voice, resampler, cacheDir: dir, log: rootLogger }).loadPreviousVoice([RATE])).toBeNull();
  });
});
