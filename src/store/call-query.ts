import type { Database } from "bun:sqlite";
import { SUMMARY, toSummary, type CallRow, type CallSummary } from "./calls.ts";

/** What the console's history filters by; every field optional, all given ones must match. */
export interface CallFilter {
  /** started_at ≥ from, < to (epoch ms). */
  from?: number;
  to?: number;
  tenant?: string;
  /** Exact caller number as stored. */
  caller?: string;
  endReason?: string;
  ticketStatus?: string;
  /** Words said by the caller or the bot (FTS5 query terms; each word must appear in one turn). */
  text?: string;
}

/** Keyset position: the last row of the previous page. Stable while new calls arrive. */
export interface CallCursor {
  startedAt: number;
  id: number;
}

export interface CallPage {
  calls: CallSummary[];
  /** Give it back to get the next page; null on the last. */
  next: CallCursor | null;
}

type Param = string | number;

/** Matching turns read per step, newest first, when a search looks for its newest calls. */
const TURN_CHUNK = 4000;
const MAX_CHUNKS = 4;
/**
 * How much later than its insertion a turn's start may be stamped (a caller turn is stored when its
 * final transcript comes, stamped when the speech began): the slack that keeps the shortcut exact.
 */
const STAMP_SLACK_MS = 10 * 60_000;
/** Longer than any call lasts (MAX_CALL_DURATION is at most 24 h): a call started before T stores no turn after T plus this. */
const LONGEST_CALL_MS = 25 * 3_600_000;

/**
 * Newest first, `limit` calls after `after`. The SQL is built from the filters given, so each
 * shape uses its own index (tenant, caller, end reason, or the date order alone); bun:sqlite
 * caches each shape's prepared statement.
 */
export function pageCalls(db: Database, filter: CallFilter, limit: number, after: CallCursor | null): CallPage {
  const { where, params } = conditions(filter, after);
  if (filter.text !== undefined) {
    const query = ftsQuery(filter.text);
    const newest = filter.caller !== undefined ? null : newestMatching(db, query, where, params, limit, after === null ? Number.MAX_SAFE_INTEGER : turnsAfter(db, after.startedAt));
    if (newest !== null) return newest;
    // A caller number leaves a handful of calls: each one's turns are looked up in the index, rather
    // than every matching turn read to see which calls they belong to.
    where.push(filter.caller !== undefined
      ? "EXISTS (SELECT 1 FROM turns tu WHERE tu.call_id = c.id AND EXISTS (SELECT 1 FROM turns_fts WHERE turns_fts MATCH ? AND rowid = tu.id))"
      : "c.id IN (SELECT call_id FROM turns WHERE id IN (SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?))");
    params.push(query);
  }
  return page(db, where, params, limit);
}

function conditions(filter: CallFilter, after: CallCursor | null): { where: string[]; params: Param[] } {
  const where: string[] = [];
  const params: Param[] = [];
  if (filter.from !== undefined) where.push("c.started_at >= ?"), params.push(filter.from);
  if (filter.to !== undefined) where.push("c.started_at < ?"), params.push(filter.to);
  if (filter.tenant !== undefined) where.push("c.tenant = ?"), params.push(filter.tenant);
  if (filter.caller !== undefined) where.push("c.caller = ?"), params.push(filter.caller);
  if (filter.endReason !== undefined) where.push("c.end_reason = ?"), params.push(filter.endReason);
  if (filter.ticketStatus !== undefined) where.push("t.status = ?"), params.push(filter.ticketStatus);
  if (after !== null) {
    where.push("(c.started_at < ? OR (c.started_at = ? AND c.id < ?))");
    params.push(after.startedAt, after.startedAt, after.id);
  }
  return { where, params };
}

function page(db: Database, where: readonly string[], params: readonly Param[], limit: number): CallPage {
  const sql = `${SUMMARY} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY c.started_at DESC, c.id DESC LIMIT ?`;
  const rows = db.query<CallRow, Param[]>(sql).all(...params, limit + 1);
  const calls = rows.slice(0, limit).map(toSummary);
  const last = calls.at(-1);
  return { calls, next: rows.length > limit && last ? { startedAt: last.startedAt, id: last.id } : null };
}

/**
 * The first page of a search without reading every match: a word said in a third of all turns
 * ("box", at an internet provider's desk) matches 100,000s of them. Turns are stored in time
 * order, so the newest matching turns (FTS5 reads them newest first) belong to the newest calls:
 * a call none of whose turns was read started before the oldest turn read (give or take the
 * stamping slack). When enough calls started after that point the page is exact; else null, and
 * the full search runs. A later page starts reading below the turns stored after the calls it
 * follows could have ended.
 */
function newestMatching(db: Database, query: string, where: readonly string[], params: readonly Param[], limit: number, startBelow: number): CallPage | null {
  const ids = new Set<number>();
  let below = startBelow;
  for (let chunk = 0; chunk < MAX_CHUNKS; chunk++) {
    const turns = db.query<{ rid: number; callId: number; at: number }, [string, number, number]>(
      "SELECT f.rowid AS rid, t.call_id AS callId, t.started_at AS at FROM turns_fts f JOIN turns t ON t.id = f.rowid WHERE turns_fts MATCH ? AND f.rowid < ? ORDER BY f.rowid DESC LIMIT ?",
    ).all(query, below, TURN_CHUNK);
    for (const turn of turns) ids.add(turn.callId);
    const oldest = turns.at(-1);
    const complete = turns.length < TURN_CHUNK;
    if (oldest === undefined) return { calls: [], next: null };
    below = oldest.rid;
    const found = page(db, [...where, "c.id IN (SELECT value FROM json_each(?))"], [...params, JSON.stringify([...ids])], limit);
    if (complete) return found;
    const safeAfter = oldest.at + STAMP_SLACK_MS;
    const settled = found.calls.filter((c) => c.startedAt > safeAfter).length;
    if (settled >= limit && found.next !== null) return found;
  }
  return null;
}

/** The first turn id stored after every call started before `startedAt` had ended (no limit when none is). */
function turnsAfter(db: Database, startedAt: number): number {
  const row = db.query<{ id: number | null }, [number]>(
    "SELECT MIN(id) AS id FROM turns WHERE call_id = (SELECT id FROM calls WHERE started_at > ? ORDER BY started_at LIMIT 1)",
  ).get(startedAt + LONGEST_CALL_MS);
  return row?.id ?? Number.MAX_SAFE_INTEGER;
}

/**
 * A person's words, not FTS5 syntax: each word becomes a quoted prefix term, so "box HS" finds
 * "ma box est hors service" and no quote or operator typed in the search box is an error.
 */
export function ftsQuery(text: string): string {
  const words = text.match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) return '""';
  return words.slice(0, 16).map((w) => `"${w}"*`).join(" ");
}
