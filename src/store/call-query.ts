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

/**
 * Newest first, `limit` calls after `after`. The SQL is built from the filters given, so each
 * shape uses its own index (tenant, caller, end reason, or the date order alone); bun:sqlite
 * caches each shape's prepared statement.
 */
export function pageCalls(db: Database, filter: CallFilter, limit: number, after: CallCursor | null): CallPage {
  const where: string[] = [];
  const params: Param[] = [];
  if (filter.from !== undefined) where.push("c.started_at >= ?"), params.push(filter.from);
  if (filter.to !== undefined) where.push("c.started_at < ?"), params.push(filter.to);
  if (filter.tenant !== undefined) where.push("c.tenant = ?"), params.push(filter.tenant);
  if (filter.caller !== undefined) where.push("c.caller = ?"), params.push(filter.caller);
  if (filter.endReason !== undefined) where.push("c.end_reason = ?"), params.push(filter.endReason);
  if (filter.ticketStatus !== undefined) where.push("t.status = ?"), params.push(filter.ticketStatus);
  if (filter.text !== undefined) {
    where.push("c.id IN (SELECT call_id FROM turns WHERE id IN (SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?))");
    params.push(ftsQuery(filter.text));
  }
  if (after !== null) {
    where.push("(c.started_at < ? OR (c.started_at = ? AND c.id < ?))");
    params.push(after.startedAt, after.startedAt, after.id);
  }
  const sql = `${SUMMARY} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY c.started_at DESC, c.id DESC LIMIT ?`;
  const rows = db.query<CallRow, Param[]>(sql).all(...params, limit + 1);
  const calls = rows.slice(0, limit).map(toSummary);
  const last = calls.at(-1);
  return { calls, next: rows.length > limit && last ? { startedAt: last.startedAt, id: last.id } : null };
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
