/** The systemd units install writes, and the systemctl calls that go with them. */
import { existsSync, statSync } from "node:fs";
import recordingsServiceTemplate from "../../install/voicebot-recordings.service.tmpl" with { type: "text" };
import recordingsTimerTemplate from "../../install/voicebot-recordings.timer.tmpl" with { type: "text" };
import serviceTemplate from "../../install/voicebot.service.tmpl" with { type: "text" };
import { fillTemplate } from "./pbx-render.ts";
import { INSTALL_PATHS, RECORDINGS_SERVICE, RECORDINGS_TIMER, UNIT } from "./layout.ts";
import type { System } from "./system.ts";

export interface UnitOptions {
  binary: string;
  configFile: string;
  dataDir: string;
  /** How long live calls may go on after a stop (STOP_DRAIN_TIMEOUT). */
  drainSec: number;
  /** Set when the nftables backend is in use: the unit reloads our table at every start. */
  nftFile?: string;
}

/** Room beyond the drain for hanging up the last calls and flushing recordings. */
const STOP_MARGIN_SEC = 30;
const UNIT_SPEC = { mode: 0o644, owner: "root", group: "root" };

/** sd_booted(): systemd is PID 1 when /run/systemd/system is a directory (under the root: tests stage it). */
export function hasSystemd(sys: System): boolean {
  const path = sys.path("/run/systemd/system");
  return existsSync(path) && statSync(path).isDirectory();
}

export function renderUnits(o: UnitOptions): { name: string; text: string }[] {
  const values = {
    binary: o.binary,
    configFile: o.configFile,
    dataDir: o.dataDir,
    drainSec: String(o.drainSec),
    stopTimeoutSec: String(o.drainSec + STOP_MARGIN_SEC),
    nftBinary: "/usr/sbin/nft",
    nftFile: o.nftFile ?? "",
  };
  const nft = o.nftFile ? [{}] : [];
  return [
    { name: UNIT, text: fillTemplate(UNIT, serviceTemplate, values, { nft }) },
    { name: RECORDINGS_SERVICE, text: fillTemplate(RECORDINGS_SERVICE, recordingsServiceTemplate, values) },
    { name: RECORDINGS_TIMER, text: fillTemplate(RECORDINGS_TIMER, recordingsTimerTemplate, values) },
  ];
}

export function unitPaths(): string[] {
  return [UNIT, RECORDINGS_SERVICE, RECORDINGS_TIMER].map((name) => `${INSTALL_PATHS.unitDir}/${name}`);
}

/** True when any unit file changed (systemd must reload, and the service restart). */
export function writeUnits(sys: System, o: UnitOptions): boolean {
  let changed = false;
  for (const unit of renderUnits(o)) {
    if (sys.write(`${INSTALL_PATHS.unitDir}/${unit.name}`, unit.text, UNIT_SPEC)) changed = true;
  }
  return changed;
}

export function enableAndStart(sys: System, o: { restart: boolean }): void {
  systemctl(sys, ["daemon-reload"]);
  systemctl(sys, ["enable", "--now", UNIT, RECORDINGS_TIMER]);
  if (o.restart) systemctl(sys, ["restart", UNIT]);
}

export function stopAndDisable(sys: System): void {
  for (const unit of [RECORDINGS_TIMER, UNIT]) {
    const r = sys.run(["systemctl", "disable", "--now", unit]);
    if (r.code !== 0) sys.say(`warning: systemctl disable --now ${unit} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}

export function daemonReload(sys: System): void {
  systemctl(sys, ["daemon-reload"]);
}

export function restartService(sys: System): void {
  systemctl(sys, ["restart", UNIT]);
}

export function stopService(sys: System): void {
  systemctl(sys, ["stop", UNIT]);
}

export function serviceState(sys: System): { enabled: string; active: string } {
  const word = (args: string[]) => sys.run(["systemctl", ...args, UNIT], { probe: true }).stdout.trim().split("\n")[0] || "unknown";
  return { enabled: word(["is-enabled"]), active: word(["is-active"]) };
}

function systemctl(sys: System, args: string[]): void {
  const r = sys.run(["systemctl", ...args]);
  if (r.code !== 0) throw new Error(`systemctl ${args.join(" ")} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
}
