/**
 * What is in <dataDir>/recordings/YYYY/MM/DD: each call segment's raw pair
 * (`<uuid>[.<n>].caller.<rate>.s16le` + `….bot.<rate>.s16le`, recorder.ts), its MP3 if converted,
 * and the `.mp3.part` a crash left behind.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface SegmentPair {
  /** The path without the channel suffix: `<day dir>/<uuid>[.<n>]`; the MP3 is `<stem>.mp3`. */
  stem: string;
  uuid: string;
  callerPath: string;
  botPath: string;
  rate: number;
  /** The newer of the two files' modification times. */
  mtimeMs: number;
  /** Both channels together, in bytes. */
  bytes: number;
  /** `<stem>.mp3` exists already (an earlier run converted it). */
  converted: boolean;
}

export interface RecordingsScan {
  pairs: SegmentPair[];
  /** `.mp3.part` files: a conversion that did not finish. */
  partials: string[];
  /** Day directories, as [path, UTC midnight of that day in ms]. */
  days: [string, number][];
}

const RAW = /^(.+)\.(caller|bot)\.(\d+)\.s16le$/;

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export function scanRecordings(root: string): RecordingsScan {
  const out: RecordingsScan = { pairs: [], partials: [], days: [] };
  for (const y of entries(root).filter((n) => /^\d{4}$/.test(n))) {
    for (const m of entries(join(root, y)).filter((n) => /^\d{2}$/.test(n))) {
      for (const d of entries(join(root, y, m)).filter((n) => /^\d{2}$/.test(n))) {
        const dir = join(root, y, m, d);
        out.days.push([dir, Date.UTC(Number(y), Number(m) - 1, Number(d))]);
        scanDay(dir, out);
      }
    }
  }
  return out;
}

function scanDay(dir: string, out: RecordingsScan): void {
  const names = entries(dir);
  const present = new Set(names);
  for (const name of names) {
    if (name.endsWith(".mp3.part")) {
      out.partials.push(join(dir, name));
      continue;
    }
    const m = RAW.exec(name);
    if (!m || m[2] !== "caller") continue;
    const base = m[1] as string;
    const botName = `${base}.bot.${m[3]}.s16le`;
    if (!present.has(botName)) continue;
    const callerPath = join(dir, name);
    const botPath = join(dir, botName);
    const a = statSync(callerPath);
    const b = statSync(botPath);
    out.pairs.push({
      stem: join(dir, base), uuid: base.split(".")[0] as string, callerPath, botPath, rate: Number(m[3]),
      mtimeMs: Math.max(a.mtimeMs, b.mtimeMs), bytes: a.size + b.size, converted: present.has(`${base}.mp3`),
    });
  }
}
