import { describe, expect, test } from "bun:test";
import { CallListener } from "../../src/simulate/listener.ts";
import { concatSamples, percentileOfSorted, summarize, upperPercentile } from "../../src/simulate/stats.ts";

const RATE = 8000;
const FRAME = 160;

/** One 20 ms s16le payload with every sample at `level` (alternating sign, so RMS = |level|). */
function frame(level: number, samples = FRAME): Uint8Array {
  const out = new Uint8Array(samples * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples; i++) view.setInt16(2 * i, i % 2 === 0 ? level : -level, true);
  return out;
}

const SILENCE = frame(0);
const SPEECH = frame(3000); // about -21 dBFS
const WHISPER = frame(100); // audible (greeting) but below the -45 dBFS speech threshold

/** Feeds `levels` as frames paced exactly 20 ms apart from `firstAt`; returns the next arrival time. */
function feed(listener: CallListener, payloads: Uint8Array[], firstAt: number): number {
  let at = firstAt;
  for (const p of payloads) {
    listener.onAudio(p, RATE, at);
    at += 20;
  }
  return at;
}

const repeat = (p: Uint8Array, n: number): Uint8Array[] => Array.from({ length: n }, () => p);

describe("CallListener", () => {
  test("greeting delay runs from the call start to the first non-silent frame", () => {
    const listener = new CallListener(1000, null);
    feed(listener, [SILENCE, SILENCE, SILENCE, WHISPER, SPEECH], 1005);
    expect(listener.finish().greetingDelayMs).toBe(65);
  });

  test("no greeting when only digital silence arrived", () => {
    const listener = new CallListener(0, null);
    feed(listener, repeat(SILENCE, 10), 3);
    const heard = listener.finish();
    expect(heard.greetingDelayMs).toBeNull();
    expect(heard.utterances).toEqual([]);
    expect(heard.frames).toBe(10);
  });

  test("speech with pauses under 400 ms is one utterance; a longer pause starts another", () => {
    const listener = new CallListener(0, null);
    let at = feed(listener, repeat(SILENCE, 5), 0); // 0..100
    at = feed(listener, repeat(SPEECH, 50), at); // 100..1100
    at = feed(listener, repeat(SILENCE, 15), at); // 300 ms pause
    at = feed(listener, repeat(SPEECH, 25), at); // 1400..1900
    at = feed(listener, repeat(WHISPER, 25), at); // 500 ms below the threshold
    at = feed(listener, repeat(SPEECH, 10), at); // 2400..2600
    feed(listener, repeat(SILENCE, 3), at);
    expect(listener.finish().utterances).toEqual([
      { startMs: 100, durationMs: 1800 },
      { startMs: 2400, durationMs: 200 },
    ]);
  });

  test("an utterance still open at the end of the call is closed by finish()", () => {
    const listener = new CallListener(500, null);
    feed(listener, repeat(SPEECH, 10), 520);
    expect(listener.finish().utterances).toEqual([{ startMs: 20, durationMs: 200 }]);
  });

  test("speech after a gap with no frames at all is a new utterance", () => {
    const listener = new CallListener(0, null);
    feed(listener, repeat(SPEECH, 5), 0);
    feed(listener, repeat(SPEECH, 5), 1000);
    expect(listener.finish().utterances).toEqual([
      { startMs: 0, durationMs: 100 },
      { startMs: 1000, durationMs: 100 },
    ]);
  });

  test("last speech times follow the speech frames only", () => {
    const listener = new CallListener(0, null);
    let at = feed(listener, repeat(SPEECH, 3), 0);
    feed(listener, repeat(SILENCE, 3), at);
    expect(listener.lastSpeechAtMs).toBe(40);
    expect(listener.lastSpeechEndMs).toBe(60);
    expect(listener.lastFrameAtMs).toBe(100);
  });

  test("jitter is |inter-arrival - frame duration| for every frame after the first", () => {
    const listener = new CallListener(0, null);
    for (const at of [0, 20, 43, 60, 80, 80]) listener.onAudio(SILENCE, RATE, at);
    expect(listener.finish().jitterMs).toEqual([0, 3, 3, 0, 20]);
  });

  test("jitter uses each frame's own duration (a 40 ms frame is expected 40 ms before the next)", () => {
    const listener = new CallListener(0, null);
    listener.onAudio(frame(0, 320), RATE, 0);
    listener.onAudio(SILENCE, RATE, 40);
    listener.onAudio(frame(0, 320), 16000, 60);
    listener.onAudio(SILENCE, RATE, 80);
    expect(listener.finish().jitterMs).toEqual([0, 0, 0]);
  });

  test("perfect pacing has no lead; a burst shows how far ahead of real time it ran", () => {
    const paced = new CallListener(0, null);
    feed(paced, repeat(SILENCE, 50), 7);
    expect(paced.finish().maxLeadMs).toBe(0);

    const burst = new CallListener(0, null);
    for (let i = 0; i < 5; i++) burst.onAudio(SILENCE, RATE, 100); // 100 ms of audio at once
    feed(burst, repeat(SILENCE, 100), 120);
    const heard = burst.finish();
    expect(heard.maxLeadMs).toBe(80);
    // 105 samples: the burst's leads 0, 20, 40, 60, 80, then 80 for the 100 paced frames after it.
    expect(heard.leadP99Ms).toBe(80);
  });

  test("a late frame lets the player run dry: no credit is banked for the next burst", () => {
    const listener = new CallListener(0, null);
    feed(listener, repeat(SILENCE, 3), 0); // plays until 60
    listener.onAudio(SILENCE, RATE, 200); // 140 ms late
    listener.onAudio(SILENCE, RATE, 200); // burst of one frame: 20 ms ahead, not 160
    expect(listener.finish().maxLeadMs).toBe(20);
  });

  test("records the frames at the recording rate, in order", () => {
    const listener = new CallListener(0, RATE);
    listener.onAudio(frame(5, 2), RATE, 0);
    listener.onAudio(frame(7, 4), 16000, 20); // another rate: not recorded
    listener.onAudio(frame(-9, 2), RATE, 40);
    expect(Array.from(listener.recording())).toEqual([5, -5, -9, 9]);
    expect(new CallListener(0, null).recording().length).toBe(0);
  });

  test("payload views at odd byte offsets are read correctly", () => {
    const backing = new Uint8Array(1 + SPEECH.length);
    backing.set(SPEECH, 1);
    const listener = new CallListener(0, RATE);
    listener.onAudio(backing.subarray(1), RATE, 10);
    expect(listener.recording()[0]).toBe(3000);
    expect(listener.finish().utterances).toEqual([{ startMs: 10, durationMs: 20 }]);
  });
});

