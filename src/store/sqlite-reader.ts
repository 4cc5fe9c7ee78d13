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
 * With serve's writer thread given, a read waits for the writes made before it (a call read
 * right after its hang-up has its end), and a ticket edit goes to that thread, after them.
 */
export class SqliteReader implements StoreReader {
  constructor(
    private readonly store: Store,
    private readonly history: HistoryReader | null = null,
    private readonly writer: Pick<SqliteWriteQueue, "editTicket" | "settled"> | null = null,
  ) {}

  async listCalls(q: { limit?: number; offset?: number } = {}): Promise<CallSummary[]> {
    await this.writer?.settled();
    return this.store.listCalls(q);
  }

  async countCalls(): Promise<number> {
    await this.writer?.settled();
    return this.store.countCalls();
  }

  async getCall(idOrUuid: string | number): Promise<CallDetail | null> {
    await this.writer?.settled();
    return this.store.getCall(idOrUuid);
  }

  async liveCalls(): Promise<(CallSummary & { state: string | null })[]> {
    await this.writer?.settled();
    return this.store.liveCalls();
  }

  async listTickets(q: { limit?: number; status?: string } = {}): Promise<TicketRow[]> {
    await this.writer?.settled();
    return this.store.listTickets(q);
  }

  async getTicket(id: number): Promise<TicketDetail | null> {
    await this.writer?.settled();
    return this.store.getTicket(id);
  }

  async pageCalls(filter: CallFilter, limit: number, after: CallCursor | null): Promise<CallPage> {
    await this.writer?.settled();
    return this.history === null ? this.store.pageCalls(filter, limit, after) : this.history.page(filter, limit, after);
  }

  async pageTickets(filter: TicketFilter, limit: number, before: number | null): Promise<TicketPage> {
    await this.writer?.settled();
    return this.store.pageTickets(filter, limit, before);
  }

  async editTicket(ticketId: number, edit: TicketEdit, by: string, at: number): Promise<TicketRow | null> {
    return this.writer === null ? this.store.editTicket(ticketId, edit, by, at) : this.writer.editTicket(ticketId, edit, by, at);
  }

  async close(): Promise<void> {
    this.history?.close();
  }
}
