/**
 * PostgreSQL rows → the shapes every reader returns. Bun's client hands BIGINT columns back as
 * strings (a JavaScript number cannot hold every int8); epoch ms and ids stay far below 2^53, so
 * they become plain numbers here, and the SQLite mappers then build the very same objects.
 */
import { toSummary, type CallRow } from "../calls.ts";
import type { CallSummary, TicketChange, TicketRow } from "../shapes.ts";
import { toTicket, type Row as TicketDbRow } from "../tickets.ts";
import type { EventRow, Speaker, TurnRow } from "../turns-events.ts";

/** A row as the client returns it: the column names, values of whatever type the driver chose. */
export type PgRow = Record<string, unknown>;

export function num(v: unknown): number {
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`store: expected a whole number from PostgreSQL, got ${JSON.stringify(v)}`);
  return n;
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

function str(v: unknown): string {
  return String(v);
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function toCallSummary(r: PgRow): CallSummary {
  const row: CallRow = {
    id: num(r.id),
    uuid: str(r.uuid),
    transport: str(r.transport),
    tenant: str(r.tenant),
    caller: strOrNull(r.caller),
    dnis: strOrNull(r.dnis),
    peer: str(r.peer),
    sample_rate: num(r.sample_rate),
    started_at: num(r.started_at),
    answered_at: numOrNull(r.answered_at),
    ended_at: numOrNull(r.ended_at),
    end_reason: strOrNull(r.end_reason),
    end_detail: strOrNull(r.end_detail),
    recordings: str(r.recordings),
    node_id: strOrNull(r.node_id),
    node_url: strOrNull(r.node_url),
    ticket_id: numOrNull(r.ticket_id),
    ticket_status: strOrNull(r.ticket_status),
  };
  return toSummary(row);
}

export function toTicketRow(r: PgRow): TicketRow {
  const row: TicketDbRow = {
    id: num(r.id),
    call_id: num(r.call_id),
    customer: strOrNull(r.customer),
    phone: strOrNull(r.phone),
    problem_type: strOrNull(r.problem_type),
    description: strOrNull(r.description),
    status: str(r.status) as TicketDbRow["status"],
    created_at: num(r.created_at),
    updated_at: num(r.updated_at),
    tenant: str(r.tenant),
    notes: strOrNull(r.notes),
    assignee: strOrNull(r.assignee),
  };
  return toTicket(row);
}

export function toTurnRow(r: PgRow): TurnRow {
  return {
    id: num(r.id),
    callId: num(r.call_id),
    speaker: str(r.speaker) as Speaker,
    text: str(r.text),
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
    interrupted: r.interrupted === true,
    replyId: numOrNull(r.reply_id),
    llmProvider: strOrNull(r.llm_provider),
    timings: {
      speechEndAt: numOrNull(r.speech_end_at),
      sttFinalAt: numOrNull(r.stt_final_at),
      llmFirstTokenAt: numOrNull(r.llm_first_token_at),
      ttsFirstByteAt: numOrNull(r.tts_first_byte_at),
      firstFrameAt: numOrNull(r.first_frame_at),
      lastFrameAt: numOrNull(r.last_frame_at),
      bargeInAt: numOrNull(r.barge_in_at),
    },
  };
}

export function toEventRow(r: PgRow): EventRow {
  return { id: num(r.id), callId: numOrNull(r.call_id), kind: str(r.kind), detail: strOrNull(r.detail), at: num(r.at) };
}

export function toTicketChange(r: PgRow): TicketChange {
  return { field: str(r.field) as TicketChange["field"], oldValue: strOrNull(r.old_value), newValue: strOrNull(r.new_value), by: str(r.by), at: num(r.at) };
}
