import type { Database, Statement } from "bun:sqlite";
import { recordedMs } from "./recorded-length.ts";
import type { CallSummary, NewCall, RecordingFile } from "./shapes.ts";

export type { CallSummary, NewCall, RecordingFile } from "./shapes.ts";

/** The appliance writing: stamped on each call it takes. null fields = a store of one appliance. */
export interface StoreNode {
  id: string | null;
  /** Its admin base URL, where another appliance fetches this one's recordings. */
  url: string | null;
}

export interface CallEnd {
  endedAt: number;
  reason: string;
  detail?: string | null;
}

export interface CallRow {
  id: number;
  uuid: string;
  transport: string;
  tenant: string;
  caller: string | null;
  dnis: string | null;
  peer: string;
  sample_rate: number;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
  end_detail: string | null;
  recordings: string;
  node_id: string | null;
  node_url: string | null;
  ticket_id: number | null;
  ticket_status: string | null;
}

export const SUMMARY = `
SELECT c.*, t.id AS ticket_id, t.status AS ticket_status
FROM calls c LEFT JOIN tickets t ON t.id = (SELECT MIN(id) FROM tickets WHERE call_id = c.id)`;

/**
 * An interrupted call ends at its last sign of life, not at the restart hours later: its last row,
 * or the end of its recording (?3, from the files) when that is later.
 */
const LAST_ACTIVITY = `MAX(started_at, COALESCE(answered_at, 0),
  COALESCE((SELECT MAX(MAX(started_at, COALESCE(ended_at, 0))) FROM turns WHERE call_id = calls.id), 0),
  COALESCE((SELECT MAX(at) FROM events WHERE call_id = calls.id), 0))`;

export const INTERRUPTED_DETAIL = "voicebot stopped before the call ended; closed when it started again";

/** The `calls` table: prepared once, reused for every call. */
export class CallsTable {
  private readonly insertStmt: Statement<void, [number | null, string, string, string, string | null, string | null, string, number, number, string | null, string | null]>;
  private readonly answeredStmt: Statement<void, [number, number]>;
  private readonly rateStmt: Statement<void, [number, number]>;
  private readonly callerStmt: Statement<void, [string | null, string | null, number]>;
  private readonly recordingsStmt: Statement<void, [string, number]>;
  private readonly endStmt: Statement<void, [number, string, string | null, number]>;
  private readonly abandonTicketsStmt: Statement<void, [number]>;
  private readonly unfinishedStmt: Statement<{ id: number; started_at: number; recordings: string }, []>;
  private readonly interruptStmt: Statement<void, [number, string, number, number]>;
  private readonly listStmt: Statement<CallRow, [number, number]>;
  private readonly byIdStmt: Statement<CallRow, [number]>;
  private readonly byUuidStmt: Statement<CallRow, [string]>;
  private readonly countStmt: Statement<{ n: number }, []>;
  private readonly liveStmt: Statement<CallRow, []>;
  private readonly stateStmt: Statement<{ detail: string | null }, [number]>;

