/**
 * One write of a call, as serve queues it for the store's writer (SQLite's worker thread, or
 * PostgreSQL's queue and journal): plain JSON, ids already given, so a write is the same whether
 * it is sent at once or replayed from the journal after an outage. Each is idempotent (inserts
 * skip an id already there, updates set values), so a batch whose commit was not acknowledged
 * may be sent again.
 */
import type { RecordingFile } from "./shapes.ts";
import type { TicketFields } from "./tickets.ts";
import type { TurnTimings } from "./turns-events.ts";

export type WriteOp =
  | {
    t: "call"; id: number; uuid: string; transport: string; tenant: string; caller: string | null; dnis: string | null;
    peer: string; rate: number; startedAt: number; node: string | null; nodeUrl: string | null;
  }
  | { t: "answered"; id: number; at: number }
  | { t: "caller"; id: number; caller: string | null; dnis: string | null }
  | { t: "rate"; id: number; rate: number }
  | { t: "recordings"; id: number; files: RecordingFile[] }
  | { t: "end"; id: number; at: number; reason: string; detail: string | null }
  | {
    t: "turn"; id: number; callId: number; speaker: string; text: string; startedAt: number; endedAt: number | null;
    interrupted: boolean; replyId: number | null; provider: string | null;
  }
  | { t: "finish"; id: number; endedAt: number; interrupted: boolean }
  | { t: "timings"; id: number; timings: Partial<TurnTimings> }
  | { t: "reply"; id: number; replyId: number | null; provider: string | null }
  | { t: "text"; id: number; text: string }
  | { t: "event"; id: number; callId: number | null; kind: string; detail: string | null; at: number }
  | { t: "ticket"; id: number; callId: number; fields: TicketFields; at: number }
  | { t: "ticket-update"; id: number; fields: TicketFields; status: string | null; at: number };

/** Parses one journal line; null when it is not a write this version knows (a torn last line). */
export function parseOp(line: string): WriteOp | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === "object" && v !== null && "t" in v && "id" in v && typeof v.id === "number" ? (v as WriteOp) : null;
  } catch {
    return null;
  }
}
