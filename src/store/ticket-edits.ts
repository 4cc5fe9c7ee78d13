import type { Database, Statement } from "bun:sqlite";
import type { TicketChange } from "./shapes.ts";
import { checkTicketStatus, toTicket, type Row, type TicketRow } from "./tickets.ts";

export type { TicketChange } from "./shapes.ts";

/** What the console may change on a ticket: undefined keeps, null clears (notes, assignee). */
export interface TicketEdit {
  status?: string;
  notes?: string | null;
  assignee?: string | null;
}

export interface TicketFilter {
  status?: string;
  tenant?: string;
  problemType?: string;
}

export interface TicketPage {
  tickets: TicketRow[];
  /** The id to pass as `before` for the next page; null on the last. */
  next: number | null;
}

const FIELDS = ["status", "notes", "assignee"] as const;

/** Console edits of tickets, each one kept in ticket_changes, and the filtered, paged list. */
export class TicketEdits {
  private readonly byIdStmt: Statement<Row, [number]>;
  private readonly changeStmt: Statement<void, [number, string, string | null, string | null, string, number]>;
  private readonly historyStmt: Statement<{ field: TicketChange["field"]; old_value: string | null; new_value: string | null; by: string; at: number }, [number]>;

  constructor(private readonly db: Database) {
    this.byIdStmt = db.prepare("SELECT * FROM tickets WHERE id = ?");
    this.changeStmt = db.prepare("INSERT INTO ticket_changes (ticket_id, field, old_value, new_value, by, at) VALUES (?, ?, ?, ?, ?, ?)");
    this.historyStmt = db.prepare("SELECT field, old_value, new_value, by, at FROM ticket_changes WHERE ticket_id = ? ORDER BY id");
  }

  /** Applies the fields that differ, one history row each; null when there is no such ticket. */
  edit(ticketId: number, edit: TicketEdit, by: string, at: number): TicketRow | null {
    checkTicketStatus(edit.status);
    return this.db.transaction(() => {
      const row = this.byIdStmt.get(ticketId);
      if (!row) return null;
      let changed = false;
      for (const field of FIELDS) {
        const value = edit[field];
        if (value === undefined || value === row[field]) continue;
        this.changeStmt.run(ticketId, field, row[field], value, by, at);
        this.db.query(`UPDATE tickets SET ${field} = ?, updated_at = ? WHERE id = ?`).run(value, at, ticketId);
        changed = true;
      }
      const after = changed ? this.byIdStmt.get(ticketId) : row;
      return after ? toTicket(after) : null;
    }).immediate();
  }

  history(ticketId: number): TicketChange[] {
    return this.historyStmt.all(ticketId).map((r) => ({ field: r.field, oldValue: r.old_value, newValue: r.new_value, by: r.by, at: r.at }));
  }

  /** Newest first, `limit` tickets with ids below `before`. */
  page(filter: TicketFilter, limit: number, before: number | null): TicketPage {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.status !== undefined) where.push("status = ?"), params.push(filter.status);
    if (filter.tenant !== undefined) where.push("tenant = ?"), params.push(filter.tenant);
    if (filter.problemType !== undefined) where.push("problem_type = ?"), params.push(filter.problemType);
    if (before !== null) where.push("id < ?"), params.push(before);
    const sql = `SELECT * FROM tickets ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.query<Row, (string | number)[]>(sql).all(...params, limit + 1);
    const tickets = rows.slice(0, limit).map(toTicket);
    return { tickets, next: rows.length > limit ? (tickets.at(-1)?.id ?? null) : null };
  }
}
