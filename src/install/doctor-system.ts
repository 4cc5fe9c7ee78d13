/** The host: OS, cores, memory, disk where the data lives, and the clock. */
import { readFileSync, statfsSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname } from "node:path";
import type { Check, DoctorContext } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";
import { INSTALL_PATHS } from "./layout.ts";

const GiB = 1024 ** 3;

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function rooted(ctx: DoctorContext, path: string): string {
  return ctx.root === "/" ? path : ctx.root + path;
}

export const osCheck: Check = {
  id: "os",
  async run(ctx) {
    const text = readText(rooted(ctx, "/etc/os-release")) ?? "";
    const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, "m").exec(text)?.[1] ?? "";
    const name = field("PRETTY_NAME") || "unknown OS";
    const detail = `${name}, ${process.arch}`;
    if (field("ID") === "debian" && ["12", "13"].includes(field("VERSION_ID"))) return pass("os", detail);
    return warn("os", `${detail}: voicebot is made and tested for Debian 12 and 13`, "it may work; if something misbehaves, try it on Debian 12 or 13");
  },
};

const coresCheck: Check = {
  id: "cores",
  async run() {
    const n = availableParallelism();
    if (n < 2) return fail("cores", `${n} CPU core`, "give the VM at least 2 cores (4 for 20 calls with cloud voices)");
    if (n < 4) return warn("cores", `${n} CPU cores`, "4 cores are the sizing for 20 concurrent calls; fewer calls are fine on 2");
    return pass("cores", `${n} CPU cores`);
  },
};

const ramCheck: Check = {
  id: "ram",
  async run() {
    const total = totalmem();
    const detail = `${(total / GiB).toFixed(1)} GiB RAM`;
    if (total < 1 * GiB) return fail("ram", detail, "give the VM at least 1 GiB of memory (2 GiB recommended)");
    if (total < 1.9 * GiB) return warn("ram", detail, "2 GiB are recommended: each call holds its audio buffers and a resampler");
    return pass("ram", detail);
  },
};

const diskCheck: Check = {
  id: "disk",
  async run(ctx) {
    let dir = ctx.config?.dataDir ?? rooted(ctx, INSTALL_PATHS.dataDir);
    for (;;) {
      try {
        const st = statfsSync(dir);
        const free = st.bavail * st.bsize;
        const detail = `${(free / GiB).toFixed(1)} GiB free at ${dir}`;
        if (free < 1 * GiB) return fail("disk", detail, "free some space: recordings need about 1 MB per call minute raw, 0.25 MB as MP3 (`voicebot recordings convert --delete-raw`)");
        if (free < 5 * GiB) return warn("disk", detail, "under 5 GiB free: set RECORDINGS_RETENTION_DAYS or grow the disk");
        return pass("disk", detail);
      } catch {
        const up = dirname(dir);
        if (up === dir) return fail("disk", `cannot read the free space of ${dir}`, "check that the data dir's file system is mounted");
        dir = up;
      }
    }
  },
};

const clockCheck: Check = {
  id: "clock",
  async run(ctx) {
    const run = (argv: string[]): { code: number; out: string } | null => {
      try {
        const p = Bun.spawnSync(argv, { env: ctx.env as Record<string, string>, stdout: "pipe", stderr: "pipe" });
        return { code: p.exitCode ?? 1, out: p.stdout.toString().trim() };
      } catch {
        return null;
      }
    };
    const timedatectl = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"]);
    if (timedatectl && timedatectl.code === 0 && (timedatectl.out === "yes" || timedatectl.out === "no")) {
      return timedatectl.out === "yes"
        ? pass("clock", "synchronised (systemd-timesyncd / NTP)")
        : fail("clock", "not synchronised: call times, TECH_HOURS and TLS to the providers need a right clock", "sudo timedatectl set-ntp true (or install chrony)");
    }
    if (readText(rooted(ctx, "/run/systemd/timesync/synchronized")) !== null) return pass("clock", "synchronised (systemd-timesyncd)");
    const chrony = run(["chronyc", "tracking"]);
    if (chrony && chrony.code === 0) {
      return /Leap status\s*:\s*Normal/.test(chrony.out)
        ? pass("clock", "synchronised (chrony)")
        : fail("clock", "chrony is not synchronised", "check `chronyc sources`: the NTP servers must be reachable (UDP 123)");
    }
    return warn("clock", "cannot tell whether the clock is synchronised (no timedatectl, timesyncd or chrony answer)", "sudo apt install systemd-timesyncd (or chrony)");
  },
};

export function systemChecks(): Check[] {
  return [osCheck, coresCheck, ramCheck, diskCheck, clockCheck];
}
