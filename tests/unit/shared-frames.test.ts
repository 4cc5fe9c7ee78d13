import { describe, expect, test } from "bun:test";
import { Playout, type Utterance } from "../../src/media/playout.ts";
import { AudioFrameOut } from "../../src/transports/audiosocket-frame-out.ts";

/**
 * Every call builds its outgoing frames in buffers the whole process shares (media/shared-frames.ts):
 * each frame is right for its own call as long as it is used before the next one is built.
 */
const spoken = (value: number, samples: number): Utterance => ({
  id: value, keys: [], segments: [new Int16Array(samples).fill(value)], onStart: () => undefined, onEnd: () => undefined,
});

describe("frames built in shared buffers", () => {
  test("calls ticking in turn each send their own audio, at their own rate", () => {
    const calls = [new Playout(8000), new Playout(8000), new Playout(16000)];
    calls.forEach((p, i) => p.enqueue(spoken(i + 1, 16000)));
    for (let tick = 0; tick < 3; tick++) {
      for (const [i, p] of calls.entries()) {
        const frame = p.nextFrame();
        expect(frame.length).toBe(i === 2 ? 320 : 160);
        expect(frame.every((s) => s === i + 1)).toBe(true);
      }
    }
  });

  test("AudioSocket messages of connections at two rates, built one after the other, each carry their own kind and samples", () => {
    const narrow = new AudioFrameOut(8000);
    const wide = new AudioFrameOut(16000);
    const message = (out: AudioFrameOut, frame: Int16Array): number[] => [...out.bytes.subarray(out.start, out.start + out.write(frame))];
    const a = message(narrow, new Int16Array(160).fill(0x0102));
    expect(a.slice(0, 5)).toEqual([0x10, 0x01, 0x40, 0x02, 0x01]);
    expect(a).toHaveLength(323);
    const b = message(wide, new Int16Array(320).fill(-2));
    expect(b.slice(0, 5)).toEqual([0x12, 0x02, 0x80, 0xfe, 0xff]);
    expect(b).toHaveLength(643);
    expect(message(narrow, new Int16Array(160).fill(7)).slice(0, 4)).toEqual([0x10, 0x01, 0x40, 0x07]);
  });
});
