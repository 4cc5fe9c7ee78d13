import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StereoMp3Encoder, mp3SettingsProblem } from "../../src/media/mp3-encoder.ts";
import { Mp3Pool } from "../../src/media/mp3-pool.ts";
import { scanRecordings } from "../../src/media/recordings-scan.ts";
import { Store } from "../../src/store/store.ts";
import { requireTool } from "../support/system-tools.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const ROOT = new URL("../..", import.meta.url).pathname;
const UUID = "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-rec-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function tone(rate: number, seconds: number, hz: number, amplitude: number): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

function rms(samples: Int16Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (samples[i] as number) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}

/** mpg123 decodes back: interleaved s16 stereo at the file's rate. */
function decode(mp3: string): { left: Int16Array; right: Int16Array } {
  const r = Bun.spawnSync([requireTool("mpg123"), "-q", "-s", mp3], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`mpg123 failed: ${r.stderr.toString()}`);
  const pcm = new Int16Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.byteLength));
  const left = new Int16Array(pcm.length / 2);
  const right = new Int16Array(pcm.length / 2);
  for (let i = 0; i < left.length; i++) {
    left[i] = pcm[2 * i] as number;
    right[i] = pcm[2 * i + 1] as number;
  }
  return { left, right };
}

/** A call as the recorder leaves it: two raw files in the day dir, and its row in the database. */
function recordedCall(dataDir: string, o: { seconds: number; rate?: number; day?: string; ended?: boolean; uuid?: string }): { caller: string; bot: string; stem: string } {
  const rate = o.rate ?? 8000;
  const uuid = o.uuid ?? UUID;
  const dir = join(dataDir, "recordings", o.day ?? "2026/11/20");
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, uuid);
  const caller = `${stem}.caller.${rate}.s16le`;
  const bot = `${stem}.bot.${rate}.s16le`;
  writeFileSync(caller, tone(rate, o.seconds, 440, 8000));
  writeFileSync(bot, tone(rate, o.seconds * 0.9, 1000, 2000));
  const store = Store.open(dataDir);
  const id = store.insertCall({ uuid, transport: "audiosocket", tenant: "default", caller: "0600000000", peer: "127.0.0.1", sampleRate: rate, startedAt: Date.now() - 60_000 });
  store.setCallRecordings(id, [{ channel: "caller", path: caller, sampleRate: rate }, { channel: "bot", path: bot, sampleRate: rate }]);
  if (o.ended !== false) store.endCall(id, { endedAt: Date.now() - 1000, reason: "resolved" });
  store.close();
  return { caller, bot, stem };
}

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), ...args], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("stereo MP3", () => {
  test("round trip: same duration, each channel's level, caller left and bot right", async () => {
    const dir = temp();
    const caller = tone(8000, 5, 440, 8000);
    const bot = tone(8000, 5, 1000, 2000);
    writeFileSync(join(dir, "c.raw"), caller);
    writeFileSync(join(dir, "b.raw"), bot);
    const pool = new Mp3Pool(1);
    const r = await pool.convert({ callerPath: join(dir, "c.raw"), botPath: join(dir, "b.raw"), rate: 8000, kbps: 32, out: join(dir, "call.mp3") });
    await pool.close();
    expect(r.ok).toBe(true);
    const { left, right } = decode(join(dir, "call.mp3"));
    // The decoder adds its delay and pads the last frame: at most a few frames of 576 samples.
    expect(Math.abs(left.length - caller.length)).toBeLessThan(3 * 576);
    const mid = [8000, 32000] as const;
    const db = (a: number, b: number) => 20 * Math.log10(a / b);
    expect(Math.abs(db(rms(left, ...mid), rms(caller, ...mid)))).toBeLessThan(1.5);
    expect(Math.abs(db(rms(right, ...mid), rms(bot, ...mid)))).toBeLessThan(1.5);
    expect(rms(left, ...mid)).toBeGreaterThan(rms(right, ...mid) * 2);
  });

  test("bitrates are checked against the sample rate", () => {
    expect(mp3SettingsProblem(8000, 32)).toBeNull();
    expect(mp3SettingsProblem(8000, 320)).toContain("not an MP3 bitrate at 8000 Hz");
    expect(mp3SettingsProblem(44100, 8)).toContain("32k");
    expect(mp3SettingsProblem(9000, 32)).toContain("MP3 takes");
    expect(() => new StereoMp3Encoder(8000, 31)).toThrow(RangeError);
  });

  test("a job on files that are not there fails alone; the pool goes on", async () => {
    const dir = temp();
    writeFileSync(join(dir, "c.raw"), tone(8000, 1, 440, 8000));
    writeFileSync(join(dir, "b.raw"), tone(8000, 1, 440, 8000));
    const pool = new Mp3Pool(1);
    const [bad, good] = await Promise.all([
      pool.convert({ callerPath: join(dir, "missing"), botPath: join(dir, "b.raw"), rate: 8000, kbps: 32, out: join(dir, "x.mp3") }),
      pool.convert({ callerPath: join(dir, "c.raw"), botPath: join(dir, "b.raw"), rate: 8000, kbps: 32, out: join(dir, "y.mp3") }),
    ]);
    await pool.close();
    expect(bad.ok).toBe(false);
    expect(good.ok).toBe(true);
    expect(existsSync(join(dir, "x.mp3.part"))).toBe(false);
  });
});

