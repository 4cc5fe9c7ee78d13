import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { RecorderFlusher } from "../../src/media/recorder-flusher.ts";
import { Recorder, type RecorderOptions } from "../../src/media/recorder.ts";

const UUID = "0b5f7c3e-1d2a-4c8e-9f00-123456789abc";
const STARTED = Date.UTC(2026, 0, 5, 23, 59, 0);
const DAY = join("2026", "01", "05");
const dirs: string[] = [];

afterEach(() => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function options(overrides: Partial<RecorderOptions> = {}): RecorderOptions {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-rec-"));
  dirs.push(dir);
  return { dir, callUuid: UUID, sampleRate: 8000, startedAt: STARTED, log: rootLogger.child("recorder"), ...overrides };
}

function frame(samples: number, value: number): Int16Array {
  return new Int16Array(samples).fill(value);
}

function samplesOf(path: string): Int16Array {
  const bytes = readFileSync(path);
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
}

describe("Recorder", () => {
  test("frames become two raw s16le files named by day, uuid, channel and rate", async () => {
    const o = options();
    const rec = Recorder.open(o);
    const callerPath = join(o.dir, DAY, `${UUID}.caller.8000.s16le`);
    const botPath = join(o.dir, DAY, `${UUID}.bot.8000.s16le`);
    expect(rec.files).toEqual([
      { channel: "caller", path: callerPath, sampleRate: 8000 },
      { channel: "bot", path: botPath, sampleRate: 8000 },
    ]);
    expect(existsSync(join(o.dir, DAY))).toBe(false);

    for (let i = 1; i <= 3; i++) {
      rec.caller(frame(160, i));
      rec.bot(frame(160, -i));
    }
    await rec.flush();
    rec.caller(Int16Array.of(-32768, 32767));
    rec.bot(frame(160, 4));
    await rec.close();

    const caller = samplesOf(callerPath);
    expect(caller.length).toBe(3 * 160 + 2);
    expect([caller[0], caller[160], caller[320], caller[480], caller[481]]).toEqual([1, 2, 3, -32768, 32767]);
    expect(readFileSync(callerPath).subarray(-4)).toEqual(Buffer.from([0x00, 0x80, 0xff, 0x7f]));
    const bot = samplesOf(botPath);
    expect(bot.length).toBe(4 * 160);
    expect([bot[0], bot[159], bot[160], bot[479], bot[480]]).toEqual([-1, -1, -2, -3, 4]);
    expect(rec.files.map((f) => f.path)).toEqual([callerPath, botPath]);
  });

  test("a silent caller channel is padded to one frame behind once it lags more than three", async () => {
    const o = options();
    const rec = Recorder.open(o);
    for (let i = 0; i < 3; i++) rec.bot(frame(160, 1));
    await rec.flush();
    const callerPath = join(o.dir, DAY, `${UUID}.caller.8000.s16le`);
    expect(statSync(callerPath).size).toBe(0);

    for (let i = 0; i < 7; i++) rec.bot(frame(160, 1));
    rec.caller(frame(160, 7));
    await rec.close();
    const caller = samplesOf(callerPath);
    expect(caller.length).toBe(10 * 160);
    expect(caller.subarray(0, 9 * 160).every((s) => s === 0)).toBe(true);
    expect(caller.subarray(9 * 160).every((s) => s === 7)).toBe(true);
    expect(samplesOf(join(o.dir, DAY, `${UUID}.bot.8000.s16le`)).length).toBe(10 * 160);
  });

  test("a rate change starts a new pair; a rate known before any audio only renames the first", async () => {
    const o = options();
    const rec = Recorder.open(o);
    rec.setSampleRate(16000);
    rec.caller(frame(320, 1));
    rec.bot(frame(320, 2));
    rec.setSampleRate(8000);
    rec.caller(frame(160, 3));
    rec.bot(frame(160, 4));
    rec.setSampleRate(16000);
    rec.bot(frame(320, 5));
    await rec.close();

    const at = (name: string) => join(o.dir, DAY, name);
    expect(rec.files).toEqual([
      { channel: "caller", path: at(`${UUID}.caller.16000.s16le`), sampleRate: 16000 },
      { channel: "bot", path: at(`${UUID}.bot.16000.s16le`), sampleRate: 16000 },
      { channel: "caller", path: at(`${UUID}.caller.8000.s16le`), sampleRate: 8000 },
      { channel: "bot", path: at(`${UUID}.bot.8000.s16le`), sampleRate: 8000 },
      { channel: "caller", path: at(`${UUID}.2.caller.16000.s16le`), sampleRate: 16000 },
      { channel: "bot", path: at(`${UUID}.2.bot.16000.s16le`), sampleRate: 16000 },
    ]);
    expect(readdirSync(join(o.dir, DAY)).length).toBe(6);
    expect(Array.from(samplesOf(at(`${UUID}.bot.16000.s16le`)))).toEqual(Array(320).fill(2));
    expect(Array.from(samplesOf(at(`${UUID}.caller.8000.s16le`)))).toEqual(Array(160).fill(3));
    expect(Array.from(samplesOf(at(`${UUID}.2.bot.16000.s16le`)))).toEqual(Array(320).fill(5));
    expect(() => rec.setSampleRate(11025)).toThrow(/recording sample rate 11025 is not allowed/);
  });

  test("a reused call UUID never appends to an earlier recording", async () => {
    const o = options();
    const first = Recorder.open(o);
    first.bot(frame(160, 1));
    await first.close();
    const second = Recorder.open(o);
    second.bot(frame(160, 2));
    await second.close();
    expect(second.files.map((f) => f.path)).toEqual([
      join(o.dir, DAY, `${UUID}.2.caller.8000.s16le`),
      join(o.dir, DAY, `${UUID}.2.bot.8000.s16le`),
    ]);
    expect(Array.from(samplesOf(first.files[1]?.path ?? ""))).toEqual(Array(160).fill(1));
  });

  test("a call with no audio leaves no files and an empty list", async () => {
    const rec = Recorder.open(options());
    await rec.close();
    expect(rec.files).toEqual([]);
  });

  test("an id with path characters stays inside the recordings dir", () => {
    const o = options({ callUuid: "../../etc/passwd" });
    expect(Recorder.open(o).files[0]?.path).toBe(join(o.dir, DAY, "______etc_passwd.caller.8000.s16le"));
  });

  test("a disk error is logged once, stops the recording and disturbs nothing else", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    const o = options();
    const blocker = join(o.dir, "not-a-dir");
    writeFileSync(blocker, "");
    const rec = Recorder.open({ ...o, dir: blocker });
    rec.bot(frame(160, 1));
    await rec.flush();
    rec.caller(frame(160, 1));
    rec.bot(frame(160, 1));
    await rec.flush();
    await rec.close();
    expect(lines.filter((l) => l.includes("recording stopped"))).toHaveLength(1);
    expect(lines[0]).toContain(`call=${UUID}`);
    expect(rec.files).toEqual([]);
  });
});

describe("RecorderFlusher", () => {
  test("recorders reach the disk within about a second without an explicit flush", async () => {
    const o = options();
    const flusher = new RecorderFlusher();
    const rec = Recorder.open(o);
    flusher.add(rec);
    rec.caller(frame(160, 1));
    rec.bot(frame(160, 1));
    const botPath = join(o.dir, DAY, `${UUID}.bot.8000.s16le`);
    const size = () => (existsSync(botPath) ? statSync(botPath).size : 0);
    for (let i = 0; i < 100 && size() < 320; i++) await Bun.sleep(50);
    expect(size()).toBe(320);

    rec.bot(frame(160, 2));
    await flusher.stop();
    expect(size()).toBe(640);
    await rec.close();
  });

  test("an interval over a second is refused", () => {
    expect(() => new RecorderFlusher(5000)).toThrow(/recorder flush interval 5000 ms is not allowed/);
  });
});
