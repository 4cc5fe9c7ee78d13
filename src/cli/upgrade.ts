/** `voicebot upgrade ./new-binary`: atomic swap, migration, restart, rollback on a failed health check. */
import { resolve } from "node:path";
import { openDatabase, schemaVersion } from "../store/db.ts";
import { loadConfig } from "../config/load.ts";
import { createSystem } from "../install/system-host.ts";
import { upgrade, UpgradeError } from "../install/upgrade.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";

const USAGE = `Usage: sudo voicebot upgrade ./new-voicebot [--health-timeout S] [--allow-downgrade] [--root DIR] [--dry-run] [--json]

Replaces /usr/local/bin/voicebot with the given executable: checks it runs, backs up the database
(<data-dir>/backups, the newest 3 kept), swaps the binary atomically (the old one kept as
voicebot.previous), migrates the database with the new binary, restarts the service and waits for
/healthz. If the new one does not come up healthy, the previous binary and the database backup are
put back and the service restarted (exit 1).

Options:
  --health-timeout S   how long the restarted service has to answer /healthz (default 30)
  --allow-downgrade    accept an older version
  --root DIR           a staging root install wrote into
  --dry-run            print what it would do; change nothing
  --json               the outcome as JSON
  --help               this text`;

export const upgradeCommand: Command = {
  name: "upgrade",
  summary: "replace the installed binary: migrate, restart, roll back if unhealthy",
  async run(argv) {
    const parsed = parseCommandArgs(argv, {
      "health-timeout": { type: "string" },
      "allow-downgrade": { type: "boolean" },
      root: { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
      migrate: { type: "boolean" },
      "data-dir": { type: "string" },
      config: { type: "string" },
    }, USAGE, true);
    if (!parsed) return 0;
    const v = parsed.values;
    if (v.migrate) {
      // The new binary's half of an upgrade: opening the store as a writer applies its migrations.
      const config = loadConfig({ config: v.config, dataDir: v["data-dir"] });
      const db = openDatabase(config.dataDir);
      process.stdout.write(`database ${config.dataDir}: schema ${schemaVersion(db)}\n`);
      db.close();
      return 0;
    }
    const [file, ...rest] = parsed.positionals;
    if (file === undefined) throw new UsageError("give the new executable: voicebot upgrade ./voicebot (see --help)");
    if (rest.length > 0) throw new UsageError(`upgrade takes one executable, got also ${JSON.stringify(rest[0])}`);
    const seconds = v["health-timeout"] === undefined ? 30 : Number(v["health-timeout"]);
    if (!(seconds >= 1 && seconds <= 600)) throw new UsageError(`--health-timeout ${JSON.stringify(v["health-timeout"])}: give seconds from 1 to 600`);
    const root = v.root !== undefined ? resolve(v.root) : "/";
    const dryRun = v["dry-run"] === true;
    if (root === "/" && !dryRun && process.getuid?.() !== 0) {
      process.stderr.write("voicebot upgrade: run it with sudo (or see what it would do with --dry-run)\n");
      return 1;
    }
    const sys = createSystem({ root, dryRun, say: (line) => process.stderr.write(`${line}\n`) });
    try {
      const report = await upgrade(sys, { newBinary: resolve(file), healthTimeoutMs: seconds * 1000, allowDowngrade: v["allow-downgrade"] === true });
      if (v.json) printJson(report);
      else process.stdout.write(`${report.outcome}: ${report.from ?? "none"} → ${report.to}${report.reason ? ` (${report.reason})` : ""}\n`);
      return report.outcome === "rolled back" ? 1 : 0;
    } catch (err) {
      if (!(err instanceof UpgradeError)) throw err;
      process.stderr.write(`voicebot upgrade: ${err.message}\n`);
      return 1;
    }
  },
};
