import { describe, expect, test } from "bun:test";
import { RecorderFlusher } from "../../src/media/recorder-flusher.ts";
import type { Recorder } from "../../src/media/recorder.ts";

/** What the flusher asks of a recorder, counted. */
function fakeRecorder(): { recorder: Recorder; handOvers: () => number; flushes: () => number } {
  let handOvers = 0;
  let flushes = 0;
  const fake = {
    handOverBuffered: () => void handOvers++,
    flush: () => {
      flushes++;
      return Promise.resolve();
    },
  };
  return { recorder: fake as unknown as Recorder, handOvers: () => handOvers, flushes: () => flushes };
}

describe("RecorderFlusher steps", () => {
  test("each recorder is handed over once per interval, in a step of its own, with no promise asked for", async () => {
    // 100 ms interval: a step every 10 ms, so a recorder every tenth step.
    const flusher = new RecorderFlusher(100);
    const fakes = Array.from({ length: 20 }, fakeRecorder);
    for (const f of fakes) flusher.add(f.recorder);
    await Bun.sleep(450);
    const counts = fakes.map((f) => f.handOvers());
    // Four intervals, give or take a step at either end and a late timer.
    for (const n of counts) expect(n).toBeGreaterThanOrEqual(2);
    for (const n of counts) expect(n).toBeLessThanOrEqual(5);
    expect(fakes.every((f) => f.flushes() === 0)).toBe(true);

    const gone = fakes[0]!;
    flusher.remove(gone.recorder);
    const before = gone.handOvers();
    await Bun.sleep(250);
    expect(gone.handOvers()).toBe(before);
    expect(fakes[1]!.handOvers()).toBeGreaterThan(counts[1]!);

    await flusher.stop();
    // The last flush at stop() is awaited, so it goes through flush(); the removed recorder is not flushed.
    expect(gone.flushes()).toBe(0);
    expect(fakes.slice(1).every((f) => f.flushes() === 1)).toBe(true);
  });

  test("recorders are spread evenly over the steps, and a freed step is filled first", async () => {
    const flusher = new RecorderFlusher(1000);
    const fakes = Array.from({ length: 10 }, fakeRecorder);
    for (const f of fakes) flusher.add(f.recorder);
    flusher.remove(fakes[3]!.recorder);
    const late = fakeRecorder();
    flusher.add(late.recorder);
    // One step every 100 ms: after 350 ms three or four steps ran, each flushing exactly one recorder.
    await Bun.sleep(350);
    const total = [...fakes, late].reduce((sum, f) => sum + f.handOvers(), 0);
    expect(total).toBeGreaterThanOrEqual(3);
    expect(total).toBeLessThanOrEqual(4);
    await flusher.stop();
  });
});