  constructor(private readonly db: Database, private readonly node: StoreNode) {
    this.insertStmt = db.prepare(
      "INSERT INTO calls (id, uuid, transport, tenant, caller, dnis, peer, sample_rate, started_at, node_id, node_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.answeredStmt = db.prepare("UPDATE calls SET answered_at = ? WHERE id = ?");
    this.rateStmt = db.prepare("UPDATE calls SET sample_rate = ? WHERE id = ?");
    this.callerStmt = db.prepare("UPDATE calls SET caller = COALESCE(?, caller), dnis = COALESCE(?, dnis) WHERE id = ?");
    this.recordingsStmt = db.prepare("UPDATE calls SET recordings = ? WHERE id = ?");
    this.endStmt = db.prepare("UPDATE calls SET ended_at = ?, end_reason = ?, end_detail = ? WHERE id = ?");
    this.abandonTicketsStmt = db.prepare(
      "UPDATE tickets SET status = 'incomplete', updated_at = ? WHERE status = 'open' AND call_id IN (SELECT id FROM calls WHERE ended_at IS NULL)",
    );
    this.unfinishedStmt = db.prepare("SELECT id, started_at, recordings FROM calls WHERE ended_at IS NULL");
    this.interruptStmt = db.prepare(
      `UPDATE calls SET ended_at = MAX(started_at, MIN(?1, MAX(${LAST_ACTIVITY}, ?3))), end_reason = 'interrupted', end_detail = ?2
       WHERE id = ?4 AND ended_at IS NULL`,
    );
    this.listStmt = db.prepare(`${SUMMARY} ORDER BY c.started_at DESC, c.id DESC LIMIT ? OFFSET ?`);
    this.byIdStmt = db.prepare(`${SUMMARY} WHERE c.id = ?`);
    this.byUuidStmt = db.prepare(`${SUMMARY} WHERE c.uuid = ? ORDER BY c.started_at DESC, c.id DESC LIMIT 1`);
    this.countStmt = db.prepare("SELECT COUNT(*) AS n FROM calls");
    this.liveStmt = db.prepare(`${SUMMARY} WHERE c.id IN (SELECT id FROM calls WHERE ended_at IS NULL) ORDER BY c.started_at, c.id`);
    this.stateStmt = db.prepare("SELECT detail FROM events WHERE call_id = ? AND kind = 'state' ORDER BY at DESC, id DESC LIMIT 1");
  }

  /** `id` null: the next free one. */
  insert(c: NewCall, id: number | null = null): number {
    checkRate(c.sampleRate);
    const r = this.insertStmt.run(id, c.uuid, c.transport, c.tenant, c.caller, c.dnis ?? null, c.peer, c.sampleRate, c.startedAt, this.node.id, this.node.url);
    return Number(r.lastInsertRowid);
  }

  setAnswered(callId: number, at: number): void {
    expectOne(this.answeredStmt.run(at, callId).changes, callId);
  }

  setCaller(callId: number, caller: string | null, dnis: string | null): void {
    expectOne(this.callerStmt.run(caller, dnis, callId).changes, callId);
  }

  setSampleRate(callId: number, rate: number): void {
    checkRate(rate);
    expectOne(this.rateStmt.run(rate, callId).changes, callId);
  }

  setRecordings(callId: number, recordings: readonly RecordingFile[]): void {
    expectOne(this.recordingsStmt.run(JSON.stringify(recordings), callId).changes, callId);
  }

  end(callId: number, end: CallEnd): void {
    expectOne(this.endStmt.run(end.endedAt, end.reason, end.detail ?? null, callId).changes, callId);
  }

  /** Open tickets of those calls become "incomplete": nobody will ever finish them. */
  closeInterrupted(now: number): number {
    const recordedEnds = this.unfinishedStmt.all().map((c) => {
      const recorded = recordedMs(parseRecordings(c.recordings), c.started_at);
      return { id: c.id, end: recorded === null ? 0 : c.started_at + recorded };
    });
    return this.db.transaction(() => {
      this.abandonTicketsStmt.run(now);
      let closed = 0;
      for (const { id, end } of recordedEnds) closed += this.interruptStmt.run(now, INTERRUPTED_DETAIL, end, id).changes;
      return closed;
    }).immediate();
  }

  list(limit: number, offset: number): CallSummary[] {
    return this.listStmt.all(limit, offset).map(toSummary);
  }

  byId(id: number): CallSummary | null {
    const row = this.byIdStmt.get(id);
    return row ? toSummary(row) : null;
  }

  /** UUIDs can repeat (hard-coded in a dialplan): the latest call wins. */
  byUuid(uuid: string): CallSummary | null {
    const row = this.byUuidStmt.get(uuid);
    return row ? toSummary(row) : null;
  }

  /** With each call's dialog state: the end of its last "state" event ("MENU->DIAGNOSTIC" → "DIAGNOSTIC"). */
  unfinished(): (CallSummary & { state: string | null })[] {
    return this.liveStmt.all().map((row) => {
      const detail = this.stateStmt.get(row.id)?.detail ?? null;
      return { ...toSummary(row), state: detail === null ? null : (detail.split("->").at(-1) ?? detail) };
    });
  }

  count(): number {
    return this.countStmt.get()?.n ?? 0;
  }
}

export function checkRate(rate: number): void {
  if (!Number.isInteger(rate) || rate <= 0) throw new Error(`call sample rate ${rate} is not allowed: a positive whole number of Hz`);
}

function expectOne(changes: number, callId: number): void {
  if (changes !== 1) throw new Error(`no call with id ${callId} in the store`);
}

export function toSummary(r: CallRow): CallSummary {
  return {
    id: r.id,
    uuid: r.uuid,
    transport: r.transport,
    tenant: r.tenant,
    dnis: r.dnis,
    caller: r.caller,
    peer: r.peer,
    sampleRate: r.sample_rate,
    startedAt: r.started_at,
    answeredAt: r.answered_at,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    endDetail: r.end_detail,
    recordings: parseRecordings(r.recordings),
    durationMs: r.ended_at === null ? null : r.ended_at - r.started_at,
    ticketId: r.ticket_id,
    ticketStatus: r.ticket_status,
    node: r.node_id,
    nodeUrl: r.node_url,
  };
}

export function parseRecordings(json: string): RecordingFile[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? (parsed as RecordingFile[]) : [];
}
