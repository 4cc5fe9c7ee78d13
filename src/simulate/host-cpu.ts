/**
 * The whole host's CPU over a run, from /proc/stat: how busy every core was and how much time the
 * hypervisor stole. Bench figures on a shared VM mean little without the steal beside them.
 */
import { readFileSync } from "node:fs";

export interface HostCpuSample {
  busy: number;
  steal: number;
  total: number;
}

export interface HostCpuUse {
  /** Busy time (user, nice, system, irq, softirq) as a percent of every core's time. */
  busyPercent: number;
  /** Time stolen by the hypervisor, percent of every core's time. */
  stealPercent: number;
}

/** The aggregate `cpu` line of /proc/stat; null where there is none (not Linux). */
export function readHostCpu(text?: string): HostCpuSample | null {
  let stat = text;
  if (stat === undefined) {
    try {
      stat = readFileSync("/proc/stat", "utf8");
    } catch {
      return null;
    }
  }
  const m = /^cpu\s+(.*)$/m.exec(stat);
  if (!m) return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = (m[1] as string).trim().split(/\s+/).map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

/** Use between two samples; null when either is missing or no time passed. */
export function hostCpuUse(before: HostCpuSample | null, after: HostCpuSample | null): HostCpuUse | null {
  if (before === null || after === null) return null;
  const total = after.total - before.total;
  if (!(total > 0)) return null;
  const pct = (v: number): number => Math.round((v / total) * 1000) / 10;
  return { busyPercent: pct(after.busy - before.busy), stealPercent: pct(after.steal - before.steal) };
}
