/**
 * How `npm test` splits the suite into `bun test` processes run side by side. Most of the suite's
 * time is e2e files waiting on calls paced in real time (one frame every 20 ms, a caller's speech
 * at the speed it is spoken), not CPU: each such file runs in a process of its own, while the unit
 * and protocol files (short, many) share one. The slowest jobs start first, so the last one to
 * start is short and the processes finish close together.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

export interface TestJob {
  /** The name printed above its output: the file, or the folders of a shared job. */
  name: string;
  files: string[];
  /** Expected seconds, only to order the jobs. */
  seconds: number;
}

/** Files that share one process: fast, and they load the same modules. */
const SHARED = ["tests/unit/", "tests/protocol/"];

/**
 * Seconds per process measured by a full run (2-core VM, 2026-12-07); a file not listed is taken
 * as a long one so it starts early. Stale figures only change the order, never what runs.
 */
const MEASURED_SECONDS: Readonly<Record<string, number>> = {
  "tests/e2e/ai-call.test.ts": 193,
  "tests/e2e/frame-sizes.test.ts": 141,
  "tests/e2e/offline-call.test.ts": 100,
  "tests/e2e/transfer.test.ts": 90,
  "tests/e2e/audiostream-call.test.ts": 89,
  "tests/e2e/keypad-transfer.test.ts": 65,
  "tests/e2e/limits.test.ts": 63,
  "tests/e2e/provider-faults.test.ts": 57,
  "tests/e2e/browser-call.test.ts": 49,
  "tests/e2e/console.test.ts": 35,
  "tests/e2e/appliance.test.ts": 14,
  "tests/e2e/storm.test.ts": 12,
  "tests/e2e/esl-gap.test.ts": 11,
  "tests/e2e/cold-cache.test.ts": 7,
  "tests/e2e/junk-connections.test.ts": 4,
  "tests/e2e/simulate-loopback.test.ts": 4,
  "tests/e2e/voice-change.test.ts": 4,
};
const SHARED_SECONDS = 93;
const UNKNOWN_SECONDS = 60;

/** The names `bun test` runs (its default patterns). */
const TEST_FILE = "**/*{.test,_test,.spec,_spec}.{ts,tsx,js,jsx}";
/** Folders `bun test` does not look in, or that hold no test of ours. */
const NOT_SEARCHED = new Set(["node_modules", "dist"]);

/** Every file a bare `bun test` in `root` would run, in a stable order. */
export async function testFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const pattern = new Bun.Glob(TEST_FILE);
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.isFile() && pattern.match(entry.name)) files.push(entry.name);
    if (!entry.isDirectory() || entry.name.startsWith(".") || NOT_SEARCHED.has(entry.name)) continue;
    for await (const file of pattern.scan({ cwd: join(root, entry.name) })) files.push(`${entry.name}/${file}`);
  }
  return files.sort();
}

/** One job for the shared folders, one per other file; the longest first. */
export function planJobs(files: readonly string[]): TestJob[] {
  const shared = files.filter((f) => SHARED.some((dir) => f.startsWith(dir)));
  const own = files.filter((f) => !shared.includes(f));
  const jobs: TestJob[] = own.map((f) => ({ name: f, files: [f], seconds: MEASURED_SECONDS[f] ?? UNKNOWN_SECONDS }));
  if (shared.length > 0) jobs.push({ name: `${SHARED.join(" and ")} (${shared.length} file${shared.length === 1 ? "" : "s"})`, files: shared, seconds: SHARED_SECONDS });
  return jobs.sort((a, b) => b.seconds - a.seconds || a.name.localeCompare(b.name));
}

/** TEST_JOBS: how many `bun test` processes at once (default 3: the e2e files mostly wait). */
export function jobCount(value: string | undefined): number {
  if (value === undefined || value === "") return 3;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 16)) throw new Error(`TEST_JOBS "${value}" is not allowed; give a whole number of processes from 1 to 16`);
  return n;
}
