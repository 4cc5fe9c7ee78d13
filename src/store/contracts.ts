/**
 * The two faces of the store, whatever holds it (bun:sqlite in the data dir, or PostgreSQL shared
 * by several appliances, STORE_URL):
 * - CallWriter: what a call writes. Synchronous and cheap: ids come back at once, so the call
 *   clock never waits for a disk or a network; durability happens behind (per event-loop turn on
 *   SQLite, through a queue and a journal on PostgreSQL).
 * - StoreReader: what the CLI and the admin API read. Asynchronous: PostgreSQL answers over the
 *   network, and a SQLite search runs in a worker.
 */
import type { CallCursor, CallFilter, CallPage } from "./call-query.ts";
import type { CallEnd } from "./calls.ts";
import type { CallSummary, NewCall, RecordingFile, TicketChange, TicketRow } from "./shapes.ts";
import type { TicketEdit, TicketFilter, TicketPage } from "./ticket-edits.ts";
import type { TicketFields } from "./tickets.ts";
import type { EventRow, NewEvent, NewTurn, Speaker, TurnReply, TurnRow, TurnTimings } from "./turns-events.ts";

export interface CallDetail extends CallSummary {
  turns: TurnRow[];
  events: EventRow[];
  tickets: TicketRow[];
}

export interface TicketDetail extends TicketRow {
  call: CallSummary | null;
  changes: TicketChange[];
}

/** What the live view hears of, as it is stored (never per frame: a few per turn). */
export type StoreChange =
  | { kind: "call-started"; callId: number; uuid: string; tenant: string; caller: string | null; transport: string; at: number }
  | { kind: "call-ended"; callId: number; reason: string; at: number }
  | { kind: "turn"; callId: number; turnId: number; speaker: Speaker; text: string; at: number }
  | { kind: "event"; callId: number; event: string; detail: string | null; at: number };

export interface CallWriter {
  insertCall(c: NewCall): number;
  setCallAnswered(callId: number, at: number): void;
  /** The dialplan's registration arrived after the call started. */
  setCallCaller(callId: number, caller: string | null, dnis: string | null): void;
  setCallSampleRate(callId: number, rate: number): void;
  setCallRecordings(callId: number, recordings: readonly RecordingFile[]): void;
  endCall(callId: number, end: CallEnd): void;
  addTurn(callId: number, turn: NewTurn): number;
  finishTurn(turnId: number, end: { endedAt: number; interrupted: boolean }): void;
  /** Only the fields given change, and a null keeps the stored value. */
  setTurnTimings(turnId: number, partial: Partial<TurnTimings>): void;
  setTurnReply(turnId: number, reply: TurnReply): void;
  /** A bot reply's text is what the caller heard: set when its audio stops. */
  setTurnText(turnId: number, text: string): void;
  addEvent(callId: number | null, event: NewEvent): void;
  /** Returns the ticket number (unique across every appliance sharing the store). */
  openTicket(callId: number, t: TicketFields & { at: number }): number;
  updateTicket(ticketId: number, t: TicketFields & { status?: string; at: number }): void;
  /** One observer of writes (the console's live feed); it must be cheap and must not throw. */
  observe(observer: ((change: StoreChange) => void) | null): void;
}

export interface StoreReader {
  /** Newest first. */
  listCalls(q?: { limit?: number; offset?: number }): Promise<CallSummary[]>;
  countCalls(): Promise<number>;
  /** A number, or a string of digits, is an id; any other string is a call UUID (any case). */
  getCall(idOrUuid: string | number): Promise<CallDetail | null>;
  /** Calls without an end: the ones in progress, on every appliance sharing the store. */
  liveCalls(): Promise<(CallSummary & { state: string | null })[]>;
  /** Newest first. */
  listTickets(q?: { limit?: number; status?: string }): Promise<TicketRow[]>;
  getTicket(id: number): Promise<TicketDetail | null>;
  /** The console's history: newest first, filtered, keyset-paged. */
  pageCalls(filter: CallFilter, limit: number, after: CallCursor | null): Promise<CallPage>;
  /** The console's ticket list: newest first, filtered, paged by id. */
  pageTickets(filter: TicketFilter, limit: number, before: number | null): Promise<TicketPage>;
  /** A console edit, kept with who and when; null when there is no such ticket. */
  editTicket(ticketId: number, edit: TicketEdit, by: string, at: number): Promise<TicketRow | null>;
  /** Ends what the reader holds (a worker, a connection pool); the store itself stays open. */
  close(): Promise<void>;
}
