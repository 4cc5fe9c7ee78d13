import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CallerAudio } from "../../src/call/caller-audio.ts";
import type { SilenceTimers } from "../../src/call/silence-timers.ts";

/** Speech bursts and pauses (ms), as a caller talking in keypad mode would: 8 kHz or 16 kHz PCM. */
function talk(rate: number): Int16Array {
  const parts: Array<[ms: number, loud: boolean]> = [[300, false], [700, true], [1200, false], [400, true], [100, false], [500, true], [1500, false]];
  const out = new Int16Array(parts.reduce((n, [ms]) => n + (rate * ms) / 1000, 0));
  let at = 0;
  for (const [ms, loud] of parts) {
    const n = (rate * ms) / 1000;
    if (loud) for (let i = 0; i < n; i++) out[at + i] = Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / rate));
    at += n;
  }
  return out;
}

/** What the silence timers were told, in order, with the PCM cut into chunks of these sizes. */
function timersHeard(rate: number, pcm: Int16Array, sizes: readonly number[]): string[] {
  const heard: string[] = [];
  const silence = { reset: () => heard.push("reset"), arm: () => heard.push("arm") } as unknown as SilenceTimers;
  const audio = new CallerAudio(rate, null, silence, () => true);
  for (let at = 0, k = 0; at < pcm.length; k++) {
    const size = sizes[k % sizes.length] as number;
    audio.push(pcm.slice(at, at + size));
    at += size;
  }
  return heard;
}

describe("the caller's activity, whatever the frame sizes", () => {
  test("frames of 1-1000 samples, mixed, at 8 and 16 kHz: the silence timers hear the same starts and ends as with 20 ms frames", () => {
    for (const rate of [8000, 16000]) {
      const pcm = talk(rate);
      const baseline = timersHeard(rate, pcm, [rate / 50]);
      expect(baseline).toEqual(["reset", "arm", "reset", "arm"]);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 30 }), (sizes) => {
          expect(timersHeard(rate, pcm, sizes)).toEqual(baseline);
        }),
        { numRuns: 100 },
      );
    }
  });

  test("after stop() nothing more reaches the timers", () => {
    const heard: string[] = [];
    const silence = { reset: () => heard.push("reset"), arm: () => heard.push("arm") } as unknown as SilenceTimers;
    const audio = new CallerAudio(8000, null, silence, () => true);
    audio.stop();
    audio.push(talk(8000));
    expect(heard).toEqual([]);
  });
});
