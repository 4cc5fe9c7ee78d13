/**
 * Every process a test starts is gone when its `bun test` process ends, whatever the outcome: each
 * job runs with a marker in its environment, which every process it starts inherits (servers,
 * fakes, Chromium), and what still carries it afterwards is killed and named, so a leak is both
 * cleaned up and visible. /proc is read rather than a process group kept, because a spawned
 * server may start its own session.
 */
import { readdirSync, readFileSync } from "node:fs";

export const MARKER_VARIABLE = "VOICEBOT_TEST_JOB";

/** A marker for one job, unique to this run. */
export function newMarker(job: string): string {
  return `${process.pid}-${job.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

/** Processes (not this one) whose environment carries `marker`, with their command lines. */
function carrying(marker: string): { pid: number; command: string }[] {
  const wanted = `${MARKER_VARIABLE}=${marker}`;
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(wanted)) continue;
      found.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim() });
    } catch {
      // Gone meanwhile, or another user's: not ours either way.
    }
  }
  return found;
}

/** Kills what `marker`'s job left running; returns a line per process killed. */
export function killLeftovers(marker: string): string[] {
  const left = carrying(marker);
  for (const { pid } of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  return left.map(({ pid, command }) => `pid ${pid}: ${command.slice(0, 200)}`);
}
