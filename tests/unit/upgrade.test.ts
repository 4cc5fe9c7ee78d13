import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, schemaVersion } from "../../src/store/db.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { createSystem } from "../../src/install/system-host.ts";
import { upgrade, UpgradeError } from "../../src/install/upgrade.ts";
import { createStandins } from "../support/standins.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** An installed voicebot in a staging root whose service never answers /healthz (port 1). */
function installed(): { root: string; dataDir: string; binary: string; say: string[]; sys: ReturnType<typeof createSystem> } {
  const root = mkdtempSync(join(tmpdir(), "voicebot-upgrade-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const s = createStandins();
  cleanups.push(() => s.cleanup());
  mkdirSync(join(root, "run/systemd/system"), { recursive: true });
  mkdirSync(join(root, "etc/voicebot"), { recursive: true });
  mkdirSync(join(root, "usr/local/bin"), { recursive: true });
  writeFileSync(join(root, "etc/voicebot/voicebot.env"), "HTTP_PORT=1\n");
  const binary = join(root, "usr/local/bin/voicebot");
  writeFileSync(binary, `#!/bin/sh\n[ "$1" = version ] && echo '{"version":"0.1.0"}'\nexit 0\n`, { mode: 0o755 });
  const dataDir = join(root, "var/lib/voicebot");
  openDatabase(dataDir).close();
  const say: string[] = [];
  return { root, dataDir, binary, say, sys: createSystem({ root, dryRun: false, say: (l) => say.push(l), env: s.env }) };
}

/** A new binary whose migration step runs `migration` (shell) and whose service never comes up. */
function newBinary(root: string, version: string, migration: string): string {
  const path = join(root, `voicebot-${version}`);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = version ]; then echo '{"version":"${version}"}'; exit 0; fi\nif [ "$1" = upgrade ]; then ${migration}; exit $?; fi\nexit 1\n`, { mode: 0o755 });
  return path;
}

function schema(dataDir: string): number {
  const db = new Database(join(dataDir, "voicebot.db"), { readonly: true });
  try {
    return schemaVersion(db);
  } finally {
    db.close();
  }
}

describe("voicebot upgrade", () => {
  test("unhealthy after a migration: the binary and the database both go back", async () => {
    const t = installed();
    const before = readFileSync(t.binary, "utf8");
    const migrate = `${process.execPath} -e 'const {Database}=require("bun:sqlite");const d=new Database("${join(t.dataDir, "voicebot.db")}");d.run("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");d.close()'`;
    const report = await upgrade(t.sys, { newBinary: newBinary(t.root, "0.2.0", migrate), healthTimeoutMs: 1000, allowDowngrade: false });
    expect(report.outcome).toBe("rolled back");
    expect(report.reason).toContain("no healthy /healthz");
    expect(readFileSync(t.binary, "utf8")).toBe(before);
    expect(schema(t.dataDir)).toBe(MIGRATIONS.length);
    expect(t.say.join("\n")).toContain("database restored from");
  }, 20_000);

  test("a failed migration rolls back before any restart; an untouched database is not restored", async () => {
    const t = installed();
    const report = await upgrade(t.sys, { newBinary: newBinary(t.root, "0.2.0", "echo 'no such column' >&2; false"), healthTimeoutMs: 1000, allowDowngrade: false });
    expect(report.outcome).toBe("rolled back");
    expect(report.reason).toContain("no such column");
    expect(t.say.join("\n")).not.toContain("database restored");
  }, 20_000);

  test("an older version is refused unless asked; a file that is not voicebot is refused; nothing changes", async () => {
    const t = installed();
    const before = readFileSync(t.binary, "utf8");
    await expect(upgrade(t.sys, { newBinary: newBinary(t.root, "0.0.9", "true"), healthTimeoutMs: 1000, allowDowngrade: false })).rejects.toThrow(/older than the installed 0\.1\.0/);
    const junk = join(t.root, "junk");
    writeFileSync(junk, "not a program", { mode: 0o755 });
    await expect(upgrade(t.sys, { newBinary: junk, healthTimeoutMs: 1000, allowDowngrade: false })).rejects.toBeInstanceOf(UpgradeError);
    expect(readFileSync(t.binary, "utf8")).toBe(before);
  }, 20_000);
});
