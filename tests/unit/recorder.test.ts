import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { RecorderFlusher } from "../../src/media/recorder-flusher.ts";
import { Recorder, type RecorderOptions } from "../../src/media/recorder.ts";
import { RecordingWriter, recordingWriter, type RecordingSink } from "../../src/media/recording-writer.ts";

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

describe("Recorder on the recording worker", () => {
  test("many recorders flushed by the same steps each get exactly their own bytes, in order", async () => {
    const o = options();
    const flusher = new RecorderFlusher(100);
    const slotsBefore = recordingWriter().poolUsage.slots;
    const recs = Array.from({ length: 30 }, (_, i) => Recorder.open({ ...o, callUuid: `call-${i}` }));
    for (const rec of recs) flusher.add(rec);
    for (let tick = 0; tick < 50; tick++) {
      recs.forEach((rec, i) => {
        rec.caller(frame(160, i * 100 + tick));
        rec.bot(frame(160, -(i * 100 + tick + 1)));
      });
      if (tick % 10 === 0) await Bun.sleep(20);
    }
    await flusher.stop();
    await Promise.all(recs.map((rec) => rec.close()));
    // Every slot the recorders held or handed over is back in the pool.
    expect(recordingWriter().poolUsage.slots).toBe(slotsBefore);
    recs.forEach((rec, i) => {
      const [caller, bot] = rec.files.map((f) => samplesOf(f.path));
      expect(caller?.length).toBe(50 * 160);
      expect(bot?.length).toBe(50 * 160);
      for (let tick = 0; tick < 50; tick++) {
        expect([caller?.[tick * 160], caller?.[tick * 160 + 159]]).toEqual([i * 100 + tick, i * 100 + tick]);
        expect(bot?.[tick * 160 + 80]).toBe(-(i * 100 + tick + 1));
      }
    });
  });

  test("flush() and close() resolve only once the data is on disk; files is final after close()", async () => {
    const o = options();
    const rec = Recorder.open(o);
    const [callerPath, botPath] = rec.files.map((f) => f.path) as [string, string];
    for (let i = 0; i < 250; i++) rec.bot(frame(160, 1));
    await rec.flush();
    expect(statSync(botPath).size).toBe(250 * 320);
    for (let i = 0; i < 100; i++) {
      rec.caller(frame(160, 2));
      rec.bot(frame(160, 3));
    }
    const pending = rec.flush();
    rec.bot(frame(160, 4));
    await rec.close();
    await pending;
    expect(statSync(botPath).size).toBe(351 * 320);
    // Padded to one frame behind the 250 bot frames, then 100 frames of its own.
    expect(statSync(callerPath).size).toBe(349 * 320);
    expect(rec.files.map((f) => f.path)).toEqual([callerPath, botPath]);
    await rec.close();
    expect(await rec.flush()).toBeUndefined();
  });

  test('a pair whose bot name is taken moves to <uuid>.2.… and leaves the taken file alone', async () => {
    const o = options();
    const dayDir = join(o.dir, DAY);
    mkdirSync(dayDir, { recursive: true });
    writeFileSync(join(dayDir, `${UUID}.bot.8000.s16le`), "keep");
    const rec = Recorder.open(o);
    expect(rec.files[1]?.path).toBe(join(dayDir, `${UUID}.bot.8000.s16le`));
    rec.caller(frame(160, 5));
    rec.bot(frame(160, 6));
    await rec.close();
    expect(rec.files.map((f) => f.path)).toEqual([
      join(dayDir, `${UUID}.2.caller.8000.s16le`),
      join(dayDir, `${UUID}.2.bot.8000.s16le`),
    ]);
    expect(readFileSync(join(dayDir, `${UUID}.bot.8000.s16le`), "utf8")).toBe("keep");
    expect(readdirSync(dayDir).sort()).toEqual([`${UUID}.2.bot.8000.s16le`, `${UUID}.2.caller.8000.s16le`, `${UUID}.bot.8000.s16le`]);
    expect(Array.from(samplesOf(join(dayDir, `${UUID}.2.bot.8000.s16le`)))).toEqual(Array(160).fill(6));
  });

  test("a disk error stops only its own call, once, and names the call and the file", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    const o = options();
    const blocker = join(o.dir, "not-a-dir");
    writeFileSync(blocker, "");
    const flusher = new RecorderFlusher(100);
    const bad = Recorder.open({ ...o, dir: blocker, callUuid: "bad-call" });
    const good = Recorder.open({ ...o, callUuid: "good-call" });
    flusher.add(bad);
    flusher.add(good);
    for (let i = 0; i < 40; i++) {
      for (const rec of [bad, good]) {
        rec.caller(frame(160, i));
        rec.bot(frame(160, i));
      }
      if (i % 10 === 0) await Bun.sleep(60);
    }
    await flusher.stop();
    await Promise.all([bad.close(), good.close()]);
    const stopped = lines.filter((l) => l.includes("recording stopped"));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toContain("call=bad-call");
    expect(stopped[0]).toContain(`file=${join(blocker, DAY)}`);
    expect(bad.files).toEqual([]);
    expect(good.files.map((f) => statSync(f.path).size)).toEqual([40 * 320, 40 * 320]);
  });

  test("a disk error mid-call keeps what was written, drops the rest and never throws", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    const o = options();
    const rec = Recorder.open(o);
    rec.caller(frame(160, 1));
    rec.bot(frame(160, 2));
    await rec.flush();
    // The open files move away with their directory; a file now stands where the next pair goes.
    const dayDir = join(o.dir, DAY);
    renameSync(dayDir, `${dayDir}-moved`);
    writeFileSync(dayDir, "");
    rec.bot(frame(160, 2));
    rec.setSampleRate(16000);
    rec.bot(frame(320, 3));
    await rec.flush();
    rec.bot(frame(320, 3));
    await rec.close();
    const stopped = lines.filter((l) => l.includes("recording stopped"));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toContain(`file=${join(dayDir, `${UUID}.caller.16000.s16le`)}`);
    expect(rec.files.map((f) => f.path)).toEqual([join(dayDir, `${UUID}.caller.8000.s16le`), join(dayDir, `${UUID}.bot.8000.s16le`)]);
    expect(statSync(join(`${dayDir}-moved`, `${UUID}.bot.8000.s16le`)).size).toBe(2 * 320);
    expect(statSync(join(`${dayDir}-moved`, `${UUID}.caller.8000.s16le`)).size).toBe(320);
  });

  for (const [name, ending] of [
    ["after close()", "await rec.close();"],
    ["when idle with the files still open", "await rec.flush();"],
  ] as const) {
    test(`the worker lets the process exit ${name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "voicebot-rec-exit-"));
      dirs.push(dir);
      const script = join(dir, "exit.ts");
      const recorderModule = join(import.meta.dir, "../../src/media/recorder.ts");
      const logModule = join(import.meta.dir, "../../src/log.ts");
      writeFileSync(
        script,
        `import { statSync } from "node:fs";
import { rootLogger } from ${JSON.stringify(logModule)};
import { Recorder, RecorderFlusher } from ${JSON.stringify(recorderModule)};
const flusher = new RecorderFlusher();
const rec = Recorder.open({ dir: ${JSON.stringify(join(dir, "recordings"))}, callUuid: "exit", sampleRate: 8000, startedAt: Date.now(), log: rootLogger });
flusher.add(rec);
for (let i = 0; i < 50; i++) rec.bot(new Int16Array(160).fill(i));
${ending}
console.log("recorded", statSync(rec.files[1]?.path ?? "").size);
`,
      );
      const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe" });
      const guard = setTimeout(() => child.kill(), 30_000);
      const code = await child.exited;
      clearTimeout(guard);
      expect(await new Response(child.stdout).text()).toBe("recorded 16000\n");
      expect(code).toBe(0);
    });
  }
});

describe("RecordingWriter", () => {
  test("a dead worker fails the recordings it held, is logged once, and the next op gets a new one", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    const dir = options().dir;
    const workers: Worker[] = [];
    const writer = new RecordingWriter(() => {
      const worker = new Worker(new URL("../../src/media/recording-worker.ts", import.meta.url));
      workers.push(worker);
      return worker;
    });
    const events: string[] = [];
    const sink = (name: string): RecordingSink & { done: number } => {
      const s = {
        done: 0,
        opened: (seg: number, callerPath: string) => events.push(`${name} opened ${seg} ${callerPath}`),
        failed: (path: string) => events.push(`${name} failed ${path}`),
        lost: () => events.push(`${name} lost`),
        settled: (seq: number) => {
          s.done = seq;
        },
      };
      return s;
    };
    const write = (s: RecordingSink, rec: number, value: number) => {
      const slot = writer.takeSlot(8000);
      slot.samples.fill(value, 0, 160);
      return writer.enqueue(s, { op: "write", rec, caller: -1, callerBytes: 0, bot: slot.id, botBytes: 320 });
    };
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await Bun.sleep(10);
    };

    const a = sink("a");
    const recA = writer.register(a);
    writer.enqueue(a, { op: "open", rec: recA, seg: 1, dir, stem: join(dir, "a"), callerSuffix: ".c", botSuffix: ".b" });
    const seqA = write(a, recA, 1);
    await until(() => a.done >= seqA);
    expect(statSync(join(dir, "a.b")).size).toBe(320);

    workers[0]?.terminate();
    await until(() => events.includes("a lost"));
    const b = sink("b");
    const recB = writer.register(b);
    writer.enqueue(b, { op: "open", rec: recB, seg: 1, dir, stem: join(dir, "b"), callerSuffix: ".c", botSuffix: ".b" });
    const seqB = write(b, recB, 2);
    await until(() => b.done >= seqB);
    writer.enqueue(b, { op: "end", rec: recB });

    expect(events).toEqual([`a opened 1 ${join(dir, "a.c")}`, "a lost", `b opened 1 ${join(dir, "b.c")}`]);
    expect(workers).toHaveLength(2);
    // The new worker was given the pool's memory again: b's slot is in the chunk the first one had.
    expect(Array.from(samplesOf(join(dir, "b.b")))).toEqual(Array(160).fill(2));
    expect(writer.poolUsage.slots).toBe(0);
    expect(lines.filter((l) => l.includes("recording worker died"))).toHaveLength(1);
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
