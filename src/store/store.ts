import type { Logger } from "../log.ts";
import type { Database } from "bun:sqlite";
import { CallsTable, type CallEnd, type CallSummary, type NewCall, type RecordingFile, type StoreNode } from "./calls.ts";
import type { CallDetail, CallWriter, StoreChange, TicketDetail } from "./contracts.ts";
import { databasePath, openDatabase } from "./db.ts";
import { pageCalls, type CallCursor, type CallFilter, type CallPage } from "./call-query.ts";
import { TicketEdits, type TicketEdit, type TicketFilter, type TicketPage } from "./ticket-edits.ts";
import { TicketsTable, type TicketFields, type TicketRow } from "./tickets.ts";
import { ALL_PENDING, TurnSearchIndex } from "./search-index.ts";
import { TurnsEventsTables, type NewEvent, type NewTurn, type Speaker, type TurnReply, type TurnTimings } from "./turns-events.ts";

export type { CallSummary, RecordingFile, StoreNode } from "./calls.ts";
export type { CallDetail, CallWriter, StoreChange, StoreReader, TicketDetail } from "./contracts.ts";
export type { CallCursor, CallFilter, CallPage } from "./call-query.ts";
export type { TicketChange, TicketEdit, TicketFilter, TicketPage } from "./ticket-edits.ts";
export type { StoredTicketStatus, TicketRow } from "./tickets.ts";
export { TICKET_STATUSES, isTicketStatus } from "./tickets.ts";
export type { EventRow, NewTurn, Speaker, TurnReply, TurnRow, TurnTimings } from "./turns-events.ts";

/** serve's search indexing: a batch of turn texts this often (see indexSearchInBackground). */
const SEARCH_EVERY_MS = 50;
const SEARCH_BATCH = 20;

/**
 * Everything voicebot keeps about calls, in <dataDir>/voicebot.db. Every write is its own implicit
 * transaction (a crash loses nothing committed) unless made inside transaction(); statements are
 * prepared once. Times are epoch ms. serve writes through sqlite-writer-worker.ts, off the event loop.
 */
export class Store implements CallWriter {
  readonly path: string;
  private readonly calls: CallsTable;
  private readonly tickets: TicketsTable;
  private readonly timeline: TurnsEventsTables;
  private readonly ticketEdits: TicketEdits;
  private readonly search: TurnSearchIndex;
  /** Set in serve: turn texts are indexed by this timer, not as each turn is added. */
  private searchTimer: ReturnType<typeof setInterval> | null = null;
  /** The last batch failed: the next failures are not logged again (a batch is tried every 50 ms). */
  private searchFailing = false;
  /** The live feed (admin), when someone may be watching; null costs one check per write. */
  private observer: ((change: StoreChange) => void) | null = null;

  private constructor(private readonly db: Database, path: string, node: StoreNode) {
    this.path = path;
    this.calls = new CallsTable(db, node);
    this.tickets = new TicketsTable(db);
    this.timeline = new TurnsEventsTables(db);
    this.ticketEdits = new TicketEdits(db);
    this.search = new TurnSearchIndex(db);
  }

  /** The writer (serve) migrates; readonly opens (the CLI) never write and need an existing database. */
  static open(dataDir: string, options: { readonly?: boolean; node?: StoreNode } = {}): Store {
    return new Store(openDatabase(dataDir, options), databasePath(dataDir), options.node ?? { id: null, url: null });
  }

  /**
   * `fn`'s writes in one transaction, which takes the write lock first: another process holding
   * it past busy_timeout fails the whole transaction here, not each write inside. A write that
   * fails inside fails alone (SQLite undoes that statement), unless SQLite rolled the whole
   * transaction back (a full disk, an I/O error): then this throws, as a failed COMMIT does.
   */
  transaction<T>(fn: () => T): T {
    this.db.run("BEGIN IMMEDIATE");
    try {
      const result = fn();
      if (!this.db.inTransaction) throw new Error("SQLite rolled the transaction back (a full disk, an I/O error?)");
      this.db.run("COMMIT");
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.run("ROLLBACK");
      throw err;
    }
  }

