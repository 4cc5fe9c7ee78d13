/**
 * A prompt with free text in it (the callback time, say): cached phrases and synthesized text go to
 * one utterance in the dialog's order, and the voice's requests run on behalf of the call, so the
 * AI layer's warnings (deadline missed, offline fallback) name it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { callFields } from "../../src/ai/call-context.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import { feedTextPrompt } from "../../src/call/text-prompt.ts";
import type { PhraseId } from "../../src/dialog/types.ts";
import { rootLogger } from "../../src/log.ts";
import type { PhraseCache } from "../../src/media/phrase-cache.ts";
import type { Utterance } from "../../src/media/playout.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";

const RATE = 8000;
const resampler = createResamplerPool({ size: 1, engine: "speex" });
afterAll(() => resampler.close());

describe("a prompt with free text", () => {
  test("phrase audio and synthesized text in order, the voice asked on behalf of the call", async () => {
    const asked: { text: string; call?: string }[] = [];
    const tts: TextToSpeech = {
      voiceId: "test:voice",
      sampleRate: RATE,
      async *synthesize(text) {
        asked.push({ text, ...callFields() });
        yield new Int16Array(160).fill(7);
      },
      close: async () => undefined,
    };
    const phrase = new Int16Array(80).fill(3);
    const phrases = { get: () => phrase, liveVoice: (live: TextToSpeech) => live } as unknown as PhraseCache;
    const utterance: Utterance = { id: 1, keys: [], segments: [], interruptible: true, onStart: () => undefined, onEnd: () => undefined };
    const texts = { goodbye: "Au revoir." } as Readonly<Record<PhraseId, string>>;

    feedTextPrompt(utterance, [{ phrase: "goodbye" }, { text: "lundi à partir de 9 heures" }], {
      tts, resampler, phrases, texts, callUuid: "call-42", rate: RATE, signal: new AbortController().signal, log: rootLogger,
    });
    for (let i = 0; i < 200 && utterance.open !== false; i++) await Bun.sleep(5);

    expect(utterance.open).toBe(false);
    expect(asked).toEqual([{ text: "lundi à partir de 9 heures", call: "call-42" }]);
    const samples = utterance.segments.flatMap((s) => [...s]);
    expect(samples.slice(0, 80).every((v) => v === 3)).toBe(true);
    expect(samples.length).toBeGreaterThan(80);
    expect(callFields()).toEqual({});
  });

  test("a phrase not rendered yet is said by the live voice in its place, in order, without waiting", async () => {
    const asked: string[] = [];
    const tts: TextToSpeech = {
      voiceId: "test:voice",
      sampleRate: RATE,
      async *synthesize(text) {
        asked.push(text);
        yield new Int16Array(160).fill(7);
      },
      close: async () => undefined,
    };
    const ready = new Int16Array(80).fill(3);
    const phrases = {
      get: (id: string) => (id === "ticketNumberIs" ? ready : undefined),
      liveVoice: (live: TextToSpeech) => live,
    } as unknown as PhraseCache;
    const utterance: Utterance = { id: 1, keys: [], segments: [], interruptible: true, onStart: () => undefined, onEnd: () => undefined };
    const texts = { ticketNumberIs: "Votre numéro de dossier est le", goodbye: "Au revoir.", digit4: "quatre" } as Readonly<Record<PhraseId, string>>;

    feedTextPrompt(utterance, [{ phrase: "ticketNumberIs" }, { digits: "4" }, { phrase: "goodbye" }], {
      tts, resampler, phrases, texts, callUuid: "call-43", rate: RATE, signal: new AbortController().signal, log: rootLogger,
    });
    for (let i = 0; i < 200 && utterance.open !== false; i++) await Bun.sleep(5);

    expect(utterance.open).toBe(false);
    expect(asked).toEqual(["quatre", "Au revoir."]);
    const samples = utterance.segments.flatMap((s) => [...s]);
    expect(samples.slice(0, 80).every((v) => v === 3)).toBe(true);
    expect(samples.length).toBeGreaterThan(80 + 160);
  });
});
