/**
 * `voicebot upgrade ./new-binary`: swap the executable atomically, migrate the database, restart,
 * and put everything back (binary and database) when the new one does not come up healthy.
 */
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { databasePath, schemaVersion } from "../store/db.ts";
import { installBinary, restorePreviousBinary } from "./binary.ts";
import { waitForHealth } from "./health.ts";
import { INSTALL_PATHS, SERVICE_USER } from "./layout.ts";
import type { System } from "./system.ts";
import { hasSystemd, restartService, stopService } from "./systemd.ts";

export class UpgradeError extends Error {
  override name = "UpgradeError";
}

export interface UpgradeOptions {
  newBinary: string;
  healthTimeoutMs: number;
  allowDowngrade: boolean;
}

export interface UpgradeReport {
  from: string | null;
  to: string;
  backup: string | null;
  outcome: "upgraded" | "unchanged" | "rolled back" | "swapped (restart by hand)";
  reason?: string;
}

const BACKUPS_KEPT = 3;

/** `<binary> version --json`'s version, or null when the file is not a voicebot that runs here. */
function binaryVersion(sys: System, path: string): string | null {
  const r = sys.run([path, "version", "--json"], { probe: true });
  if (r.code !== 0) return null;
  try {
    const v = (JSON.parse(r.stdout) as { version?: unknown }).version;
    return typeof v === "string" ? v : null;
  } catch {
    return null;
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number(x) || 0);
  const pb = b.split(/[.-]/).map((x) => Number(x) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** A consistent copy of the database (VACUUM INTO works while serve writes), the newest 3 kept. */
function backupDatabase(config: Config, label: string): string | null {
  const path = databasePath(config.dataDir);
  if (!existsSync(path)) return null;
  const dir = join(config.dataDir, "backups");
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const target = join(dir, `voicebot-${label}-${new Date().toISOString().replace(/[:.]/g, "-")}.db`);
  const db = new Database(path);
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run("VACUUM INTO ?", [target]);
  } finally {
    db.close();
  }
  const old = readdirSync(dir).filter((f) => f.startsWith("voicebot-") && f.endsWith(".db")).sort();
  for (const f of old.slice(0, Math.max(0, old.length - BACKUPS_KEPT))) rmSync(join(dir, f), { force: true });
  return target;
}

/** The schema version of the data dir's database, or null when there is none. */
function databaseSchema(config: Config): number | null {
  const path = databasePath(config.dataDir);
  if (!existsSync(path)) return null;
  const db = new Database(path, { readonly: true });
  try {
    return schemaVersion(db);
  } finally {
    db.close();
  }
}

function restoreDatabase(config: Config, backup: string): void {
  const path = databasePath(config.dataDir);
  for (const suffix of ["-wal", "-shm"]) rmSync(path + suffix, { force: true });
  copyFileSync(backup, path);
}

export async function upgrade(sys: System, o: UpgradeOptions): Promise<UpgradeReport> {
  const to = binaryVersion(sys, o.newBinary);
  if (to === null) throw new UpgradeError(`${o.newBinary} is not a voicebot executable that runs here (\`${o.newBinary} version --json\` failed): nothing was changed`);
  const installed = sys.path(INSTALL_PATHS.binary);
  const from = existsSync(installed) ? binaryVersion(sys, installed) : null;
  if (from !== null && compareVersions(to, from) < 0 && !o.allowDowngrade) {
    throw new UpgradeError(`${o.newBinary} is voicebot ${to}, older than the installed ${from}: nothing was changed (--allow-downgrade to go back anyway)`);
  }
  const config = loadConfig({ config: sys.path(INSTALL_PATHS.envFile), dataDir: sys.path(INSTALL_PATHS.dataDir) }, {});
  if (sys.dryRun) {
    installBinary(sys, o.newBinary);
    return { from, to, backup: null, outcome: "upgraded" };
  }
  const schemaBefore = databaseSchema(config);
  const backup = backupDatabase(config, from ?? "unknown");
  if (backup) sys.say(`database backed up to ${backup}`);
  const swap = installBinary(sys, o.newBinary);
  if (!swap.changed) return { from, to, backup, outcome: "unchanged" };
  sys.say(`binary: ${from ?? "none"} → ${to} (the previous one kept as ${INSTALL_PATHS.previousBinary})`);

  const rollback = async (reason: string): Promise<UpgradeReport> => {
    sys.say(`upgrade failed: ${reason}; rolling back`);
    const systemd = hasSystemd(sys);
    if (systemd) stopService(sys);
    restorePreviousBinary(sys);
    // Only a migrated database goes back: the backup lacks the calls taken since, so it is used
    // when the old binary could not read the new schema, and not otherwise.
    if (backup && databaseSchema(config) !== schemaBefore) {
      restoreDatabase(config, backup);
      sys.say(`database restored from ${backup}`);
    }
    if (systemd) {
      restartService(sys);
      const back = await waitForHealth(config, o.healthTimeoutMs);
      sys.say(back ? `voicebot ${back.version ?? from} is running again` : "the previous voicebot did not come back either: see journalctl -u voicebot -n 50");
    }
    return { from, to, backup, outcome: "rolled back", reason };
  };

  const asService = sys.root === "/" && process.getuid?.() === 0 ? ["runuser", "-u", SERVICE_USER, "--"] : [];
  const migrated = sys.run([...asService, installed, "upgrade", "--migrate", "--data-dir", config.dataDir]);
  if (migrated.code !== 0) return rollback(`the database migration failed: ${(migrated.stderr || migrated.stdout).trim()}`);
  sys.say(migrated.stdout.trim());

  if (!hasSystemd(sys)) return { from, to, backup, outcome: "swapped (restart by hand)" };
  try {
    restartService(sys);
  } catch (err) {
    return rollback(err instanceof Error ? err.message : String(err));
  }
  const health = await waitForHealth(config, o.healthTimeoutMs);
  if (!health) return rollback(`no healthy /healthz within ${Math.round(o.healthTimeoutMs / 1000)} s`);
  if (health.version !== undefined && health.version !== to) return rollback(`the service reports version ${health.version}, not ${to}`);
  return { from, to, backup, outcome: "upgraded" };
}
