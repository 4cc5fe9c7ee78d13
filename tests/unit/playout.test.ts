import { describe, expect, test } from "bun:test";
import { Playout, type Utterance } from "../../src/media/playout.ts";
import { PlayoutClock } from "../../src/media/playout-clock.ts";

function ramp(n: number, start = 1): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = start + i;
  return a;
}

function utterance(id: number, segments: Int16Array[], log: string[]): Utterance {
  return {
    id,
    keys: segments.map((_, i) => `k${i}`),
    segments,
    onStart: () => log.push(`start ${id}`),
    onEnd: (interrupted) => log.push(`end ${id}${interrupted ? " interrupted" : ""}`),
  };
}

describe("Playout", () => {
  test("drainReady: what is ready goes at once (a PBX that queues), stopping where streamed audio has not arrived", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    const streamed = { ...utterance(1, [ramp(400, 1)], log), open: true };
    p.enqueue(streamed);
    const sent: number[] = [];
    p.drainReady(50, (frame) => sent.push(frame[0] as number) > 0);
    expect(sent).toEqual([1, 161]); // 400 samples: two whole frames; the last 80 wait for more, never padded
    expect(p.busy).toBe(true);
    streamed.segments.push(ramp(160, 5001));
    p.drainReady(50, (frame) => sent.push(frame[0] as number) > 0);
    expect(sent).toEqual([1, 161, 321]);
    streamed.open = false;
    p.drainReady(50, (frame) => sent.push(frame[0] as number) > 0);
    expect(log).toEqual(["start 1", "end 1"]);
    expect(p.busy).toBe(false);
    const stopped: number[] = [];
    p.enqueue(utterance(2, [ramp(800, 1)], log));
    p.drainReady(50, (frame) => stopped.push(frame[0] as number) < 2);
    expect(stopped).toEqual([1, 161]);
    p.drainReady(1, () => true);
    expect(p.busy).toBe(true);
  });

  test("silence when idle, 20 ms frames at the call's rate", () => {
    const p = new Playout(8000);
    const f = p.nextFrame();
    expect(f.length).toBe(160);
    expect(f.every((s) => s === 0)).toBe(true);
    expect(p.busy).toBe(false);
    expect(new Playout(16000).nextFrame().length).toBe(320);
    expect(new Playout(44100).nextFrame().length).toBe(882);
  });

  test("segments are joined seamlessly across frames and padded at the end", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    p.enqueue(utterance(1, [ramp(100, 1), ramp(150, 1001)], log));
    const f1 = Array.from(p.nextFrame());
    expect(f1.slice(0, 100)).toEqual(Array.from(ramp(100, 1)));
    expect(f1.slice(100)).toEqual(Array.from(ramp(60, 1001)));
    const f2 = Array.from(p.nextFrame());
    expect(f2.slice(0, 90)).toEqual(Array.from(ramp(90, 1061)));
    expect(f2.slice(90).every((s) => s === 0)).toBe(true);
    expect(log).toEqual(["start 1", "end 1"]);
    expect(p.busy).toBe(false);
  });

  test("utterances play in order, each started and ended once", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    p.enqueue(utterance(1, [ramp(160)], log));
    p.enqueue(utterance(2, [ramp(160)], log));
    for (let i = 0; i < 4; i++) p.nextFrame();
    expect(log).toEqual(["start 1", "end 1", "start 2", "end 2"]);
  });

  test("flush fades out within one frame and drops what was queued", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    const loud = new Int16Array(8000).fill(10000);
    p.enqueue(utterance(1, [loud], log));
    p.enqueue(utterance(2, [loud], log));
    p.nextFrame();
    p.flush();
    expect(log).toEqual(["start 1", "end 1 interrupted", "end 2 interrupted"]);
    const f = p.nextFrame();
    expect(Math.abs(f[0] as number)).toBeGreaterThan(9000);
    for (let i = 1; i < 64; i++) expect(Math.abs(f[i] as number)).toBeLessThanOrEqual(Math.abs(f[i - 1] as number));
    expect(f.subarray(64).every((s) => s === 0)).toBe(true);
    expect(p.nextFrame().every((s) => s === 0)).toBe(true);
    expect(p.busy).toBe(false);
  });

  test("hold: silence (after a fade) with the cursor kept; released, the utterance plays on from where it was", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    p.enqueue(utterance(1, [ramp(640)], log));
    expect(p.nextFrame()[0]).toBe(1);
    p.hold(true);
    const faded = p.nextFrame();
    expect(faded[0]).toBe(161);
    expect(faded.subarray(64).every((s) => s === 0)).toBe(true);
    expect(p.nextFrame().every((s) => s === 0)).toBe(true);
    expect(p.playing).toBe(true);
    let drained = 0;
    p.drainReady(5, () => ++drained > 0);
    expect(drained).toBe(0);
    p.hold(false);
    expect(p.nextFrame()[0]).toBe(161);
    expect(log).toEqual(["start 1"]);
    p.hold(true);
    p.nextFrame();
    p.flush();
    p.enqueue(utterance(2, [ramp(160, 7)], log));
    // A flush while held brings back nothing of the held words, and ends the hold: the next reply plays.
    expect(p.nextFrame()[0]).toBe(7);
  });

  test("long segments play frame after frame without a seam, counting what streamed speech played; a flush mid-segment fades out", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    const u = utterance(1, [ramp(1000), ramp(500, 2001)], log);
    u.played = 0;
    p.enqueue(u);
    const out: number[] = [];
    for (let i = 0; i < 10; i++) out.push(...p.nextFrame());
    expect(out).toEqual([...ramp(1000), ...ramp(500, 2001), ...new Array<number>(100).fill(0)]);
    expect(u.played).toBe(1500);
    expect(log).toEqual(["start 1", "end 1"]);
    p.enqueue(utterance(2, [ramp(2000)], log));
    for (let i = 0; i < 3; i++) p.nextFrame();
    p.flush();
    const faded = p.nextFrame();
    expect(faded[0]).toBe(481);
    expect(faded.subarray(64).every((s) => s === 0)).toBe(true);
    expect(p.nextFrame().every((s) => s === 0)).toBe(true);
    expect(log).toEqual(["start 1", "end 1", "start 2", "end 2 interrupted"]);
  });

  test("retune hands the queue back and switches the frame size", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    p.enqueue(utterance(1, [ramp(1000)], log));
    p.nextFrame();
    const back = p.retune(16000);
    expect(back.map((u) => u.id)).toEqual([1]);
    expect(p.nextFrame().length).toBe(320);
    expect(p.busy).toBe(false);
  });
});

