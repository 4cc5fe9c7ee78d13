import { describe, expect, test } from "bun:test";
import { SttDeadline } from "../../src/call/stt-deadline.ts";

/** Long enough past a 20 ms deadline for a loaded machine to have run its timer. */
const SETTLE_MS = 300;

describe("the recognizer's per-turn deadline", () => {
  test("no answer after the speech end: missed once, with that speech end", async () => {
    const missed: number[] = [];
    const d = new SttDeadline(20, (at) => missed.push(at));
    const end = Date.now();
    expect(d.watch(end)).toBe(true);
    expect(d.pending).toBe(true);
    await Bun.sleep(SETTLE_MS);
    expect(missed).toEqual([end]);
    expect(d.pending).toBe(false);
  });

  test("an answer in time meets it; an answer that came before the speech end is not for this turn", async () => {
    const missed: number[] = [];
    const d = new SttDeadline(20, (at) => missed.push(at));
    d.answered();
    expect(d.watch(Date.now() + 5)).toBe(true);
    d.answered();
    expect(d.pending).toBe(false);
    await Bun.sleep(SETTLE_MS);
    expect(missed).toEqual([]);
  });

  test("a result already in after the caller's last loud frame answers the turn: nothing to watch", () => {
    const d = new SttDeadline(20, () => {
      throw new Error("not expected");
    });
    const lastLoud = Date.now() - 50;
    d.answered();
    expect(d.watch(lastLoud)).toBe(false);
    expect(d.pending).toBe(false);
  });

  test("a new turn replaces the one watched; stop() cancels", async () => {
    const missed: number[] = [];
    const d = new SttDeadline(20, (at) => missed.push(at));
    const first = Date.now();
    d.watch(first);
    d.watch(first + 1);
    await Bun.sleep(SETTLE_MS);
    expect(missed).toEqual([first + 1]);
    d.watch(Date.now());
    d.stop();
    await Bun.sleep(SETTLE_MS);
    expect(missed.length).toBe(1);
  });

  test("a deadline that is not a positive number is refused", () => {
    expect(() => new SttDeadline(0, () => undefined)).toThrow(/STT deadline 0 ms is not allowed/);
  });
});
