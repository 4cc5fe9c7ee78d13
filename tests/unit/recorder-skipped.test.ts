import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootLogger } from "../../src/log.ts";
import { PHASES, PlayoutClock } from "../../src/media/playout-clock.ts";
import { Recorder } from "../../src/media/recorder.ts";

/**
 * After the event loop was blocked too long, the playout clock gives up the ticks it cannot catch
 * up. The call's time still passed: the recording's bot channel takes it as silence (or, when the
 * PBX plays ahead, as what the PBX went on playing), and the caller's frames of that time, still in
 * the socket, land in step instead of being padded twice.
 */
const UUID = "0b5f7c3e-1d2a-4c8e-9f00-123456789abc";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(botPlaysLater = false): { rec: Recorder; botPath: string; callerPath: string } {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-rec-skip-"));
  dirs.push(dir);
  const rec = Recorder.open({ dir, callUuid: UUID, sampleRate: 8000, startedAt: Date.UTC(2026, 0, 5, 10, 0, 0), log: rootLogger.child("recorder"), botPlaysLater });
  const day = join(dir, "2026", "01", "05");
  return { rec, botPath: join(day, `${UUID}.bot.8000.s16le`), callerPath: join(day, `${UUID}.caller.8000.s16le`) };
}

const frame = (value: number): Int16Array => new Int16Array(160).fill(value);
/** One value per 160-sample frame. */
const framesOf = (path: string): number[] => {
  const bytes = readFileSync(path);
  return [...new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)].filter((_, i) => i % 160 === 0);
};

describe("Recorder: ticks the clock skipped", () => {
  test("the bot channel takes the skipped time as silence; the caller's frames of that time arrive after and are not padded for", async () => {
    const { rec, botPath, callerPath } = open();
    for (let i = 1; i <= 3; i++) {
      rec.bot(frame(i));
      rec.caller(frame(100 + i));
    }
    rec.skipped(10);
    // The next tick runs before the socket's backlog is read: 4 frames ahead, still no padding.
    rec.bot(frame(4));
    for (let i = 4; i <= 14; i++) rec.caller(frame(100 + i));
    rec.bot(frame(5));
    rec.caller(frame(115));
    await rec.close();
    expect(framesOf(botPath)).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5]);
    expect(framesOf(callerPath)).toEqual(Array.from({ length: 15 }, (_, i) => 101 + i));
  });

  test("a silent caller's channel still ends a frame behind the bot's", async () => {
    const { rec, botPath, callerPath } = open();
    rec.bot(frame(1));
    rec.bot(frame(2));
    rec.skipped(10);
    rec.bot(frame(3));
    rec.bot(frame(4));
    await rec.close();
    expect(framesOf(botPath)).toHaveLength(14);
    expect(framesOf(callerPath)).toEqual(new Array<number>(13).fill(0));
  });

  test("a stall of hours (a suspended VM) writes at most 10 s of silence", async () => {
    const { rec, botPath, callerPath } = open();
    rec.bot(frame(1));
    rec.caller(frame(2));
    rec.skipped(3600 * 50);
    rec.bot(frame(3));
    await rec.close();
    expect(framesOf(botPath)).toHaveLength(1 + 500 + 1);
    expect(framesOf(callerPath)).toHaveLength(1 + 500);
  });

  test("when the PBX plays ahead, the skipped ticks take what it went on playing from its queue", async () => {
    const { rec, botPath, callerPath } = open(true);
    for (let i = 1; i <= 5; i++) rec.bot(frame(i));
    rec.tick();
    rec.caller(frame(100));
    rec.skipped(6);
    for (let i = 0; i < 6; i++) rec.caller(frame(100));
    rec.tick();
    rec.caller(frame(100));
    await rec.close();
    expect(framesOf(botPath)).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    expect(framesOf(callerPath)).toHaveLength(8);
  });
});

describe("PlayoutClock: skipped slots", () => {
  test("after a block too long to catch up, each target is told how many of its own ticks were skipped, and the others still tick", async () => {
    const clock = new PlayoutClock(() => undefined);
    const targets = Array.from({ length: PHASES }, () => ({ ticks: 0, skipped: 0, onTick(): void { this.ticks++; }, onSkipped(periods: number): void { this.skipped += periods; } }));
    for (const t of targets) clock.add(t);
    while (targets.some((t) => t.ticks < 2)) await Bun.sleep(5);
    Bun.sleepSync(300);
    const ticksBefore = clock.stats.ticks;
    while (clock.stats.ticks === ticksBefore) await Bun.sleep(1);
    for (const t of targets) clock.remove(t);
    const skipped = clock.stats.skippedTicks;
    // 300 ms is 15 periods; two are caught up, the rest skipped (a slow host may add a few).
    expect(skipped).toBeGreaterThanOrEqual(12 * PHASES);
    expect(targets.reduce((sum, t) => sum + t.skipped, 0)).toBe(skipped);
    for (const t of targets) expect(Math.abs(t.skipped - skipped / PHASES)).toBeLessThanOrEqual(1);
  });

  test("a target that throws while told of skipped ticks is dropped like one that throws on a tick", async () => {
    const errors: unknown[] = [];
    const clock = new PlayoutClock((_t, err) => errors.push(err));
    const bad = { onTick: () => undefined, onSkipped: (): void => { throw new Error("boom"); } };
    const good = { ticks: 0, onTick(): void { this.ticks++; } };
    clock.add(bad);
    clock.add(good);
    while (good.ticks < 2) await Bun.sleep(5);
    Bun.sleepSync(200);
    const after = good.ticks;
    while (good.ticks <= after + 2) await Bun.sleep(5);
    expect(errors).toHaveLength(1);
    expect(clock.size).toBe(1);
    clock.remove(good);
  });
});
