import type { Database, Statement } from "bun:sqlite";
import { explainWriteError } from "./db.ts";
import type { Speaker, TurnTimings } from "./shapes.ts";

export type { Speaker, TurnTimings } from "./shapes.ts";

/** Which reply a turn belongs to, and which model wrote it ("groq:llama-3.3-70b-versatile"). */
export interface TurnReply {
  replyId?: number | null;
  llmProvider?: string | null;
}

export interface NewTurn extends TurnReply {
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
  replyId: number | null;
  llmProvider: string | null;
  timings: TurnTimings;
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
  reply_id: number | null;
  llm_provider: string | null;
  speech_end_at: number | null;
  stt_final_at: number | null;
  llm_first_token_at: number | null;
  tts_first_byte_at: number | null;
  first_frame_at: number | null;
  last_frame_at: number | null;
  barge_in_at: number | null;
}

type Stamp = number | null;

interface EventDbRow {
  id: number;
  call_id: number | null;
  kind: string;
  detail: string | null;
  at: number;
}

/** The `turns` and `events` tables: the two timelines of a call. */
export class TurnsEventsTables {
  private readonly addTurnStmt: Statement<void, [number | null, number, Speaker, string, number, number | null, number, number | null, string | null]>;
  private readonly finishTurnStmt: Statement<void, [number, number, number]>;
  private readonly timingsStmt: Statement<void, [Stamp, Stamp, Stamp, Stamp, Stamp, Stamp, Stamp, number]>;
  private readonly replyStmt: Statement<void, [number | null, string | null, number]>;
  private readonly textStmt: Statement<void, [string, number]>;
  private readonly addEventStmt: Statement<void, [number | null, number | null, string, string | null, number]>;
  private readonly turnsStmt: Statement<TurnDbRow, [number]>;
  private readonly eventsStmt: Statement<EventDbRow, [number]>;

