import type { Database, Statement } from "bun:sqlite";
import { explainWriteError } from "./db.ts";

export type Speaker = "bot" | "caller";

export interface NewTurn {
  speaker: Speaker;
  text: string;
  startedAt: number;
  endedAt?: number | null;
  interrupted?: boolean;
}

export interface TurnRow {
  id: number;
  callId: number;
  speaker: Speaker;
  text: string;
  startedAt: number;
  endedAt: number | null;
  interrupted: boolean;
}

export interface NewEvent {
  kind: string;
  detail?: string | null;
  at: number;
}

export interface EventRow {
  id: number;
  /** null: an event of the server, not of one call (e.g. a rejected connection). */
  callId: number | null;
  kind: string;
  detail: string | null;
  at: number;
}

interface TurnDbRow {
  id: number;
  call_id: number;
  speaker: Speaker;
  text: string;
  started_at: number;
  ended_at: number | null;
  interrupted: number;
}

interface EventDbRow {
  id: number;
  call_id: number | null;
  kind: string;
  detail: string | null;
  at: number;
}

/** The `turns` and `events` tables: the two timelines of a call. */
export class TurnsEventsTables {
  private readonly addTurnStmt: Statement<void, [number, Speaker, string, number, number | null, number]>;
  private readonly finishTurnStmt: Statement<void, [number, number, number]>;
  private readonly addEventStmt: Statement<void, [number | null, string, string | null, number]>;
  private readonly turnsStmt: Statement<TurnDbRow, [number]>;
  private readonly eventsStmt: Statement<EventDbRow, [number]>;

  constructor(db: Database) {
    this.addTurnStmt = db.prepare("INSERT INTO turns (call_id, speaker, text, started_at, ended_at, interrupted) VALUES (?, ?, ?, ?, ?, ?)");
    this.finishTurnStmt = db.prepare("UPDATE turns SET ended_at = ?, interrupted = ? WHERE id = ?");
    this.addEventStmt = db.prepare("INSERT INTO events (call_id, kind, detail, at) VALUES (?, ?, ?, ?)");
    this.turnsStmt = db.prepare("SELECT * FROM turns WHERE call_id = ? ORDER BY started_at, id");
    this.eventsStmt = db.prepare("SELECT * FROM events WHERE call_id = ? ORDER BY at, id");
  }

  addTurn(callId: number, turn: NewTurn): number {
    if (turn.speaker !== "bot" && turn.speaker !== "caller") {
      throw new Error(`turn speaker ${JSON.stringify(turn.speaker)} is not allowed: "bot" or "caller"`);
    }
    try {
      const r = this.addTurnStmt.run(callId, turn.speaker, turn.text, turn.startedAt, turn.endedAt ?? null, turn.interrupted ? 1 : 0);
      return Number(r.lastInsertRowid);
    } catch (err) {
      throw explainWriteError(err, callId);
    }
  }

  finishTurn(turnId: number, end: { endedAt: number; interrupted: boolean }): void {
    if (this.finishTurnStmt.run(end.endedAt, end.interrupted ? 1 : 0, turnId).changes !== 1) {
      throw new Error(`no turn with id ${turnId} in the store`);
    }
  }

  addEvent(callId: number | null, event: NewEvent): void {
    try {
      this.addEventStmt.run(callId, event.kind, event.detail ?? null, event.at);
    } catch (err) {
      throw explainWriteError(err, callId);
    }
  }

  turnsOf(callId: number): TurnRow[] {
    return this.turnsStmt.all(callId).map((r) => ({
      id: r.id,
      callId: r.call_id,
      speaker: r.speaker,
      text: r.text,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      interrupted: r.interrupted !== 0,
    }));
  }

  eventsOf(callId: number): EventRow[] {
    return this.eventsStmt.all(callId).map((r) => ({ id: r.id, callId: r.call_id, kind: r.kind, detail: r.detail, at: r.at }));
  }
}
