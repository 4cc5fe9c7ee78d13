/**
 * The console's call history over PostgreSQL: the filters, keyset cursor and text search of
 * ../call-query.ts with the same results. The SQL is built from the filters given, so each shape
 * uses its own index; the words searched go through PostgreSQL's full text search over the GIN
 * index of migration 4 (each word a prefix, all of them in one turn, case and accents ignored).
 */
import type { SQL } from "bun";
import type { CallCursor, CallFilter, CallPage } from "../call-query.ts";
import { toCallSummary, type PgRow } from "./pg-rows.ts";

/** Every call with its first ticket, as ../calls.ts SUMMARY. */
export const PG_SUMMARY = `
SELECT c.*, t.id AS ticket_id, t.status AS ticket_status
FROM calls c LEFT JOIN tickets t ON t.id = (SELECT MIN(id) FROM tickets WHERE call_id = c.id)`;

/** The indexed expression of migration 4: change both together. */
export const TURN_SEARCH_VECTOR = "to_tsvector('simple'::regconfig, voicebot_fold(text))";

/** Numbered parameters ($1, $2, …) for a query built piece by piece. */
export class Params {
  readonly values: (string | number)[] = [];
  add(value: string | number): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export async function pgPageCalls(sql: SQL, filter: CallFilter, limit: number, after: CallCursor | null): Promise<CallPage> {
  const p = new Params();
  const where: string[] = [];
  if (filter.from !== undefined) where.push(`c.started_at >= ${p.add(filter.from)}`);
  if (filter.to !== undefined) where.push(`c.started_at < ${p.add(filter.to)}`);
  if (filter.tenant !== undefined) where.push(`c.tenant = ${p.add(filter.tenant)}`);
  if (filter.caller !== undefined) where.push(`c.caller = ${p.add(filter.caller)}`);
  if (filter.endReason !== undefined) where.push(`c.end_reason = ${p.add(filter.endReason)}`);
  if (filter.ticketStatus !== undefined) where.push(`t.status = ${p.add(filter.ticketStatus)}`);
  if (after !== null) {
    const startedAt = p.add(after.startedAt);
    where.push(`(c.started_at < ${startedAt} OR (c.started_at = ${startedAt} AND c.id < ${p.add(after.id)}))`);
  }
  if (filter.text !== undefined) {
    const words = searchWords(filter.text);
    if (words.length === 0) return { calls: [], next: null };
    // Each word folded as the indexed text is, then a prefix term; all of them in one turn.
    const query = words.map((w) => `to_tsquery('simple'::regconfig, quote_literal(voicebot_fold(${p.add(w)})) || ':*')`).join(" && ");
    where.push(`c.id IN (SELECT call_id FROM turns WHERE ${TURN_SEARCH_VECTOR} @@ (${query}))`);
  }
  const text = `${PG_SUMMARY} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY c.started_at DESC, c.id DESC LIMIT ${p.add(limit + 1)}`;
  const rows: PgRow[] = await sql.unsafe(text, p.values);
  const calls = rows.slice(0, limit).map(toCallSummary);
  const last = calls.at(-1);
  return { calls, next: rows.length > limit && last ? { startedAt: last.startedAt, id: last.id } : null };
}

/**
 * A person's words, as ../call-query.ts ftsQuery reads them: runs of letters and digits (so nothing
 * typed is an operator), the first 16.
 */
export function searchWords(text: string): string[] {
  return (text.match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 16);
}