describe("PlayoutClock", () => {
  test("ticks every target, and drops one that throws without stopping the others", async () => {
    const errors: unknown[] = [];
    const clock = new PlayoutClock((_t, err) => errors.push(err));
    let good = 0;
    const goodTarget = { onTick: () => void good++ };
    const badTarget = { onTick: () => { throw new Error("boom"); } };
    clock.add(goodTarget);
    clock.add(badTarget);
    while (good < 5) await Bun.sleep(10);
    expect(errors).toHaveLength(1);
    expect(clock.size).toBe(1);
    clock.remove(goodTarget);
    expect(clock.size).toBe(0);
    const ticks = clock.stats.ticks;
    await Bun.sleep(60);
    expect(clock.stats.ticks).toBe(ticks);
  });

  test("afterRun work runs right after a run has sent its frames, with the room before the next slot", async () => {
    const clock = new PlayoutClock(() => undefined);
    expect(clock.msUntilNextSlot()).toBe(Infinity);
    const target = { onTick: () => undefined };
    clock.add(target);
    let ticksThen = -1;
    let room = NaN;
    clock.afterRun(() => {
      ticksThen = clock.stats.ticks;
      room = clock.msUntilNextSlot();
    });
    // Not before the run: the work waits for it.
    expect(ticksThen).toBe(-1);
    while (ticksThen < 0) await Bun.sleep(2);
    expect(ticksThen).toBeGreaterThanOrEqual(1);
    // At most a slot ahead (a timer may fire a little early, and its run still takes that slot).
    expect(room).toBeLessThanOrEqual(10);
    clock.remove(target);
  });

  test("afterRun work still runs when the clock stops before its next run, or is not running", async () => {
    const clock = new PlayoutClock(() => undefined);
    const ran: string[] = [];
    const target = { onTick: () => undefined };
    clock.add(target);
    clock.afterRun(() => ran.push("queued while running"));
    clock.remove(target);
    clock.afterRun(() => ran.push("queued while idle"));
    await Bun.sleep(20);
    expect(ran).toEqual(["queued while running", "queued while idle"]);
  });
});

