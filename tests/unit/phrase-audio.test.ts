import { expect, test } from "bun:test";
import { callStartSegments, trimSilence } from "../../src/media/phrase-audio.ts";

const RATE = 8000;
/** 100 ms of silence, 200 ms of a 1 kHz tone at half scale, 100 ms of silence. */
function phrase(): Int16Array {
  const out = new Int16Array(RATE * 0.4);
  for (let i = 800; i < 2400; i++) out[i] = Math.round(16000 * Math.sin((2 * Math.PI * 1000 * i) / RATE));
  return out;
}

function firstSound(samples: Int16Array): number {
  return samples.findIndex((s) => s !== 0);
}

test("a rendered phrase keeps 30 ms before its speech and 150 ms after it", () => {
  const trimmed = trimSilence(phrase(), RATE);
  expect(firstSound(trimmed)).toBe(RATE * 0.03);
  expect(trimmed.length).toBe(RATE * 0.03 + 1599 + RATE * 0.15);
});

test("a call's first words start 5 ms before their speech; the rest of the utterance and the cache are untouched", () => {
  const cached = [trimSilence(phrase(), RATE), trimSilence(phrase(), RATE)];
  const first = callStartSegments(cached, RATE);
  expect(firstSound(first[0] as Int16Array)).toBe(RATE * 0.005);
  // Views of the cached audio: the cache still has its whole lead-in.
  expect((first[0] as Int16Array).buffer).toBe((cached[0] as Int16Array).buffer);
  expect(firstSound(cached[0] as Int16Array)).toBe(RATE * 0.03);
  expect(first[1]).toBe(cached[1] as Int16Array);
  // A first segment no longer than the lead-in it would lose is left whole.
  const short = [new Int16Array(RATE * 0.02)];
  expect(callStartSegments(short, RATE)).toBe(short);
  expect(callStartSegments([], RATE)).toEqual([]);
});
