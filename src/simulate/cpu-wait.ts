/**
 * How long an event loop's thread was ready to run but waited for a core, from the kernel's
 * schedstat. On a host the bench shares with the server, a late frame comes as often from a thread
 * kept off the CPU (the two event loops, the JIT's and the recorder's threads, the kernel's network
 * work all want the same two cores) as from a thread with too much to do: only this tells them apart.
 */
import { readFileSync } from "node:fs";

export interface ThreadSched {
  /** Time on a CPU, and time runnable but waiting for one, since the thread started. */
  runMs: number;
  waitMs: number;
}

export interface CpuWait {
  waitMs: number;
  /** Of the wall-clock time between the two samples. */
  waitPercent: number;
}

/** `/proc/<pid>/task/<tid>/schedstat`: "<run ns> <wait ns> <timeslices>"; null when it is not that. */
export function parseSchedstat(text: string): ThreadSched | null {
  const m = /^(\d+) (\d+) \d+\s*$/.exec(text);
  if (!m) return null;
  return { runMs: Number(m[1]) / 1e6, waitMs: Number(m[2]) / 1e6 };
}

/** A process's main thread (its event loop); null where the kernel does not keep schedstats or it is gone. */
export function readMainThreadSched(pid: number): ThreadSched | null {
  try {
    return parseSchedstat(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8"));
  } catch {
    return null;
  }
}

/** The waiting between two samples taken `wallMs` apart; null when either is missing. */
export function cpuWaitBetween(before: ThreadSched | null, after: ThreadSched | null, wallMs: number): CpuWait | null {
  if (before === null || after === null || !(wallMs > 0)) return null;
  const waitMs = Math.max(0, after.waitMs - before.waitMs);
  return { waitMs: Math.round(waitMs), waitPercent: Math.round((waitMs / wallMs) * 1000) / 10 };
}

/** One thread's wait over a whole run, and over its first part (null when the run was shorter). */
export interface RunWait {
  run: CpuWait | null;
  head: CpuWait | null;
}

/** Samples one thread at the run's start, `headMs` into it, and at its end: the storm's first seconds and the whole run. */
export class CpuWaitWatch {
  private readonly start: ThreadSched | null;
  private readonly startedAt = performance.now();
  private head: CpuWait | null = null;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly pid: number,
    headMs: number,
  ) {
    this.start = readMainThreadSched(pid);
    this.timer = setTimeout(() => (this.head = cpuWaitBetween(this.start, readMainThreadSched(pid), performance.now() - this.startedAt)), headMs);
  }

  stop(): RunWait {
    clearTimeout(this.timer);
    return { run: cpuWaitBetween(this.start, readMainThreadSched(this.pid), performance.now() - this.startedAt), head: this.head };
  }
}