describe("voicebot recordings convert", () => {
  test("converts finished calls, points the row at the MP3, deletes raw only with --delete-raw", () => {
    const dataDir = temp();
    const { caller, bot, stem } = recordedCall(dataDir, { seconds: 3 });
    const going = recordedCall(dataDir, { seconds: 2, ended: false, uuid: "11111111-2222-4333-8444-555555555555" });
    const r = cli(["recordings", "convert", "--older-than", "0", "--data-dir", dataDir, "--json"]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { converted: number; skipped: number; rawDeleted: number };
    expect(summary).toMatchObject({ converted: 1, skipped: 1, rawDeleted: 0 });
    expect(existsSync(`${stem}.mp3`)).toBe(true);
    expect(existsSync(caller)).toBe(true);
    expect(existsSync(`${going.stem}.mp3`)).toBe(false);
    const store = Store.open(dataDir, { readonly: true });
    expect(store.getCall(UUID)?.recordings).toEqual([{ channel: "stereo", path: `${stem}.mp3`, sampleRate: 8000 }]);
    store.close();
    const again = cli(["recordings", "convert", "--older-than", "0", "--delete-raw", "--data-dir", dataDir, "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ converted: 0, rawDeleted: 2 });
    expect(existsSync(caller) || existsSync(bot)).toBe(false);
    expect(existsSync(going.caller)).toBe(true);
  }, 30_000);

  test("a crash mid-conversion loses nothing: the raw files stay, no final MP3 is half-written, a rerun completes", async () => {
    const dataDir = temp();
    const calls = ["a", "b", "c"].map((c, i) => recordedCall(dataDir, { seconds: 240, uuid: `${c.repeat(8)}-0000-4000-8000-00000000000${i}` }));
    const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "recordings", "convert", "--older-than", "0", "--workers", "1", "--delete-raw", "--data-dir", dataDir], { stdout: "ignore", stderr: "ignore" });
    const dir = join(dataDir, "recordings/2026/11/20");
    for (let i = 0; i < 2000 && !readdirSync(dir).some((n) => n.endsWith(".mp3.part")); i++) await Bun.sleep(5);
    proc.kill("SIGKILL");
    await proc.exited;
    const names = readdirSync(dir);
    for (const call of calls) {
      const mp3 = existsSync(`${call.stem}.mp3`);
      // Each call has either its whole raw pair, or a finished MP3 (renamed only once complete).
      expect(mp3 || (existsSync(call.caller) && existsSync(call.bot))).toBe(true);
      if (!mp3) expect(statSync(call.caller).size).toBe(240 * 8000 * 2);
    }
    expect(names.some((n) => n.endsWith(".mp3.part"))).toBe(true);
    const rerun = cli(["recordings", "convert", "--older-than", "0", "--delete-raw", "--data-dir", dataDir, "--json"]);
    expect(rerun.code).toBe(0);
    expect((JSON.parse(rerun.stdout) as { partialsRemoved: number }).partialsRemoved).toBeGreaterThanOrEqual(1);
    expect(readdirSync(dir).sort()).toEqual(calls.map((c) => `${c.stem.split("/").at(-1)}.mp3`).sort());
    for (const call of calls) expect(decode(`${call.stem}.mp3`).left.length).toBeGreaterThan(239 * 8000);
  }, 120_000);

  test("RECORDINGS_RETENTION_DAYS deletes old days, and the rows forget them", () => {
    const dataDir = temp();
    const old = recordedCall(dataDir, { seconds: 1, day: "2020/01/02", uuid: "99999999-0000-4000-8000-000000000000" });
    const recent = recordedCall(dataDir, { seconds: 1 });
    const env = join(dataDir, "voicebot.env");
    writeFileSync(env, "RECORDINGS_RETENTION_DAYS=30\n");
    const r = cli(["recordings", "convert", "--older-than", "1h", "--config", env, "--data-dir", dataDir, "--json"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { pruned: number }).pruned).toBe(2);
    expect(existsSync(join(dataDir, "recordings/2020"))).toBe(false);
    expect(existsSync(recent.caller)).toBe(true);
    const store = Store.open(dataDir, { readonly: true });
    expect(store.getCall("99999999-0000-4000-8000-000000000000")?.recordings).toEqual([]);
    store.close();
    expect(old.caller).toContain("2020/01/02");
  }, 30_000);

  test("bad flags are one clear line", () => {
    const dataDir = temp();
    expect(cli(["recordings", "convert", "--older-than", "soon", "--data-dir", dataDir]).stderr).toContain("give an age such as 0, 30m, 1h or 2d");
    expect(cli(["recordings", "convert", "--bitrate", "fast", "--data-dir", dataDir]).stderr).toContain("give kbit/s such as 32k");
    expect(cli(["recordings", "convert", "--workers", "0", "--data-dir", dataDir]).stderr).toContain("from 1 to 64");
    recordedCall(dataDir, { seconds: 1 });
    expect(cli(["recordings", "convert", "--older-than", "0", "--bitrate", "320k", "--data-dir", dataDir]).stderr).toContain("not an MP3 bitrate at 8000 Hz");
    expect(cli(["recordings", "list"]).stderr).toContain("unknown subcommand");
  }, 30_000);

  test("the scan pairs segments and finds leftovers", () => {
    const dataDir = temp();
    const { stem } = recordedCall(dataDir, { seconds: 1 });
    writeFileSync(`${stem}.2.caller.16000.s16le`, new Int16Array(320));
    writeFileSync(`${stem}.2.bot.16000.s16le`, new Int16Array(320));
    writeFileSync(`${stem}.mp3.part`, "x");
    const scan = scanRecordings(join(dataDir, "recordings"));
    expect(scan.pairs.map((p) => [p.uuid, p.rate])).toEqual([[UUID, 16000], [UUID, 8000]]);
    expect(scan.partials).toEqual([`${stem}.mp3.part`]);
    expect(readFileSync(`${stem}.mp3.part`, "utf8")).toBe("x");
  });
});
