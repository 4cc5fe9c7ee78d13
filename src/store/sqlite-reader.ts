import type { CallCursor, CallFilter, CallPage } from "./call-query.ts";
import type { CallDetail, StoreReader, TicketDetail } from "./contracts.ts";
import type { HistoryReader } from "./history-reader.ts";
import type { CallSummary, TicketRow } from "./shapes.ts";
import type { SqliteWriteQueue } from "./sqlite-write-queue.ts";
import type { Store } from "./store.ts";
import type { TicketEdit, TicketFilter, TicketPage } from "./ticket-edits.ts";

/**
 * The reads of a SQLite store. Lookups by id are index reads of a few rows, answered at once; the
 * history and its text search, the one read that may scan, run in the history worker when given.
 * Every method is async so a refusal (a bad limit, status) is a rejection, as on PostgreSQL.
 * A ticket edit goes to serve's writer thread when given, after the writes queued before it.
 */
export class SqliteReader implements StoreReader {
  constructor(
    private readonly store: Store,
    private readonly history: HistoryReader | null = null,
    private readonly writer: Pick<SqliteWriteQueue, "editTicket"> | null = null,
  ) {}

  async listCalls(q: { limit?: number; offset?: number } = {}): Promise<CallSummary[]> {
    return this.store.listCalls(q);
  }

  async countCalls(): Promise<number> {
    return this.store.countCalls();
  }

  async getCall(idOrUuid: string | number): Promise<CallDetail | null> {
    return this.store.getCall(idOrUuid);
  }

  async liveCalls(): Promise<(CallSummary & { state: string | null })[]> {
    return this.store.liveCalls();
  }

  async listTickets(q: { limit?: number; status?: string } = {}): Promise<TicketRow[]> {
    return this.store.listTickets(q);
  }

  async getTicket(id: number): Promise<TicketDetail | null> {
    return this.store.getTicket(id);
  }

  async pageCalls(filter: CallFilter, limit: number, after: CallCursor | null): Promise<CallPage> {
    return this.history === null ? this.store.pageCalls(filter, limit, after) : this.history.page(filter, limit, after);
  }

  async pageTickets(filter: TicketFilter, limit: number, before: number | null): Promise<TicketPage> {
    return this.store.pageTickets(filter, limit, before);
  }

  async editTicket(ticketId: number, edit: TicketEdit, by: string, at: number): Promise<TicketRow | null> {
    return this.writer === null ? this.store.editTicket(ticketId, edit, by, at) : this.writer.editTicket(ticketId, edit, by, at);
  }

  async close(): Promise<void> {
    this.history?.close();
  }
}
