import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEspeakTts, espeakVoiceFor } from "../../src/ai/tts/espeak.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import { rootLogger } from "../../src/log.ts";

const log = rootLogger.child("espeak-test");
const SENTENCE = "Bonjour, vous êtes bien au service après-vente de votre opérateur."; // 10 words
const LONG = "Un, deux, trois, quatre, cinq, six, sept, huit, neuf, dix. ".repeat(6);

let tts: TextToSpeech;
beforeAll(async () => {
  tts = await createEspeakTts({ voice: "fr", log });
});
afterAll(() => tts.close());

async function collect(stream: AsyncIterable<Int16Array>, stopAfter?: (chunks: number) => void): Promise<Int16Array[]> {
  const chunks: Int16Array[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    stopAfter?.(chunks.length);
  }
  return chunks;
}

const samplesIn = (chunks: Int16Array[]): number => chunks.reduce((n, c) => n + c.length, 0);

describe("espeakVoiceFor", () => {
  test("maps the supported languages", () => {
    expect(espeakVoiceFor("fr-FR")).toBe("fr");
    expect(espeakVoiceFor("en-US")).toBe("en-us");
    expect(espeakVoiceFor("pt-BR")).toBe("pt-br");
  });

  test("names the language and what is supported for anything else", () => {
    expect(() => espeakVoiceFor("de-DE")).toThrow('no eSpeak-NG voice for language "de-DE"; supported: fr-FR, en-US, pt-BR');
    expect(() => espeakVoiceFor("")).toThrow('language ""');
  });
});

describe("eSpeak-NG TTS", () => {
  test("French text becomes 22050 Hz audio of plausible length, streamed in chunks", async () => {
    expect(tts.voiceId).toBe("espeak-ng:fr");
    expect(tts.sampleRate).toBe(22050);
    const chunks = await collect(tts.synthesize(SENTENCE));
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk).toBeInstanceOf(Int16Array);
    const seconds = samplesIn(chunks) / 22050;
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(6);
    let peak = 0;
    for (const chunk of chunks) for (const v of chunk) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeGreaterThan(3000);
  });

  test("the other languages' voices load and speak", async () => {
    for (const voice of ["en-us", "pt-br"]) {
      const other = await createEspeakTts({ voice, log });
      try {
        expect(other.voiceId).toBe(`espeak-ng:${voice}`);
        expect(samplesIn(await collect(other.synthesize("One two three.")))).toBeGreaterThan(22050 * 0.5);
      } finally {
        await other.close();
      }
    }
  });

  test("abort stops the stream early, and the next request is whole", async () => {
    const full = samplesIn(await collect(tts.synthesize(LONG)));
    const controller = new AbortController();
    const cut = await collect(tts.synthesize(LONG, controller.signal), (n) => {
      if (n === 2) controller.abort();
    });
    expect(cut.length).toBe(2);
    expect(samplesIn(cut)).toBeLessThan(full / 4);
    expect(Math.abs(samplesIn(await collect(tts.synthesize(LONG))) - full)).toBeLessThan(22050 * 0.2);
  });

  test("an already-aborted signal yields nothing; blank text yields nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await collect(tts.synthesize(SENTENCE, controller.signal))).toEqual([]);
    expect(await collect(tts.synthesize("   "))).toEqual([]);
  });

  test("leaving the loop early (break) leaves the voice usable", async () => {
    for await (const chunk of tts.synthesize(LONG)) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(samplesIn(await collect(tts.synthesize("Merci.")))).toBeGreaterThan(0);
  });

  test("concurrent requests are queued and each gets its own audio", async () => {
    const [short, long] = await Promise.all([collect(tts.synthesize("Oui.")), collect(tts.synthesize(SENTENCE))]);
    expect(samplesIn(short)).toBeGreaterThan(0);
    expect(samplesIn(long)).toBeGreaterThan(samplesIn(short) * 2);
  });

  test("an unknown voice is a clear error", async () => {
    await expect(createEspeakTts({ voice: "xx-nope", log })).rejects.toThrow('unknown eSpeak-NG voice "xx-nope"');
    await expect(createEspeakTts({ voice: "", log })).rejects.toThrow('eSpeak-NG voice "" is not allowed');
  });

  test("after close(), synthesize fails clearly", async () => {
    const closing = await createEspeakTts({ voice: "fr", log });
    await closing.close();
    await expect(collect(closing.synthesize("Bonjour."))).rejects.toThrow("eSpeak-NG TTS is closed");
  });
});
