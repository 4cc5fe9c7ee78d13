/**
 * StoreReader over PostgreSQL: what the CLI and the admin API read from a store shared by several
 * appliances, with exactly the answers the SQLite store gives (same order, same shapes, plain
 * numbers), so nothing above the store knows which one it reads.
 */
import type { SQL } from "bun";
import type { CallCursor, CallFilter, CallPage } from "../call-query.ts";
import type { CallDetail, StoreReader, TicketDetail } from "../contracts.ts";
import type { CallSummary, TicketRow } from "../shapes.ts";
import { checkLimit } from "../store.ts";
import type { TicketEdit, TicketFilter, TicketPage } from "../ticket-edits.ts";
import { checkTicketStatus } from "../tickets.ts";
import { connectCheckedPg } from "./migrate.ts";
import type { PgConnectOptions, PgTarget } from "./connect.ts";
import { Params, PG_SUMMARY, pgPageCalls } from "./pg-call-query.ts";
import { num, toCallSummary, toEventRow, toTicketChange, toTicketRow, toTurnRow, type PgRow } from "./pg-rows.ts";

const EDITABLE = ["status", "notes", "assignee"] as const;

export class PgStoreReader implements StoreReader {
  constructor(private readonly sql: SQL) {}

  /** Connects and checks the schema is the one this voicebot reads (the CLI's way in). */
  static async open(target: PgTarget, options: PgConnectOptions = {}): Promise<PgStoreReader> {
    return new PgStoreReader(await connectCheckedPg(target, options));
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  /** A negative offset counts as 0, as in SQLite. */
  async listCalls(q: { limit?: number; offset?: number } = {}): Promise<CallSummary[]> {
    const rows: PgRow[] = await this.sql.unsafe(`${PG_SUMMARY} ORDER BY c.started_at DESC, c.id DESC LIMIT $1 OFFSET $2`, [checkLimit(q.limit ?? 50), Math.max(0, q.offset ?? 0)]);
    return rows.map(toCallSummary);
  }

  async countCalls(): Promise<number> {
    const [row] = await this.sql`SELECT COUNT(*) AS n FROM calls`;
    return num(row?.n ?? 0);
  }

  async getCall(idOrUuid: string | number): Promise<CallDetail | null> {
    const byId = typeof idOrUuid === "number" || /^\d+$/.test(idOrUuid);
    // An id beyond any BIGINT names no call (SQLite answers nothing too) rather than a server error.
    if (byId && !Number.isSafeInteger(Number(idOrUuid))) return null;
    const rows: PgRow[] = byId
      ? await this.sql.unsafe(`${PG_SUMMARY} WHERE c.id = $1`, [Number(idOrUuid)])
      : await this.sql.unsafe(`${PG_SUMMARY} WHERE lower(c.uuid) = lower($1) ORDER BY c.started_at DESC, c.id DESC LIMIT 1`, [String(idOrUuid)]);
    const row = rows[0];
    if (row === undefined) return null;
    const summary = toCallSummary(row);
    const [turns, events, tickets] = await Promise.all([
      this.sql`SELECT * FROM turns WHERE call_id = ${summary.id} ORDER BY started_at, id`,
      this.sql`SELECT * FROM events WHERE call_id = ${summary.id} ORDER BY at, id`,
      this.sql`SELECT * FROM tickets WHERE call_id = ${summary.id} ORDER BY id`,
    ]);
    return { ...summary, turns: turns.map(toTurnRow), events: events.map(toEventRow), tickets: tickets.map(toTicketRow) };
  }

  /** With each call's dialog state: the end of its last "state" event ("MENU->DIAGNOSTIC" → "DIAGNOSTIC"). */
  async liveCalls(): Promise<(CallSummary & { state: string | null })[]> {
    const rows: PgRow[] = await this.sql.unsafe(`SELECT s.*, st.detail AS state_detail FROM (${PG_SUMMARY} WHERE c.ended_at IS NULL) s
      LEFT JOIN LATERAL (SELECT detail FROM events WHERE call_id = s.id AND kind = 'state' ORDER BY at DESC, id DESC LIMIT 1) st ON TRUE
      ORDER BY s.started_at, s.id`);
    return rows.map((row) => {
      const detail = row.state_detail === null || row.state_detail === undefined ? null : String(row.state_detail);
      return { ...toCallSummary(row), state: detail === null ? null : (detail.split("->").at(-1) ?? detail) };
    });
  }

  async listTickets(q: { limit?: number; status?: string } = {}): Promise<TicketRow[]> {
    const limit = checkLimit(q.limit ?? 50);
    const rows = q.status === undefined
      ? await this.sql`SELECT * FROM tickets ORDER BY id DESC LIMIT ${limit}`
      : await this.sql`SELECT * FROM tickets WHERE status = ${q.status} ORDER BY id DESC LIMIT ${limit}`;
    return rows.map(toTicketRow);
  }

  async getTicket(id: number): Promise<TicketDetail | null> {
    if (!Number.isSafeInteger(id)) return null;
    const [row] = await this.sql`SELECT * FROM tickets WHERE id = ${id}`;
    if (row === undefined) return null;
    const ticket = toTicketRow(row);
    const [calls, changes]: [PgRow[], PgRow[]] = await Promise.all([
      this.sql.unsafe(`${PG_SUMMARY} WHERE c.id = $1`, [ticket.callId]),
      this.sql`SELECT field, old_value, new_value, "by", at FROM ticket_changes WHERE ticket_id = ${id} ORDER BY id`,
    ]);
    const call = calls[0];
    return { ...ticket, call: call === undefined ? null : toCallSummary(call), changes: changes.map(toTicketChange) };
  }

  pageCalls(filter: CallFilter, limit: number, after: CallCursor | null = null): Promise<CallPage> {
    return pgPageCalls(this.sql, filter, checkLimit(limit), after);
  }

  async pageTickets(filter: TicketFilter, limit: number, before: number | null = null): Promise<TicketPage> {
    checkLimit(limit);
    const p = new Params();
    const where: string[] = [];
    if (filter.status !== undefined) where.push(`status = ${p.add(filter.status)}`);
    if (filter.tenant !== undefined) where.push(`tenant = ${p.add(filter.tenant)}`);
    if (filter.problemType !== undefined) where.push(`problem_type = ${p.add(filter.problemType)}`);
    if (before !== null) where.push(`id < ${p.add(before)}`);
    const rows: PgRow[] = await this.sql.unsafe(`SELECT * FROM tickets ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${p.add(limit + 1)}`, p.values);
    const tickets = rows.slice(0, limit).map(toTicketRow);
    return { tickets, next: rows.length > limit ? (tickets.at(-1)?.id ?? null) : null };
  }

  /** The fields that differ change, one ticket_changes row each, all in one transaction. */
  async editTicket(ticketId: number, edit: TicketEdit, by: string, at: number): Promise<TicketRow | null> {
    checkTicketStatus(edit.status);
    if (!Number.isSafeInteger(ticketId)) return null;
    return this.sql.begin(async (tx) => {
      const [row] = await tx`SELECT * FROM tickets WHERE id = ${ticketId} FOR UPDATE`;
      if (row === undefined) return null;
      const before = toTicketRow(row);
      let changed = false;
      for (const field of EDITABLE) {
        const value = edit[field];
        if (value === undefined || value === before[field]) continue;
        await tx`INSERT INTO ticket_changes (ticket_id, field, old_value, new_value, "by", at) VALUES (${ticketId}, ${field}, ${before[field]}, ${value}, ${by}, ${at})`;
        await tx.unsafe(`UPDATE tickets SET ${field} = $1, updated_at = $2 WHERE id = $3`, [value, at, ticketId]);
        changed = true;
      }
      if (!changed) return before;
      const [after] = await tx`SELECT * FROM tickets WHERE id = ${ticketId}`;
      return after === undefined ? null : toTicketRow(after);
    });
  }
}
