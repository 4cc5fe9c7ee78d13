import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { frameSamplesFor } from "../../src/media/pcm.ts";
import { Reframer } from "../../src/media/reframer.ts";

/** Pushes `chunks` (sample counts) of a running ramp; returns what came out, copied, frame by frame. */
function run(rate: number, chunks: number[]): { input: Int16Array; frames: Int16Array[]; views: Set<Int16Array>; reframer: Reframer } {
  const input = new Int16Array(chunks.reduce((n, c) => n + c, 0)).map((_, i) => (i % 65536) - 32768);
  const reframer = new Reframer(rate);
  const frames: Int16Array[] = [];
  const views = new Set<Int16Array>();
  let at = 0;
  for (const size of chunks) {
    const chunk = input.slice(at, at + size);
    at += size;
    reframer.push(chunk, (frame) => {
      if (frame !== chunk) views.add(frame);
      frames.push(frame.slice());
    });
  }
  return { input, frames, views, reframer };
}

describe("Reframer", () => {
  test("any mix of frame sizes (1-1000 samples) at 8 and 16 kHz: exact 20 ms frames, every sample once, in order", () => {
    fc.assert(
      fc.property(fc.constantFrom(8000, 16000), fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 60 }), (rate, chunks) => {
        const { input, frames, views, reframer } = run(rate, chunks);
        const size = frameSamplesFor(rate);
        expect(frames.every((f) => f.length === size)).toBe(true);
        expect(frames.length * size + reframer.held).toBe(input.length);
        expect(reframer.held).toBeLessThan(size);
        const out = new Int16Array(frames.length * size);
        frames.forEach((f, k) => out.set(f, k * size));
        expect(out).toEqual(input.slice(0, out.length));
        // One buffer of its own, reused: nothing allocated per frame.
        expect(views.size).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  test("a whole 20 ms frame with nothing held goes through as it is", () => {
    const reframer = new Reframer(8000);
    const frame = new Int16Array(160).fill(7);
    const seen: Int16Array[] = [];
    reframer.push(frame, (f) => seen.push(f));
    expect(seen).toEqual([frame]);
    expect(seen[0]).toBe(frame);
  });

  test("Asterisk's short last frame (138 samples) is held, not emitted; a rate change drops it", () => {
    const reframer = new Reframer(8000);
    const seen: number[] = [];
    reframer.push(new Int16Array(138), (f) => seen.push(f.length));
    expect(seen).toEqual([]);
    expect(reframer.held).toBe(138);
    reframer.setSampleRate(16000);
    expect(reframer.held).toBe(0);
    reframer.push(new Int16Array(300), (f) => seen.push(f.length));
    reframer.push(new Int16Array(340), (f) => seen.push(f.length));
    expect(seen).toEqual([320, 320]);
  });

  test("a rate without whole 20 ms frames is refused with what is allowed", () => {
    expect(() => new Reframer(8001)).toThrow("reframer: sample rate 8001 Hz is not allowed; use a rate with whole 20 ms frames (8000, 16000, …)");
    expect(() => new Reframer(8000).setSampleRate(0)).toThrow("sample rate 0 Hz");
  });
});
