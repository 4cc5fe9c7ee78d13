import type { CallEnd, NewCall, RecordingFile, StoreNode } from "./calls.ts";
import { checkRate } from "./calls.ts";
import type { CallWriter, StoreChange } from "./contracts.ts";
import { checkTicketStatus, type TicketFields } from "./tickets.ts";
import { checkProvider, checkReplyId, checkSpeaker, checkStamp, checkText, type NewEvent, type NewTurn, type Speaker, type TurnReply, type TurnTimings } from "./turns-events.ts";
import type { WriteOp } from "./write-ops.ts";

/** Where a table's new row ids come from; `at` is the write's time (a pool counts its use). */
export interface IdSource {
  take(at: number): number;
}

export interface IdSources {
  calls: IdSource;
  turns: IdSource;
  events: IdSource;
  tickets: IdSource;
}

/** Takes the writes in order; they reach the store behind, never while the caller waits. */
export interface OpSink {
  push(op: WriteOp): void;
}

const STAMPS: readonly (keyof TurnTimings)[] = ["speechEndAt", "sttFinalAt", "llmFirstTokenAt", "ttsFirstByteAt", "firstFrameAt", "lastFrameAt", "bargeInAt"];

/**
 * A call's writes as serve makes them: checked as the Store checks them, given their ids at once,
 * and handed to the sink; nothing here waits for a disk or a network.
 */
export class OpsWriter implements CallWriter {
  private observer: ((change: StoreChange) => void) | null = null;
  /** Live turns' call and speaker, for the live feed's text updates; forgotten when the call ends. */
  private readonly turnsOfLive = new Map<number, { callId: number; speaker: Speaker }>();
  private readonly liveTurnIds = new Map<number, number[]>();

  constructor(private readonly queue: OpSink, private readonly ids: IdSources, private readonly node: StoreNode) {}

  observe(observer: ((change: StoreChange) => void) | null): void {
    this.observer = observer;
  }

  insertCall(c: NewCall): number {
    checkRate(c.sampleRate);
    const id = this.ids.calls.take(c.startedAt);
    this.queue.push({
      t: "call", id, uuid: c.uuid.toLowerCase(), transport: c.transport, tenant: c.tenant, caller: c.caller, dnis: c.dnis ?? null,
      peer: c.peer, rate: c.sampleRate, startedAt: c.startedAt, node: this.node.id, nodeUrl: this.node.url,
    });
    this.liveTurnIds.set(id, []);
    this.observer?.({ kind: "call-started", callId: id, uuid: c.uuid, tenant: c.tenant, caller: c.caller, transport: c.transport, at: c.startedAt });
    return id;
  }

  setCallAnswered(callId: number, at: number): void {
    this.queue.push({ t: "answered", id: callId, at });
  }

  setCallCaller(callId: number, caller: string | null, dnis: string | null): void {
    this.queue.push({ t: "caller", id: callId, caller, dnis });
  }

  setCallSampleRate(callId: number, rate: number): void {
    checkRate(rate);
    this.queue.push({ t: "rate", id: callId, rate });
  }

  setCallRecordings(callId: number, recordings: readonly RecordingFile[]): void {
    this.queue.push({ t: "recordings", id: callId, files: [...recordings] });
  }

  endCall(callId: number, end: CallEnd): void {
    this.queue.push({ t: "end", id: callId, at: end.endedAt, reason: end.reason, detail: end.detail ?? null });
    for (const turnId of this.liveTurnIds.get(callId) ?? []) this.turnsOfLive.delete(turnId);
    this.liveTurnIds.delete(callId);
    this.observer?.({ kind: "call-ended", callId, reason: end.reason, at: end.endedAt });
  }

  addTurn(callId: number, turn: NewTurn): number {
    checkSpeaker(turn.speaker);
    const replyId = checkReplyId(turn.replyId);
    const provider = checkProvider(turn.llmProvider);
    const id = this.ids.turns.take(turn.startedAt);
    this.queue.push({
      t: "turn", id, callId, speaker: turn.speaker, text: turn.text, startedAt: turn.startedAt, endedAt: turn.endedAt ?? null,
      interrupted: turn.interrupted === true, replyId, provider,
    });
    const live = this.liveTurnIds.get(callId);
    if (live !== undefined) {
      live.push(id);
      this.turnsOfLive.set(id, { callId, speaker: turn.speaker });
    }
    if (turn.text !== "") this.observer?.({ kind: "turn", callId, turnId: id, speaker: turn.speaker, text: turn.text, at: turn.startedAt });
    return id;
  }

  finishTurn(turnId: number, end: { endedAt: number; interrupted: boolean }): void {
    this.queue.push({ t: "finish", id: turnId, endedAt: end.endedAt, interrupted: end.interrupted });
  }

  setTurnTimings(turnId: number, partial: Partial<TurnTimings>): void {
    const timings: Partial<TurnTimings> = {};
    for (const name of STAMPS) {
      const stamp = checkStamp(name, partial[name]);
      if (stamp !== null) timings[name] = stamp;
    }
    this.queue.push({ t: "timings", id: turnId, timings });
  }

  setTurnReply(turnId: number, reply: TurnReply): void {
    this.queue.push({ t: "reply", id: turnId, replyId: checkReplyId(reply.replyId), provider: checkProvider(reply.llmProvider) });
  }

  setTurnText(turnId: number, text: string): void {
    checkText(text);
    this.queue.push({ t: "text", id: turnId, text });
    const turn = this.turnsOfLive.get(turnId);
    if (turn !== undefined) this.observer?.({ kind: "turn", callId: turn.callId, turnId, speaker: turn.speaker, text, at: Date.now() });
  }

  addEvent(callId: number | null, event: NewEvent): void {
    const id = this.ids.events.take(event.at);
    this.queue.push({ t: "event", id, callId, kind: event.kind, detail: event.detail ?? null, at: event.at });
    if (callId !== null) this.observer?.({ kind: "event", callId, event: event.kind, detail: event.detail ?? null, at: event.at });
  }

  openTicket(callId: number, t: TicketFields & { at: number }): number {
    const id = this.ids.tickets.take(t.at);
    this.queue.push({ t: "ticket", id, callId, fields: ticketFields(t), at: t.at });
    return id;
  }

  updateTicket(ticketId: number, t: TicketFields & { status?: string; at: number }): void {
    checkTicketStatus(t.status);
    this.queue.push({ t: "ticket-update", id: ticketId, fields: ticketFields(t), status: t.status ?? null, at: t.at });
  }
}

/** Only the four fields, as given (undefined keeps, null clears). */
function ticketFields(t: TicketFields): TicketFields {
  const f: TicketFields = {};
  if (t.customer !== undefined) f.customer = t.customer;
  if (t.phone !== undefined) f.phone = t.phone;
  if (t.problemType !== undefined) f.problemType = t.problemType;
  if (t.description !== undefined) f.description = t.description;
  return f;
}
