/**
 * The calls the store suite asks about, written through Store's own writes: two appliances (an
 * unfinished call on each), a UUID used twice, two calls starting in the same millisecond (the
 * keyset cursor's tie), accents, apostrophes and prefixes for the text search, every ticket status,
 * dialog-state events, a server event, recordings, and enough plain calls to page through.
 */
import { Store } from "../../src/store/store.ts";

export const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);
export const NODE_A = { id: "app-a", url: "http://10.0.0.1:9091" };
export const NODE_B = { id: "app-b", url: "http://10.0.0.2:9091" };

const base = { transport: "audiosocket", peer: "10.0.0.5:40122", sampleRate: 8000 };

/** Fills <dataDir>/voicebot.db; returns the ids of the calls that tests name. */
export function fillStore(dataDir: string): { unfinishedA: number; unfinishedB: number } {
  const a = Store.open(dataDir, { node: NODE_A });
  const first = a.insertCall({ ...base, uuid: "AB12CD34-0000-4000-8000-000000000001", tenant: "default", caller: "+33611111111", startedAt: T0 });
  a.setCallAnswered(first, T0 + 200);
  const said = a.addTurn(first, { speaker: "caller", text: "Ma Box est hors service depuis ce matin", startedAt: T0 + 1000, endedAt: T0 + 3000, replyId: 1 });
  a.setTurnTimings(said, { speechEndAt: T0 + 3000, sttFinalAt: T0 + 3150.4 });
  const reply = a.addTurn(first, { speaker: "bot", text: "", startedAt: T0 + 3400, replyId: 1, llmProvider: "groq:llama-3.3-70b-versatile" });
  a.setTurnTimings(reply, { llmFirstTokenAt: T0 + 3300, ttsFirstByteAt: T0 + 3380, firstFrameAt: T0 + 3400 });
  a.setTurnText(reply, "Pouvez-vous redémarrer l'écran de la box ?");
  a.finishTurn(reply, { endedAt: T0 + 5000, interrupted: true });
  a.addEvent(first, { kind: "state", detail: "WELCOME->DIAGNOSTIC", at: T0 + 900 });
  const ticket1 = a.openTicket(first, { customer: "Jean Dupont", phone: "+33611111111", problemType: "internet", description: "box HS", at: T0 + 6000 });
  a.updateTicket(ticket1, { status: "resolved", at: T0 + 7000 });
  a.setCallRecordings(first, [{ channel: "caller", path: "/nonexistent/1-caller.s16le", sampleRate: 8000 }, { channel: "bot", path: "/nonexistent/1-bot.s16le", sampleRate: 8000 }]);
  a.endCall(first, { endedAt: T0 + 8000, reason: "caller-hangup" });

  // The same UUID again (a dialplan that hard-codes it), and a second call in the same millisecond.
  const again = a.insertCall({ ...base, uuid: "ab12cd34-0000-4000-8000-000000000001", tenant: "acme", caller: "+33622222222", dnis: "0800123456", startedAt: T0 + 60_000 });
  a.addTurn(again, { speaker: "caller", text: "Internet est coupé, l'écran reste noir", startedAt: T0 + 61_000 });
  const ticket2 = a.openTicket(again, { customer: "Zoé Martin", problemType: "tv", at: T0 + 62_000 });
  a.updateTicket(ticket2, { status: "escalated", description: "écran noir", at: T0 + 63_000 });
  a.endCall(again, { endedAt: T0 + 64_000, reason: "transfer", detail: "to 6001@technicians" });
  const tie = a.insertCall({ ...base, transport: "audiostream", uuid: "tie-call", tenant: "default", caller: "+33611111111", startedAt: T0 + 60_000 });
  a.addTurn(tie, { speaker: "caller", text: "ma box", startedAt: T0 + 60_500 });
  a.addTurn(tie, { speaker: "bot", text: "hors de question", startedAt: T0 + 60_800, interrupted: false });
  a.setCallSampleRate(tie, 16000);
  a.endCall(tie, { endedAt: T0 + 70_000, reason: "silence" });

  for (let i = 0; i < 9; i++) {
    const id = a.insertCall({ ...base, uuid: `plain-${i}`, tenant: i % 2 === 0 ? "default" : "acme", caller: i % 3 === 0 ? null : `+3363333333${i}`, startedAt: T0 + 100_000 + i * 1000 });
    if (i % 4 === 0) a.openTicket(id, { problemType: i % 8 === 0 ? "internet" : "phone", at: T0 + 100_500 + i * 1000 });
    if (i === 5) a.setCallCaller(id, "+33644444444", "0800999999");
    // What PostgreSQL's parser would read as one token (an address, dotted numbers, a URL), FTS5 as several words.
    if (i === 7) a.addTurn(id, { speaker: "caller", text: "Écrivez à jean.dupont@free.fr ou au +33 6.12.34.56.78, modem v2.5 (https://free.fr/aide) vers 10:30", startedAt: T0 + 107_100 });
    a.endCall(id, { endedAt: T0 + 100_900 + i * 1000, reason: i % 2 === 0 ? "completed" : "caller-hangup" });
  }
  a.addEvent(null, { kind: "rejected", detail: "10.9.9.9 not allowed", at: T0 + 150_000 });

  const unfinishedA = a.insertCall({ ...base, uuid: "live-on-a", tenant: "default", caller: "+33655555555", startedAt: T0 + 200_000 });
  a.setCallAnswered(unfinishedA, T0 + 200_100);
  a.addEvent(unfinishedA, { kind: "state", detail: "MENU->IDENTIFICATION", at: T0 + 200_500 });
  a.addEvent(unfinishedA, { kind: "state", detail: "IDENTIFICATION->DIAGNOSTIC", at: T0 + 201_500 });
  a.addTurn(unfinishedA, { speaker: "caller", text: "Mon téléphone ne sonne plus", startedAt: T0 + 202_000, endedAt: T0 + 204_000 });
  a.openTicket(unfinishedA, { customer: "Luc", at: T0 + 205_000 });
  a.close();

  const b = Store.open(dataDir, { node: NODE_B });
  const unfinishedB = b.insertCall({ ...base, transport: "chan_websocket", uuid: "live-on-b", tenant: "acme", caller: "+33666666666", startedAt: T0 + 210_000 });
  b.openTicket(unfinishedB, { customer: "Ana", at: T0 + 211_000 });
  b.addEvent(unfinishedB, { kind: "state", detail: "WELCOME", at: T0 + 210_500 });
  const doneB = b.insertCall({ ...base, uuid: "done-on-b", tenant: "acme", caller: "+33622222222", startedAt: T0 + 220_000 });
  const ticketB = b.openTicket(doneB, { problemType: "internet", at: T0 + 221_000 });
  b.updateTicket(ticketB, { status: "abandoned", at: T0 + 222_000 });
  b.endCall(doneB, { endedAt: T0 + 223_000, reason: "caller-hangup" });
  b.close();
  return { unfinishedA, unfinishedB };
}
