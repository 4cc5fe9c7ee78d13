import type { Database, Statement } from "bun:sqlite";
import { explainWriteError } from "./db.ts";
import { TICKET_STATUSES, type StoredTicketStatus, type TicketRow } from "./shapes.ts";

export { TICKET_STATUSES, type StoredTicketStatus, type TicketRow } from "./shapes.ts";

export interface TicketFields {
  customer?: string | null;
  phone?: string | null;
  problemType?: string | null;
  description?: string | null;
}

export interface Row {
  id: number;
  call_id: number;
  customer: string | null;
  phone: string | null;
  problem_type: string | null;
  description: string | null;
  status: StoredTicketStatus;
  created_at: number;
  updated_at: number;
  tenant: string;
  notes: string | null;
  assignee: string | null;
}

type Value = string | number | null;

export function isTicketStatus(s: string): s is StoredTicketStatus {
  return (TICKET_STATUSES as readonly string[]).includes(s);
}

/** A status a write or an edit gives, checked alike by both back-ends; undefined keeps the stored one. */
export function checkTicketStatus(status: string | undefined): void {
  if (status !== undefined && !isTicketStatus(status)) {
    throw new Error(`ticket status ${JSON.stringify(status)} is not allowed: one of ${TICKET_STATUSES.join(", ")}`);
  }
}

/** The `tickets` table. Updates touch only the fields given: undefined keeps, null clears. */
export class TicketsTable {
  private readonly openStmt: Statement<void, [number, Value, Value, Value, Value, number, number, number | null]>;
  private readonly updateStmt: Statement<void, Value[]>;
  private readonly listStmt: Statement<Row, [number]>;
  private readonly listByStatusStmt: Statement<Row, [string, number]>;
  private readonly byIdStmt: Statement<Row, [number]>;
  private readonly byCallStmt: Statement<Row, [number]>;

  constructor(db: Database) {
    this.openStmt = db.prepare(
      "INSERT INTO tickets (id, call_id, customer, phone, problem_type, description, status, created_at, updated_at, tenant) SELECT ?8, ?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, tenant FROM calls WHERE id = ?1",
    );
    // One statement for every combination of fields: a flag per field says whether to set it.
    this.updateStmt = db.prepare(`UPDATE tickets SET
      customer = CASE WHEN ?1 THEN ?2 ELSE customer END,
      phone = CASE WHEN ?3 THEN ?4 ELSE phone END,
      problem_type = CASE WHEN ?5 THEN ?6 ELSE problem_type END,
      description = CASE WHEN ?7 THEN ?8 ELSE description END,
      status = COALESCE(?9, status),
      updated_at = ?10
      WHERE id = ?11`);
    this.listStmt = db.prepare("SELECT * FROM tickets ORDER BY id DESC LIMIT ?");
    this.listByStatusStmt = db.prepare("SELECT * FROM tickets WHERE status = ? ORDER BY id DESC LIMIT ?");
    this.byIdStmt = db.prepare("SELECT * FROM tickets WHERE id = ?");
    this.byCallStmt = db.prepare("SELECT * FROM tickets WHERE call_id = ? ORDER BY id");
  }

  /** `id` null: the next number. */
  open(callId: number, t: TicketFields & { at: number }, id: number | null = null): number {
    try {
      const r = this.openStmt.run(callId, t.customer ?? null, t.phone ?? null, t.problemType ?? null, t.description ?? null, t.at, t.at, id);
      // The row is copied from the call's (for its tenant): no call, no row.
      if (r.changes === 0) throw new Error(`no call with id ${callId} in the store`);
      return Number(r.lastInsertRowid);
    } catch (err) {
      throw explainWriteError(err, callId);
    }
  }

  update(ticketId: number, t: TicketFields & { status?: string; at: number }): void {
    checkTicketStatus(t.status);
    const changes = this.updateStmt.run(
      flag(t.customer), t.customer ?? null,
      flag(t.phone), t.phone ?? null,
      flag(t.problemType), t.problemType ?? null,
      flag(t.description), t.description ?? null,
      t.status ?? null,
      t.at,
      ticketId,
    ).changes;
    if (changes !== 1) throw new Error(`no ticket with id ${ticketId} in the store`);
  }

  list(limit: number, status?: string): TicketRow[] {
    const rows = status === undefined ? this.listStmt.all(limit) : this.listByStatusStmt.all(status, limit);
    return rows.map(toTicket);
  }

  byId(id: number): TicketRow | null {
    const row = this.byIdStmt.get(id);
    return row ? toTicket(row) : null;
  }

  byCall(callId: number): TicketRow[] {
    return this.byCallStmt.all(callId).map(toTicket);
  }
}

function flag(v: string | null | undefined): number {
  return v === undefined ? 0 : 1;
}

export function toTicket(r: Row): TicketRow {
  return {
    id: r.id,
    callId: r.call_id,
    customer: r.customer,
    phone: r.phone,
    problemType: r.problem_type,
    description: r.description,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    tenant: r.tenant,
    notes: r.notes,
    assignee: r.assignee,
  };
}
