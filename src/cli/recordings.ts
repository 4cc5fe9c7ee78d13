/**
 * `voicebot recordings convert`: each finished call's raw audio (two mono s16le files) becomes one
 * stereo MP3 (caller left, bot right) in a worker pool; the nightly timer runs it. Also applies
 * RECORDINGS_RETENTION_DAYS. Crash-safe: MP3s are written under a temp name and renamed, and the
 * raw files are deleted only after that, and after the call's row points at the MP3.
 */
import { existsSync, readdirSync, rmdirSync, rmSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig } from "../config/load.ts";
import { setLogLevel } from "../log.ts";
import { mp3SettingsProblem } from "../media/mp3-encoder.ts";
import { defaultMp3Workers, Mp3Pool } from "../media/mp3-pool.ts";
import { scanRecordings, type SegmentPair } from "../media/recordings-scan.ts";
import { openRecordingRows, type RecordingRows } from "../store/recording-rows.ts";
import type { RecordingFile } from "../store/store.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { formatBytes } from "./format.ts";
import { createProgress } from "./progress.ts";

const USAGE = `Usage: voicebot recordings convert [--delete-raw] [--bitrate 32k] [--workers N] [--older-than 1h] [--json]

Turns each finished call's raw audio (<data-dir>/recordings/YYYY/MM/DD/<uuid>.caller|bot.<rate>.s16le)
into one stereo MP3 beside it (<uuid>.mp3: the caller on the left, the bot on the right), in a pool
of workers, with a progress bar; the call's row then points at the MP3. Then deletes recordings
older than RECORDINGS_RETENTION_DAYS (0 or unset: kept). The nightly timer of an installed
voicebot runs \`recordings convert --delete-raw --older-than 1h\`.

A crash loses nothing: the MP3 is written as <uuid>.mp3.part, synced and renamed; the raw files
are deleted (--delete-raw) only after that. The next run removes a left-over .part and redoes it.

Options:
  --delete-raw       delete the raw files once their MP3 is safely written
  --bitrate RATE     MP3 bitrate, e.g. 32k (default; 8 kHz calls), 64k
  --workers N        encoding workers (default: one per core)
  --older-than AGE   only files untouched this long: 30m, 1h, 2d, 0 (default 10m)
  --config FILE      env file to read    VOICEBOT_CONFIG
  --data-dir DIR     the data dir        VOICEBOT_DATA_DIR
  --json             a summary as JSON on stdout (progress goes to stderr)
  --help             this text`;

const DAY_MS = 86_400_000;