  /** The highest id each table has given (tickets: ever, deleted ones included), for serve's id counters. */
  lastIds(): { calls: number; turns: number; events: number; tickets: number } {
    const row = this.db.query<{ calls: number; turns: number; events: number; tickets: number }, []>(`SELECT
      (SELECT COALESCE(MAX(id), 0) FROM calls) AS calls,
      (SELECT COALESCE(MAX(id), 0) FROM turns) AS turns,
      (SELECT COALESCE(MAX(id), 0) FROM events) AS events,
      MAX((SELECT COALESCE(MAX(id), 0) FROM tickets), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0)) AS tickets`).get();
    return row ?? { calls: 0, turns: 0, events: 0, tickets: 0 };
  }

  /**
   * For serve: indexing a turn's text for search costs as much as storing the turn, and turns are
   * added on the call path (a thousand callers pressing a key together). Texts are indexed here in
   * batches of SEARCH_BATCH every SEARCH_EVERY_MS instead (400 a second, under a millisecond a
   * batch), so the console finds a new turn a moment later; what is left is indexed at close().
   */
  indexSearchInBackground(log: Logger): void {
    if (this.searchTimer !== null) return;
    this.searchTimer = setInterval(() => {
      try {
        if (!this.search.waiting) return;
        this.transaction(() => this.search.index(SEARCH_BATCH));
        if (this.searchFailing) log.info("store: turn texts are indexed for search again");
        this.searchFailing = false;
      } catch (err) {
        if (!this.searchFailing) log.error("store: turn texts could not be indexed for search; retrying every 50 ms", { error: err instanceof Error ? err.message : String(err) });
        this.searchFailing = true;
      }
    }, SEARCH_EVERY_MS);
    this.searchTimer.unref();
  }

  /** One observer of writes (the console's live feed); it must be cheap and must not throw. */
  observe(observer: ((change: StoreChange) => void) | null): void {
    this.observer = observer;
  }

  close(): void {
    if (this.searchTimer !== null) {
      clearInterval(this.searchTimer);
      this.searchTimer = null;
      this.search.index(ALL_PENDING);
    }
    this.db.close();
  }

  /** At start-up: calls a crash left without ended_at end as "interrupted"; returns how many. */
  closeInterruptedCalls(now: number): number {
    return this.calls.closeInterrupted(now);
  }

  /** `id` null: the next free one. */
  insertCall(c: NewCall, id: number | null = null): number {
    const given = this.calls.insert(c, id);
    this.observer?.({ kind: "call-started", callId: given, uuid: c.uuid, tenant: c.tenant, caller: c.caller, transport: c.transport, at: c.startedAt });
    return given;
  }

  setCallAnswered(callId: number, at: number): void {
    this.calls.setAnswered(callId, at);
  }

  /** The dialplan's registration arrived after the call started. */
  setCallCaller(callId: number, caller: string | null, dnis: string | null): void {
    this.calls.setCaller(callId, caller, dnis);
  }

  setCallSampleRate(callId: number, rate: number): void {
    this.calls.setSampleRate(callId, rate);
  }

  setCallRecordings(callId: number, recordings: readonly RecordingFile[]): void {
    this.calls.setRecordings(callId, recordings);
  }

  endCall(callId: number, end: CallEnd): void {
    this.calls.end(callId, end);
    this.observer?.({ kind: "call-ended", callId, reason: end.reason, at: end.endedAt });
  }

  /** `id` null: the next free one. */
  addTurn(callId: number, turn: NewTurn, id: number | null = null): number {
    const given = this.timeline.addTurn(callId, turn, id);
    if (this.searchTimer === null) this.search.index(ALL_PENDING);
    if (turn.text !== "") this.observer?.({ kind: "turn", callId, turnId: given, speaker: turn.speaker, text: turn.text, at: turn.startedAt });
    return given;
  }

  finishTurn(turnId: number, end: { endedAt: number; interrupted: boolean }): void {
    this.timeline.finishTurn(turnId, end);
  }

