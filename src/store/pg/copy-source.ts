/**
 * The SQLite side of `voicebot store copy`: an appliance's voicebot.db opened read only (safe while
 * its serve keeps writing), read a chunk of calls at a time with everything that hangs off them.
 * The whole copy reads one snapshot (see snapshot()), so a call is read as it stood at one instant,
 * with all its rows of that instant, whatever serve writes meanwhile.
 */
import { Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";
import { databasePath, schemaVersion } from "../db.ts";
import { MIGRATIONS } from "../migrations.ts";

export const COPIED_TABLES = ["calls", "turns", "events", "tickets", "ticket_changes"] as const;
export type CopiedTable = (typeof COPIED_TABLES)[number];

/** A source row: column name → value, as bun:sqlite returns it. */
export type SourceRow = Record<string, string | number | null>;

/** The largest id of each table in the snapshot (0 for an empty table): how far a copy keeping ids moves the sequences. */
export type IdCaps = Record<CopiedTable, number>;

/** A run of calls (ids after `after`, up to the chunk's last) with their turns, events, tickets and ticket changes. */
export interface SourceChunk {
  calls: SourceRow[];
  /**
   * Per call, 1 + how many calls before it share its (uuid, started_at, node_id): a dialplan that
   * hard-codes the UUID may start two calls in one millisecond, and the second is not the first's copy.
   */
  ranks: number[];
  turns: SourceRow[];
  events: SourceRow[];
  tickets: SourceRow[];
  changes: SourceRow[];
}

export interface CopySource {
  readonly db: Database;
  /** The database file, as messages name it. */
  readonly path: string;
  close(): void;
}

/** PATH may be the database file or the data dir holding voicebot.db; it must be at this voicebot's schema. */
export function openCopySource(pathOrDir: string): CopySource {
  const path = existsSync(pathOrDir) && statSync(pathOrDir).isDirectory() ? databasePath(pathOrDir) : pathOrDir;
  if (!existsSync(path)) throw new Error(`no voicebot database at ${path}: give sqlite: the data dir or its voicebot.db`);
  let db: Database;
  try {
    db = new Database(path, { readonly: true, strict: true });
  } catch (err) {
    throw new Error(`cannot open ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    db.run("PRAGMA busy_timeout = 5000");
    checkVersion(schemaVersion(db), path);
  } catch (err) {
    db.close();
    throw err instanceof Error && err.message.includes(path) ? err : new Error(`cannot read ${path} as a voicebot database: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { db, path, close: () => db.close() };
}

function checkVersion(version: number, path: string): void {
  const latest = MIGRATIONS.length;
  if (version < latest) {
    throw new Error(`the database at ${path} has schema version ${version}, this voicebot copies version ${latest}: start \`voicebot serve\` once with this data dir to upgrade it (or check that it is a voicebot database)`);
  }
  if (version > latest) {
    throw new Error(`the database at ${path} has schema version ${version}, newer than this voicebot knows (${latest}): run the copy with the voicebot that wrote it`);
  }
}

export function sourceIdCaps(db: Database): IdCaps {
  const caps = {} as IdCaps;
  for (const table of COPIED_TABLES) {
    caps[table] = db.query<{ m: number | null }, []>(`SELECT MAX(id) AS m FROM ${table}`).get()?.m ?? 0;
  }
  return caps;
}

export function countSourceCalls(db: Database): number {
  return db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM calls").get()?.n ?? 0;
}

/**
 * Runs `read` inside one read transaction: in WAL mode it sees the database as of its first read
 * while serve goes on writing (a WAL checkpoint then waits for it to end, so the WAL grows a little
 * for the copy's length).
 */
export async function snapshot<T>(db: Database, read: () => Promise<T>): Promise<T> {
  db.run("BEGIN");
  try {
    return await read();
  } finally {
    db.run("COMMIT");
  }
}

/** Up to `limit` calls after id `after`, with their rows (read within snapshot()). */
export function readCallChunk(db: Database, after: number, limit: number): SourceChunk {
  const calls = db.query<SourceRow, [number, number]>("SELECT * FROM calls WHERE id > ? ORDER BY id LIMIT ?").all(after, limit);
  const last = calls.at(-1)?.id;
  if (last === undefined) return { calls, ranks: [], turns: [], events: [], tickets: [], changes: [] };
  const before = db.query<{ n: number }, [string | number | null, string | number | null, string | number | null, string | number | null]>(
    "SELECT COUNT(*) AS n FROM calls WHERE uuid = ? AND started_at = ? AND node_id IS ? AND id < ?");
  const upTo = Number(last);
  const of = (table: "turns" | "events" | "tickets"): SourceRow[] =>
    db.query<SourceRow, [number, number]>(`SELECT * FROM ${table} WHERE call_id > ? AND call_id <= ? ORDER BY id`).all(after, upTo);
  return {
    calls,
    ranks: calls.map((c) => 1 + (before.get(c.uuid ?? null, c.started_at ?? null, c.node_id ?? null, c.id ?? null)?.n ?? 0)),
    turns: of("turns"),
    events: of("events"),
    tickets: of("tickets"),
    changes: db.query<SourceRow, [number, number]>(`SELECT * FROM ticket_changes WHERE ticket_id IN
      (SELECT id FROM tickets WHERE call_id > ? AND call_id <= ?) ORDER BY id`).all(after, upTo),
  };
}

/** Events of no call (a refused connection, a start-up fault): up to `limit` after id `after`. */
export function readServerEvents(db: Database, after: number, limit: number): SourceRow[] {
  return db.query<SourceRow, [number, number]>("SELECT * FROM events WHERE call_id IS NULL AND id > ? ORDER BY id LIMIT ?").all(after, limit);
}

/** For resuming a copy that kept ids: the source call with that id, to tell it is the same call. */
export function sourceCallById(db: Database, id: number): SourceRow | null {
  return db.query<SourceRow, [number]>("SELECT id, uuid, started_at, node_id FROM calls WHERE id = ?").get(id);
}