describe("PlayoutClock: expedite and delay", () => {
  /** Slots (stats.ticks) at which a target ticked. */
  function recorder(clock: PlayoutClock): { slots: number[]; onTick: () => void } {
    const slots: number[] = [];
    return { slots, onTick: () => void slots.push(clock.stats.ticks) };
  }

  const gaps = (slots: number[]): number[] => slots.slice(1).map((s, i) => s - (slots[i] as number));

  /**
   * Expedite, then delay, on a live clock. A wake-up over 40 ms late (the test process stalled on a
   * loaded machine) makes the clock skip slots by design, which changes the gaps whatever expedite
   * and delay do: such a run says nothing, and is run again (the clock counts its skipped slots).
   */
  async function expediteThenDelay(): Promise<{ target: number[]; other: number[]; gained: number; expeditedAt: number; delayedAt: number; skipped: number }> {
    const clock = new PlayoutClock(() => undefined);
    const other = recorder(clock);
    const target = recorder(clock);
    clock.add(other);
    clock.add(target);
    while (target.slots.length < 3) await Bun.sleep(5);
    const gained = clock.expedite(target);
    const expeditedAt = target.slots.length;
    while (target.slots.length < expeditedAt + 3) await Bun.sleep(5);
    clock.delay(target, gained);
    const delayedAt = target.slots.length;
    while (target.slots.length < delayedAt + 3) await Bun.sleep(5);
    clock.remove(target);
    clock.remove(other);
    return { target: target.slots, other: other.slots, gained, expeditedAt, delayedAt, skipped: clock.stats.skippedTicks };
  }

  test("expedite brings the next tick to the next slot once; delay gives the lead back", async () => {
    let run = await expediteThenDelay();
    for (let attempt = 1; attempt < 5 && run.skipped > 0; attempt++) run = await expediteThenDelay();
    expect(run.skipped).toBe(0);
    const { gained, expeditedAt, delayedAt } = run;
    const g = gaps(run.target);
    expect(g.slice(0, expeditedAt - 1).every((x) => x === 4)).toBe(true);
    expect(gained).toBeGreaterThanOrEqual(0);
    expect(gained).toBeLessThanOrEqual(3);
    // One gap shortened by exactly what expedite reported, one lengthened by as much later.
    expect(g[expeditedAt - 1]).toBe(4 - gained);
    expect(g[delayedAt - 1]).toBe(4 + gained);
    expect(g.filter((x) => x !== 4)).toHaveLength(gained === 0 ? 0 : 2);
    // The other call's cadence is untouched.
    expect(gaps(run.other).every((x) => x === 4)).toBe(true);
  });

  test("a removed target that was moving never ticks again", async () => {
    const clock = new PlayoutClock(() => undefined);
    const keep = recorder(clock);
    const target = recorder(clock);
    clock.add(keep);
    clock.add(target);
    while (target.slots.length < 2) await Bun.sleep(5);
    clock.delay(target, 3);
    clock.remove(target);
    const n = target.slots.length;
    await Bun.sleep(80);
    expect(target.slots.length).toBe(n);
    clock.remove(keep);
  });
});

describe("Playout: streamed utterances", () => {
  test("an open utterance waits (silence, no end) until more audio or its close", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    const u = utterance(1, [], log);
    u.open = true;
    u.played = 0;
    p.enqueue(u);
    expect(p.nextFrame().every((s) => s === 0)).toBe(true);
    expect(log).toEqual([]);
    expect(p.starved).toBe(false);
    u.segments.push(ramp(200));
    p.nextFrame();
    expect(log).toEqual(["start 1"]);
    expect(p.starved).toBe(false);
    expect(u.played).toBe(160);
    const frame = p.nextFrame();
    expect(frame[39]).toBe(200);
    expect(frame[40]).toBe(0);
    expect(p.starved).toBe(true);
    expect(u.played).toBe(200);
    u.open = false;
    p.nextFrame();
    expect(log).toEqual(["start 1", "end 1"]);
    expect(p.busy).toBe(false);
  });

  test("a filler goes before a reply that has not started; remove drops an unstarted one silently", () => {
    const log: string[] = [];
    const p = new Playout(8000);
    const reply = utterance(2, [], log);
    reply.open = true;
    p.enqueue(reply);
    p.nextFrame();
    expect(p.insertBeforeHead(utterance(3, [ramp(160)], log))).toBe(true);
    expect(p.head?.id).toBe(3);
    p.nextFrame();
    p.nextFrame();
    expect(log).toEqual(["start 3", "end 3"]);
    p.remove(reply);
    expect(p.busy).toBe(false);
    expect(log).toEqual(["start 3", "end 3"]);
  });
});