describe("stats", () => {
  test("nearest-rank percentiles", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentileOfSorted(sorted, 50)).toBe(50);
    expect(percentileOfSorted(sorted, 99)).toBe(99);
    expect(percentileOfSorted(sorted, 100)).toBe(100);
    expect(percentileOfSorted(sorted, 0)).toBe(1);
    expect(percentileOfSorted([], 50)).toBeNaN();
    expect(() => percentileOfSorted(sorted, 101)).toThrow("percentile must be from 0 to 100, got 101");
  });

  test("upperPercentile reads the same nearest rank as a sort, with ties and any length", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const n of [1, 2, 3, 99, 100, 101, 1499, 1500]) {
      const values = Array.from({ length: n }, () => Math.floor(next() * 40) / 2);
      const sorted = Float64Array.from(values).sort();
      for (const p of [50, 90, 99, 100]) expect(upperPercentile(values, p)).toBe(percentileOfSorted(sorted, p));
    }
    expect(upperPercentile([], 99)).toBeNaN();
    expect(() => upperPercentile([1], 10)).toThrow("upper percentile must be from 50 to 100, got 10");
  });

  test("summarize sorts a copy; concatSamples joins lists", () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({ count: 5, p50: 3, p99: 5, max: 5 });
    expect(values).toEqual([5, 1, 4, 2, 3]);
    expect(Array.from(concatSamples([[1, 2], [], [3]]))).toEqual([1, 2, 3]);
    expect(summarize([]).count).toBe(0);
  });
});