  constructor(db: Database) {
    this.addTurnStmt = db.prepare(
      "INSERT INTO turns (id, call_id, speaker, text, started_at, ended_at, interrupted, reply_id, llm_provider) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.finishTurnStmt = db.prepare("UPDATE turns SET ended_at = ?, interrupted = ? WHERE id = ?");
    // One statement for any subset of stamps: a null parameter keeps the stored value.
    this.timingsStmt = db.prepare(`UPDATE turns SET
      speech_end_at = COALESCE(?1, speech_end_at),
      stt_final_at = COALESCE(?2, stt_final_at),
      llm_first_token_at = COALESCE(?3, llm_first_token_at),
      tts_first_byte_at = COALESCE(?4, tts_first_byte_at),
      first_frame_at = COALESCE(?5, first_frame_at),
      last_frame_at = COALESCE(?6, last_frame_at),
      barge_in_at = COALESCE(?7, barge_in_at)
      WHERE id = ?8`);
    this.replyStmt = db.prepare("UPDATE turns SET reply_id = COALESCE(?1, reply_id), llm_provider = COALESCE(?2, llm_provider) WHERE id = ?3");
    this.textStmt = db.prepare("UPDATE turns SET text = ? WHERE id = ?");
    this.addEventStmt = db.prepare("INSERT INTO events (id, call_id, kind, detail, at) VALUES (?, ?, ?, ?, ?)");
    this.turnsStmt = db.prepare("SELECT * FROM turns WHERE call_id = ? ORDER BY started_at, id");
    this.eventsStmt = db.prepare("SELECT * FROM events WHERE call_id = ? ORDER BY at, id");
  }

  /** `id` null: the next free one. */
  addTurn(callId: number, turn: NewTurn, id: number | null = null): number {
    checkSpeaker(turn.speaker);
    const replyId = checkReplyId(turn.replyId);
    const provider = checkProvider(turn.llmProvider);
    try {
      const r = this.addTurnStmt.run(id, callId, turn.speaker, turn.text, turn.startedAt, turn.endedAt ?? null, turn.interrupted ? 1 : 0, replyId, provider);
      return Number(r.lastInsertRowid);
    } catch (err) {
      throw explainWriteError(err, callId);
    }
  }

  finishTurn(turnId: number, end: { endedAt: number; interrupted: boolean }): void {
    if (this.finishTurnStmt.run(end.endedAt, end.interrupted ? 1 : 0, turnId).changes !== 1) throw noTurn(turnId);
  }

  /** Sets the stamps given (whole ms); absent or null ones keep their stored value. */
  setTimings(turnId: number, partial: Partial<TurnTimings>): void {
    const s = (name: keyof TurnTimings): Stamp => checkStamp(name, partial[name]);
    const changes = this.timingsStmt.run(
      s("speechEndAt"), s("sttFinalAt"), s("llmFirstTokenAt"), s("ttsFirstByteAt"), s("firstFrameAt"), s("lastFrameAt"), s("bargeInAt"),
      turnId,
    ).changes;
    if (changes !== 1) throw noTurn(turnId);
  }

  /** Sets the reply id and provider given; absent or null ones keep their stored value. */
  setReply(turnId: number, reply: TurnReply): void {
    if (this.replyStmt.run(checkReplyId(reply.replyId), checkProvider(reply.llmProvider), turnId).changes !== 1) throw noTurn(turnId);
  }

  /** A bot reply's text is what the caller heard, known only once its audio stops. */
  setText(turnId: number, text: string): void {
    checkText(text);
    if (this.textStmt.run(text, turnId).changes !== 1) throw noTurn(turnId);
  }

  /** `id` null: the next free one. */
  addEvent(callId: number | null, event: NewEvent, id: number | null = null): void {
    try {
      this.addEventStmt.run(id, callId, event.kind, event.detail ?? null, event.at);
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
      replyId: r.reply_id,
      llmProvider: r.llm_provider,
      timings: {
        speechEndAt: r.speech_end_at,
        sttFinalAt: r.stt_final_at,
        llmFirstTokenAt: r.llm_first_token_at,
        ttsFirstByteAt: r.tts_first_byte_at,
        firstFrameAt: r.first_frame_at,
        lastFrameAt: r.last_frame_at,
        bargeInAt: r.barge_in_at,
      },
    }));
  }

  eventsOf(callId: number): EventRow[] {
    return this.eventsStmt.all(callId).map((r) => ({ id: r.id, callId: r.call_id, kind: r.kind, detail: r.detail, at: r.at }));
  }
}

function noTurn(turnId: number): Error {
  return new Error(`no turn with id ${turnId} in the store`);
}

/** Sub-ms stamps (performance.now() based) are rounded: the columns hold whole ms. */
/** Checks alike for both back-ends: who spoke, and a turn's text. */
export function checkSpeaker(speaker: string): void {
  if (speaker !== "bot" && speaker !== "caller") throw new Error(`turn speaker ${JSON.stringify(speaker)} is not allowed: "bot" or "caller"`);
}

export function checkText(text: unknown): void {
  if (typeof text !== "string") throw new Error(`turn text ${JSON.stringify(text)} is not allowed: a string`);
}

export function checkStamp(name: keyof TurnTimings, value: number | null | undefined): Stamp {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new Error(`turn timing ${name} ${shown(value)} is not allowed: epoch milliseconds, a finite number of at least 0`);
  }
  return Math.round(value);
}

export function checkReplyId(value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`turn reply id ${shown(value)} is not allowed: a whole number of at least 0`);
  }
  return value;
}

export function checkProvider(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.trim() === "") {
    throw new Error(`turn LLM provider ${JSON.stringify(value)} is not allowed: a non-empty name such as "groq:llama-3.3-70b-versatile"`);
  }
  return value;
}

/** JSON.stringify would print NaN and Infinity as null. */
function shown(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}