function parseAge(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--older-than ${JSON.stringify(raw)}: give an age such as 0, 30m, 1h or 2d`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

function parseBitrate(raw: string): number {
  const m = /^(\d+)\s*k?$/i.exec(raw.trim());
  if (!m) throw new UsageError(`--bitrate ${JSON.stringify(raw)}: give kbit/s such as 32k or 64k`);
  return Number(m[1]);
}

interface Summary {
  converted: number;
  failed: { file: string; error: string }[];
  skipped: number;
  audioSeconds: number;
  wallSeconds: number;
  /** Time the workers spent encoding, summed. */
  workerSeconds: number;
  rawBytes: number;
  mp3Bytes: number;
  rawDeleted: number;
  partialsRemoved: number;
  pruned: number;
  xRealtimeOverall: number;
  xRealtimePerWorker: number;
}

/** The call's rows point at the MP3 instead of its raw pair (or at nothing, for pruned files). */
async function repoint(store: RecordingRows | null, uuid: string, replace: (files: RecordingFile[]) => RecordingFile[]): Promise<void> {
  if (!store) return;
  const call = await store.call(uuid);
  if (!call) return;
  const next = replace(call.recordings);
  if (JSON.stringify(next) !== JSON.stringify(call.recordings)) await store.setRecordings(call.id, next);
}

function toMp3(pair: SegmentPair): (files: RecordingFile[]) => RecordingFile[] {
  const mp3: RecordingFile = { channel: "stereo", path: `${pair.stem}.mp3`, sampleRate: pair.rate };
  return (files) => {
    const kept = files.filter((f) => f.path !== pair.callerPath && f.path !== pair.botPath && f.path !== mp3.path);
    return [...kept, mp3];
  };
}

function deleteRaw(pair: SegmentPair): number {
  let n = 0;
  for (const path of [pair.callerPath, pair.botPath]) {
    if (!existsSync(path)) continue;
    unlinkSync(path);
    n++;
  }
  return n;
}

/** Days older than the retention go, whole: files, rows' references, then empty month/year dirs. */
async function prune(root: string, days: [string, number][], retentionDays: number, store: RecordingRows | null, now: number): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = now - retentionDays * DAY_MS;
  let pruned = 0;
  for (const [dir, dayStart] of days) {
    if (dayStart + DAY_MS > cutoff) continue;
    const names = readdirSync(dir);
    const paths = new Set(names.map((n) => join(dir, n)));
    for (const uuid of new Set(names.map((n) => n.split(".")[0] as string))) await repoint(store, uuid, (files) => files.filter((f) => !paths.has(f.path)));
    rmSync(dir, { recursive: true, force: true });
    pruned += names.length;
    for (let up = dirname(dir); up.startsWith(root) && up !== root; up = dirname(up)) {
      if (readdirSync(up).length > 0) break;
      rmdirSync(up);
    }
  }
  return pruned;
}

async function convert(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, {
    "delete-raw": { type: "boolean" },
    bitrate: { type: "string" },
    workers: { type: "string" },
    "older-than": { type: "string" },
    config: { type: "string" },
    "data-dir": { type: "string" },
    json: { type: "boolean" },
  }, USAGE);
  if (!parsed) return 0;
  const v = parsed.values;
  const kbps = parseBitrate(v.bitrate ?? "32k");
  const workers = v.workers === undefined ? defaultMp3Workers() : Number(v.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers ${JSON.stringify(v.workers)}: give a whole number from 1 to 64`);
  const olderThanMs = parseAge(v["older-than"] ?? "10m");
  const config = loadConfig({ config: v.config, dataDir: v["data-dir"] });
  setLogLevel("warn");
  const root = join(config.dataDir, "recordings");
  const now = Date.now();
  const scan = scanRecordings(root);
  for (const part of scan.partials) rmSync(part, { force: true });
  const store = await openRecordingRows(config);
  const summary: Summary = {
    converted: 0, failed: [], skipped: 0, audioSeconds: 0, wallSeconds: 0, workerSeconds: 0, rawBytes: 0, mp3Bytes: 0,
    rawDeleted: 0, partialsRemoved: scan.partials.length, pruned: 0, xRealtimeOverall: 0, xRealtimePerWorker: 0,
  };
  // A pair is ready once old enough and its call (if the store has it) has ended.
  const readyPairs = new Set<SegmentPair>();
  for (const p of scan.pairs) {
    if (now - p.mtimeMs < olderThanMs) continue;
    const call = (await store?.call(p.uuid)) ?? null;
    if (call === null || call.ended) readyPairs.add(p);
  }
  const ready = (p: SegmentPair): boolean => readyPairs.has(p);
  const todo = scan.pairs.filter((p) => !p.converted && ready(p));
  summary.skipped = scan.pairs.filter((p) => !p.converted).length - todo.length;
  for (const p of todo) {
    const problem = mp3SettingsProblem(p.rate, kbps);
    if (problem) throw new UsageError(problem);
  }

  const started = performance.now();
  if (todo.length > 0) {
    const pool = new Mp3Pool(Math.min(workers, todo.length));
    const progress = createProgress({ total: todo.length, unit: "recordings", detail: `${kbps}k stereo MP3, ${pool.size} worker${pool.size === 1 ? "" : "s"}`, out: process.stderr });
    let done = 0;
    await Promise.all(todo.map(async (pair) => {
      const r = await pool.convert({ callerPath: pair.callerPath, botPath: pair.botPath, rate: pair.rate, kbps, out: `${pair.stem}.mp3` });
      progress.update(++done);
      if (!r.ok) {
        summary.failed.push({ file: pair.callerPath, error: r.error });
        return;
      }
      summary.converted++;
      summary.audioSeconds += r.audioSeconds;
      summary.workerSeconds += r.encodeMs / 1000;
      summary.rawBytes += pair.bytes;
      summary.mp3Bytes += r.bytes;
      await repoint(store, pair.uuid, toMp3(pair));
      if (v["delete-raw"]) summary.rawDeleted += deleteRaw(pair);
    }));
    progress.finish();
    await pool.close();
  }
  if (v["delete-raw"]) {
    for (const pair of scan.pairs.filter((p) => p.converted && ready(p))) {
      await repoint(store, pair.uuid, toMp3(pair));
      summary.rawDeleted += deleteRaw(pair);
    }
  }
  summary.wallSeconds = (performance.now() - started) / 1000;
  summary.pruned = await prune(root, scan.days, config.recordingsRetentionDays, store, now);
  await store?.close();
  summary.xRealtimeOverall = summary.wallSeconds > 0 ? summary.audioSeconds / summary.wallSeconds : 0;
  summary.xRealtimePerWorker = summary.workerSeconds > 0 ? summary.audioSeconds / summary.workerSeconds : 0;

  for (const f of summary.failed) process.stderr.write(`recordings convert: ${f.file}: ${f.error}\n`);
  if (v.json) printJson(summary);
  else {
    process.stdout.write([
      `converted ${summary.converted} recording${summary.converted === 1 ? "" : "s"} (${(summary.audioSeconds / 3600).toFixed(2)} h of audio) in ${summary.wallSeconds.toFixed(1)} s:`
        + ` ${summary.xRealtimeOverall.toFixed(0)}x real time overall, ${summary.xRealtimePerWorker.toFixed(0)}x per worker`,
      `size ${formatBytes(summary.rawBytes)} raw → ${formatBytes(summary.mp3Bytes)} MP3; raw files deleted: ${summary.rawDeleted}`,
      `skipped (too recent or call still going): ${summary.skipped}; unfinished conversions redone: ${summary.partialsRemoved}; pruned by retention: ${summary.pruned} files`,
      ...(summary.failed.length > 0 ? [`FAILED: ${summary.failed.length} (see above)`] : []),
    ].join("\n") + "\n");
  }
  return summary.failed.length > 0 ? 1 : 0;
}

export const recordingsCommand: Command = {
  name: "recordings",
  summary: "convert call recordings to stereo MP3 and apply the retention (convert)",
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === "--help" || sub === "-h") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (sub !== "convert") throw new UsageError(`${sub === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(sub)}`}: convert (see --help)`);
    return convert(rest);
  },
};
