import type { Store } from "./store.ts";
import type { Speaker } from "./turns-events.ts";
import type { WriteOp } from "./write-ops.ts";

/** One queued write on the SQLite store, with the id serve gave it. */
export function applyOp(store: Store, op: WriteOp): void {
  switch (op.t) {
    case "call":
      store.insertCall({ uuid: op.uuid, transport: op.transport, tenant: op.tenant, caller: op.caller, dnis: op.dnis, peer: op.peer, sampleRate: op.rate, startedAt: op.startedAt }, op.id);
      return;
    case "answered":
      return store.setCallAnswered(op.id, op.at);
    case "caller":
      return store.setCallCaller(op.id, op.caller, op.dnis);
    case "rate":
      return store.setCallSampleRate(op.id, op.rate);
    case "recordings":
      return store.setCallRecordings(op.id, op.files);
    case "end":
      return store.endCall(op.id, { endedAt: op.at, reason: op.reason, detail: op.detail });
    case "turn":
      store.addTurn(op.callId, {
        speaker: op.speaker as Speaker, text: op.text, startedAt: op.startedAt, endedAt: op.endedAt, interrupted: op.interrupted, replyId: op.replyId, llmProvider: op.provider,
      }, op.id);
      return;
    case "finish":
      return store.finishTurn(op.id, { endedAt: op.endedAt, interrupted: op.interrupted });
    case "timings":
      return store.setTurnTimings(op.id, op.timings);
    case "reply":
      return store.setTurnReply(op.id, { replyId: op.replyId, llmProvider: op.provider });
    case "text":
      return store.setTurnText(op.id, op.text);
    case "event":
      return store.addEvent(op.callId, { kind: op.kind, detail: op.detail, at: op.at }, op.id);
    case "ticket":
      store.openTicket(op.callId, { ...op.fields, at: op.at }, op.id);
      return;
    case "ticket-update":
      return store.updateTicket(op.id, { ...op.fields, ...(op.status === null ? {} : { status: op.status }), at: op.at });
  }
}