  /**
   * Latency stamps of a turn (epoch ms, rounded to whole ms): only the fields given change, and a
   * null keeps the stored value. A few calls a turn, never per frame.
   */
  setTurnTimings(turnId: number, partial: Partial<TurnTimings>): void {
    this.timeline.setTimings(turnId, partial);
  }

  /** The reply id and the LLM provider of a turn, once known: only the fields given change. */
  setTurnReply(turnId: number, reply: TurnReply): void {
    this.timeline.setReply(turnId, reply);
  }

  /** A bot reply's text is what the caller heard: set when its audio stops. */
  setTurnText(turnId: number, text: string): void {
    this.timeline.setText(turnId, text);
    if (this.observer === null) return;
    const turn = this.db.query<{ call_id: number; speaker: Speaker }, [number]>("SELECT call_id, speaker FROM turns WHERE id = ?").get(turnId);
    if (turn) this.observer({ kind: "turn", callId: turn.call_id, turnId, speaker: turn.speaker, text, at: Date.now() });
  }

  /** `id` null: the next free one. */
  addEvent(callId: number | null, event: NewEvent, id: number | null = null): void {
    this.timeline.addEvent(callId, event, id);
    if (callId !== null) this.observer?.({ kind: "event", callId, event: event.kind, detail: event.detail ?? null, at: event.at });
  }

  /** Returns the ticket number (its id, from 1); `id` null: the next number. */
  openTicket(callId: number, t: TicketFields & { at: number }, id: number | null = null): number {
    return this.tickets.open(callId, t, id);
  }

  updateTicket(ticketId: number, t: TicketFields & { status?: string; at: number }): void {
    this.tickets.update(ticketId, t);
  }

  /** Newest first. */
  listCalls(q: { limit?: number; offset?: number } = {}): CallSummary[] {
    return this.calls.list(checkLimit(q.limit ?? 50), q.offset ?? 0);
  }

  /** A number, or a string of digits, is an id; any other string is a call UUID (any case). */
  getCall(idOrUuid: string | number): CallDetail | null {
    const summary = typeof idOrUuid === "number" || /^\d+$/.test(idOrUuid)
      ? this.calls.byId(Number(idOrUuid))
      : this.calls.byUuid(idOrUuid);
    if (!summary) return null;
    return {
      ...summary,
      turns: this.timeline.turnsOf(summary.id),
      events: this.timeline.eventsOf(summary.id),
      tickets: this.tickets.byCall(summary.id),
    };
  }

  /** Newest first. */
  listTickets(q: { limit?: number; status?: string } = {}): TicketRow[] {
    return this.tickets.list(checkLimit(q.limit ?? 50), q.status);
  }

  getTicket(id: number): TicketDetail | null {
    const ticket = this.tickets.byId(id);
    return ticket ? { ...ticket, call: this.calls.byId(ticket.callId), changes: this.ticketEdits.history(id) } : null;
  }

  /** The console's history: newest first, filtered, keyset-paged. */
  pageCalls(filter: CallFilter, limit: number, after: CallCursor | null = null): CallPage {
    return pageCalls(this.db, filter, checkLimit(limit), after);
  }

  /** The console's ticket list: newest first, filtered, paged by id. */
  pageTickets(filter: TicketFilter, limit: number, before: number | null = null): TicketPage {
    return this.ticketEdits.page(filter, checkLimit(limit), before);
  }

  /** A console edit, kept with who and when; null when there is no such ticket. */
  editTicket(ticketId: number, edit: TicketEdit, by: string, at: number): TicketRow | null {
    return this.ticketEdits.edit(ticketId, edit, by, at);
  }

  /** Calls without an end: the ones in progress (start-up closes those a crash left). */
  liveCalls(): (CallSummary & { state: string | null })[] {
    return this.calls.unfinished();
  }

  countCalls(): number {
    return this.calls.count();
  }
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`list limit ${limit} is not allowed: a whole number of at least 1`);
  return limit;
}
