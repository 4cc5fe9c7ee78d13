/**
 * Applying PG_MIGRATIONS. Each step runs in its own transaction with its schema_migrations row,
 * after taking a transaction-level advisory lock: two appliances starting at once queue on the
 * lock, and the second re-reads the version inside it, so every step is applied exactly once.
 */
import type { SQL } from "bun";
import type { Migration } from "../migrations.ts";
import { PG_MIGRATIONS } from "./migrations.ts";
import { connectPg, explainPgError, PgStoreError, type PgConnectOptions, type PgTarget } from "./connect.ts";

/** The key of voicebot's advisory lock ("vbot" in ASCII): other applications sharing the server pick their own. */
export const SCHEMA_LOCK_KEY = 0x76626f74;

const CREATE_VERSIONS = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";

/** The newest version applied; 0 on an empty database. */
export async function pgSchemaVersion(sql: SQL): Promise<number> {
  const [table] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (table?.present !== true) return 0;
  const [row] = await sql`SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations`;
  return Number(row?.v ?? 0);
}

/** Applies the pending steps (the writer, serve, at start-up); returns the version reached. */
export async function migratePg(sql: SQL, target: PgTarget, migrations: readonly Migration[] = PG_MIGRATIONS): Promise<number> {
  const latest = migrations.length;
  for (const m of migrations) {
    await sql.begin(async (tx) => {
      await tx.unsafe(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY})`);
      await tx.unsafe(CREATE_VERSIONS);
      const current = await pgSchemaVersion(tx);
      if (current > latest) throw newerThanKnown(target, current, latest);
      if (m.version <= current) return;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, applied_at) VALUES (${m.version}, ${Date.now()})`;
    });
  }
  return pgSchemaVersion(sql);
}

/** For readers (the CLI, doctor): the schema must be exactly the one this voicebot knows. */
export async function checkPgSchema(sql: SQL, target: PgTarget, latest: number = PG_MIGRATIONS.length): Promise<number> {
  const version = await pgSchemaVersion(sql);
  if (version > latest) throw newerThanKnown(target, version, latest);
  if (version < latest) {
    throw new PgStoreError("other", `PostgreSQL at ${target.shown} has schema version ${version}, this voicebot reads version ${latest}: start \`voicebot serve\` once with this STORE_URL to upgrade it`);
  }
  return version;
}

function newerThanKnown(target: PgTarget, version: number, latest: number): PgStoreError {
  return new PgStoreError("other", `PostgreSQL at ${target.shown} has schema version ${version}, newer than this voicebot knows (${latest}): upgrade voicebot on this appliance`);
}

/** A pool for a reader (the CLI, recordings convert): connected, at exactly the schema this voicebot reads. */
export async function connectCheckedPg(target: PgTarget, options: PgConnectOptions = {}): Promise<SQL> {
  const sql = await connectPg(target, options);
  try {
    await checkPgSchema(sql, target);
  } catch (err) {
    await sql.close();
    throw explainPgError(err, target);
  }
  return sql;
}
