import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootLogger } from "../../src/log.ts";
import { Recorder } from "../../src/media/recorder.ts";
import { SampleQueue } from "../../src/media/sample-queue.ts";

/** FreeSWITCH's community module plays the bot's audio later than it is sent: the bot channel follows what is played. */
const UUID = "0b5f7c3e-1d2a-4c8e-9f00-123456789abc";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(): { rec: Recorder; botPath: string; callerPath: string } {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-rec-later-"));
  dirs.push(dir);
  const startedAt = Date.UTC(2026, 0, 5, 10, 0, 0);
  const rec = Recorder.open({ dir, callUuid: UUID, sampleRate: 8000, startedAt, log: rootLogger.child("recorder"), botPlaysLater: true });
  const day = join(dir, "2026", "01", "05");
  return { rec, botPath: join(day, `${UUID}.bot.8000.s16le`), callerPath: join(day, `${UUID}.caller.8000.s16le`) };
}

const frame = (value: number, samples = 160): Int16Array => new Int16Array(samples).fill(value);
const samplesOf = (path: string): number[] => {
  const bytes = readFileSync(path);
  return [...new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)];
};
/** One value per 160-sample frame, for short assertions. */
const frames = (samples: number[]): number[] => samples.filter((_, i) => i % 160 === 0);

describe("Recorder with botPlaysLater", () => {
  test("speech sent ahead is written one frame a tick, as it plays; idle silence is not queued", async () => {
    const { rec, botPath, callerPath } = open();
    // Tick 1: the whole 5-frame sentence goes out at once (file mode sends it as soon as it is ready).
    for (let i = 1; i <= 5; i++) rec.bot(frame(i));
    for (let t = 0; t < 8; t++) {
      rec.tick();
      rec.caller(frame(100));
      // Quiet after its sentence: a silent frame each tick.
      if (t >= 1) rec.bot(frame(0));
    }
    await rec.close();
    expect(frames(samplesOf(botPath))).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    expect(samplesOf(callerPath).length).toBe(8 * 160);
  });

  test("a barge-in drops what was sent and never played", async () => {
    const { rec, botPath } = open();
    for (let i = 1; i <= 6; i++) rec.bot(frame(i));
    rec.tick();
    rec.tick();
    rec.dropUnplayed();
    rec.bot(frame(9));
    rec.tick();
    rec.tick();
    await rec.close();
    expect(frames(samplesOf(botPath))).toEqual([1, 2, 9, 0]);
  });

  test("the ticks go on when the caller's audio stops (a hang-up playing out): the caller channel is padded to match", async () => {
    const { rec, botPath, callerPath } = open();
    for (let i = 1; i <= 10; i++) rec.bot(frame(i));
    for (let t = 0; t < 10; t++) {
      rec.tick();
      if (t < 4) rec.caller(frame(100));
    }
    await rec.close();
    expect(frames(samplesOf(botPath))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(samplesOf(callerPath).length).toBe(10 * 160);
  });

  test("without botPlaysLater, tick() writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "voicebot-rec-now-"));
    dirs.push(dir);
    const rec = Recorder.open({ dir, callUuid: UUID, sampleRate: 8000, startedAt: Date.UTC(2026, 0, 5), log: rootLogger.child("recorder") });
    rec.bot(frame(3));
    rec.tick();
    await rec.close();
    expect(frames(samplesOf(rec.files.find((f) => f.channel === "bot")?.path ?? ""))).toEqual([3]);
  });
});

describe("SampleQueue", () => {
  test("first in, first out across the ring's wrap and its growth", () => {
    const q = new SampleQueue();
    const out: number[] = [];
    const take = (ring: Int16Array, start: number, end: number): void => void out.push(...ring.subarray(start, end));
    let next = 0;
    const chunk = (n: number): Int16Array => Int16Array.from({ length: n }, () => next++ % 30000);
    for (let round = 0; round < 50; round++) {
      q.write(chunk(1000 + round * 37));
      q.read(900 + round * 41, take);
    }
    q.read(q.length, take);
    expect(out).toEqual(Array.from({ length: out.length }, (_, i) => i % 30000));
    expect(q.length).toBe(0);
    expect(q.read(10, take)).toBe(0);
    q.write(chunk(3));
    q.clear();
    expect(q.length).toBe(0);
  });
});
