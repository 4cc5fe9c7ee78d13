import type { Logger } from "../log.ts";
import { BackgroundCheckpointer } from "./checkpointer.ts";
import type { Database } from "bun:sqlite";
import { CallsTable, type CallEnd, type CallSummary, type NewCall, type RecordingFile } from "./calls.ts";
import { databasePath, openDatabase } from "./db.ts";
import { TicketsTable, type TicketFields, type TicketRow } from "./tickets.ts";
import { TurnsEventsTables, type EventRow, type NewEvent, type NewTurn, type TurnReply, type TurnRow, type TurnTimings } from "./turns-events.ts";

export type { CallSummary, RecordingFile } from "./calls.ts";
export type { StoredTicketStatus, TicketRow } from "./tickets.ts";
export { TICKET_STATUSES, isTicketStatus } from "./tickets.ts";
export type { EventRow, NewTurn, Speaker, TurnReply, TurnRow, TurnTimings } from "./turns-events.ts";

export interface CallDetail extends CallSummary {
  turns: TurnRow[];
  events: EventRow[];
  tickets: TicketRow[];
}

export interface TicketDetail extends TicketRow {
  call: CallSummary | null;
}

/**
 * Everything voicebot keeps about calls, in <dataDir>/voicebot.db. Every write is its own implicit
 * transaction (a crash loses nothing committed); statements are prepared once. Times are epoch ms.
 */
export class Store {
  readonly path: string;
  private readonly calls: CallsTable;
  private readonly tickets: TicketsTable;
  private readonly timeline: TurnsEventsTables;
  private checkpointer: BackgroundCheckpointer | null = null;

  private constructor(private readonly db: Database, path: string) {
    this.path = path;
    this.calls = new CallsTable(db);
    this.tickets = new TicketsTable(db);
    this.timeline = new TurnsEventsTables(db);
  }

  /** The writer (serve) migrates; readonly opens (the CLI) never write and need an existing database. */
  static open(dataDir: string, options: { readonly?: boolean } = {}): Store {
    return new Store(openDatabase(dataDir, options), databasePath(dataDir));
  }

  /**
   * For the long-running writer (serve): checkpoints move to a worker thread so no commit on the
   * event loop ever waits for an fsync. Stop them with stopBackgroundCheckpoints() before close().
   */
  checkpointInBackground(log: Logger): void {
    this.checkpointer ??= BackgroundCheckpointer.start(this.db, this.path, log);
  }

  /** A last full checkpoint on the worker, which then ends. */
  async stopBackgroundCheckpoints(): Promise<void> {
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
  }

  close(): void {
    this.db.close();
  }

  /** At start-up: calls a crash left without ended_at end as "interrupted"; returns how many. */
  closeInterruptedCalls(now: number): number {
    return this.calls.closeInterrupted(now);
  }

  insertCall(c: NewCall): number {
    return this.calls.insert(c);
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
  }

  addTurn(callId: number, turn: NewTurn): number {
    return this.timeline.addTurn(callId, turn);
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
  }

  addEvent(callId: number | null, event: NewEvent): void {
    this.timeline.addEvent(callId, event);
  }

  /** Returns the ticket number (its id, from 1). */
  openTicket(callId: number, t: TicketFields & { at: number }): number {
    return this.tickets.open(callId, t);
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
    return ticket ? { ...ticket, call: this.calls.byId(ticket.callId) } : null;
  }

  countCalls(): number {
    return this.calls.count();
  }
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`list limit ${limit} is not allowed: a whole number of at least 1`);
  return limit;
}
