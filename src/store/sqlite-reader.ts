import type { CallCursor, CallFilter, CallPage } from "./call-query.ts";
import type { CallDetail, StoreReader, TicketDetail } from "./contracts.ts";
import type { HistoryReader } from "./history-reader.ts";
import type { CallSummary, TicketRow } from "./shapes.ts";
import type { Store } from "./store.ts";
import type { TicketEdit, TicketFilter, TicketPage } from "./ticket-edits.ts";

/**
 * The reads of a SQLite store. Lookups by id are index reads of a few rows, answered at once; the
 * history and its text search, the one read that may scan, run in the history worker when given.
 */
export class SqliteReader implements StoreReader {
  constructor(private readonly store: Store, private readonly history: HistoryReader | null = null) {}

  listCalls(q: { limit?: number; offset?: number } = {}): Promise<CallSummary[]> {
    return Promise.resolve(this.store.listCalls(q));
  }

  countCalls(): Promise<number> {
    return Promise.resolve(this.store.countCalls());
  }

  getCall(idOrUuid: string | number): Promise<CallDetail | null> {
    return Promise.resolve(this.store.getCall(idOrUuid));
  }

  liveCalls(): Promise<(CallSummary & { state: string | null })[]> {
    return Promise.resolve(this.store.liveCalls());
  }

  listTickets(q: { limit?: number; status?: string } = {}): Promise<TicketRow[]> {
    return Promise.resolve(this.store.listTickets(q));
  }

  getTicket(id: number): Promise<TicketDetail | null> {
    return Promise.resolve(this.store.getTicket(id));
  }

  pageCalls(filter: CallFilter, limit: number, after: CallCursor | null): Promise<CallPage> {
    return this.history === null ? Promise.resolve(this.store.pageCalls(filter, limit, after)) : this.history.page(filter, limit, after);
  }

  pageTickets(filter: TicketFilter, limit: number, before: number | null): Promise<TicketPage> {
    return Promise.resolve(this.store.pageTickets(filter, limit, before));
  }

  editTicket(ticketId: number, edit: TicketEdit, by: string, at: number): Promise<TicketRow | null> {
    return Promise.resolve(this.store.editTicket(ticketId, edit, by, at));
  }

  close(): Promise<void> {
    this.history?.close();
    return Promise.resolve();
  }
}
