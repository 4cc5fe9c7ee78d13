import { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS, type Migration } from "./migrations.ts";

export const DATABASE_FILE = "voicebot.db";

export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE);
}

/**
 * Opens <dataDir>/voicebot.db. The writer (serve) creates it, turns WAL on and applies pending
 * migrations; readers (the CLI, while serve runs) never write, so they need an up-to-date file.
 */
export function openDatabase(dataDir: string, options: { readonly?: boolean } = {}, migrations: readonly Migration[] = MIGRATIONS): Database {
  const path = databasePath(dataDir);
  const latest = checkOrder(migrations);
  if (options.readonly) {
    if (!existsSync(path)) throw new Error(`no database at ${path}: has \`voicebot serve\` run with this data dir?`);
    const db = new Database(path, { readonly: true, strict: true });
    try {
      db.run("PRAGMA busy_timeout = 5000");
      const version = schemaVersion(db);
      if (version < latest) {
        throw new Error(`database at ${path} has schema version ${version}, this voicebot reads version ${latest}: start \`voicebot serve\` once with this data dir to upgrade it`);
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return db;
  }

  mkdirSync(dataDir, { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (mode !== "wal") throw new Error(`database at ${path} cannot use WAL mode (got journal_mode=${mode}): put the data dir on a local filesystem`);
    // NORMAL in WAL mode: a commit survives a process crash; only an OS crash may lose the last ones.
    db.run("PRAGMA synchronous = NORMAL");
    db.run("PRAGMA foreign_keys = ON");
    migrate(db, path, migrations, latest);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function checkOrder(migrations: readonly Migration[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration #${i} has version ${m.version}; versions must be 1, 2, 3, … in order`);
  });
  return migrations.length;
}

export function schemaVersion(db: Database): number {
  const table = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return 0;
  return db.query<{ v: number | null }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()?.v ?? 0;
}

function migrate(db: Database, path: string, migrations: readonly Migration[], latest: number): void {
  db.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const record = db.prepare<void, { version: number; at: number }>("INSERT INTO schema_migrations (version, applied_at) VALUES ($version, $at)");
  for (const m of migrations) {
    // IMMEDIATE and a re-read inside: two processes starting at once apply each step exactly once.
    db.transaction(() => {
      const current = schemaVersion(db);
      if (current > latest) {
        throw new Error(`database at ${path} has schema version ${current}, newer than this voicebot knows (${latest}): run a newer voicebot`);
      }
      if (m.version <= current) return;
      db.run(m.sql);
      record.run({ version: m.version, at: Date.now() });
    }).immediate();
  }
  record.finalize();
}

/** SQLite says only "FOREIGN KEY constraint failed"; the caller deserves to know which call. */
export function explainWriteError(err: unknown, callId: number | null): unknown {
  if (err instanceof Error && err.message.includes("FOREIGN KEY")) return new Error(`no call with id ${callId} in the store`);
  return err;
}
