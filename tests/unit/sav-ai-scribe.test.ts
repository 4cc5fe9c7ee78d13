import { describe, expect, test } from "bun:test";
import { parseScribeCall, SCRIBE_TOOL_NAME } from "../../src/dialog/sav-ai-scribe.ts";
import type { DialogAction } from "../../src/dialog/types.ts";
import { AiCall, MONDAY_10H, SATURDAY_13H, records, spoken, thinks, type Scribe } from "../support/sav-ai-call.ts";

const scribes = (actions: readonly DialogAction[]): Scribe[] => actions.filter((a): a is Scribe => a.type === "scribe");
const facts = (args: object | string) => parseScribeCall({ id: "1", name: SCRIBE_TOOL_NAME, arguments: typeof args === "string" ? args : JSON.stringify(args) });

/** A call whose caller already said the box is broken (scribe answered): state SOLUTION. */
function callWithProblem(at = MONDAY_10H): AiCall {
  const call = new AiCall(at);
  call.send({ type: "start", callerNumber: "0611223344" });
  call.talk("Ma box internet ne marche plus");
  expect(call.dialog.state).toBe("SOLUTION");
  return call;
}

describe("AI SAV dialog with a scribe: no tool round trip before the answer", () => {
  test("each caller turn asks for the reply and, beside it, the scribe with the words alone and the recorded facts", () => {
    const call = callWithProblem();
    const out = call.send({ type: "callerSaid", text: "Je m'appelle Ana Lima", at: MONDAY_10H });
    const [scribe] = scribes(out);
    expect(scribe?.tool.name).toBe(SCRIBE_TOOL_NAME);
    expect(scribe?.messages[0]?.content).toContain('"problem_type":"internet"');
    expect(scribe?.messages.slice(1).map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(thinks(out)).toHaveLength(1);
  });

  test("tool first, no words: the ticket number is said at once, the rest of the goodbye waits for the turn's scribe, whose facts decide the ticket", () => {
    const call = callWithProblem();
    const said = call.send({ type: "callerSaid", text: "Ça marche maintenant", at: MONDAY_10H });
    const [think] = thinks(said);
    const [scribe] = scribes(said);
    const decided = call.send({ type: "toolCall", replyId: think?.replyId ?? 0, call: call.call("end_call", { reason: "résolu" }), at: MONDAY_10H });
    expect(spoken(decided)).toEqual([["ticketNumberIs", "#42"]]);
    expect(decided.some((a) => a.type === "updateTicket" || a.type === "hangup")).toBe(false);
    expect(call.send({ type: "replyDone", replyId: think?.replyId ?? 0, text: "" })).toEqual([]);
    // Words after the decision do not reopen the conversation.
    expect(call.send({ type: "callerSaid", text: "Merci beaucoup", at: MONDAY_10H })).toEqual([]);
    const written = call.answerScribe(scribe as Scribe);
    expect(records(written, "state")).toEqual(["SOLUTION->VERIFICATION", "VERIFICATION->GOODBYE"]);
    expect(spoken(written)).toEqual([["goodbyeResolved"]]);
    expect(written.at(-1)).toEqual({ type: "hangup", reason: "resolved" });
    expect(call.ticket().status).toBe("resolved");
  });

  test("words and a tool call in one message: the words are the reply, the goodbye follows at once when the scribe is done first", () => {
    const call = callWithProblem();
    const said = call.send({ type: "callerSaid", text: "Ça marche maintenant", at: MONDAY_10H });
    call.answerScribe(scribes(said)[0] as Scribe);
    const [think] = thinks(said);
    const decided = call.send({ type: "toolCall", replyId: think?.replyId ?? 0, call: call.call("end_call", { reason: "résolu" }), at: MONDAY_10H });
    expect(spoken(decided)).toEqual([["ticketNumberIs", "#42", "goodbyeResolved"]]);
    expect(call.send({ type: "replyDone", replyId: think?.replyId ?? 0, text: "Parfait, au revoir." })).toEqual([]);
    expect(call.ticket().status).toBe("resolved");
  });

  test("a scribe that fails: the facts stay, the waiting decision goes on with them", () => {
    const call = callWithProblem();
    const failed = call.talk("Ça marche maintenant", "fails");
    expect(records(failed, "scribe-error")).toEqual(["HTTP 503"]);
    expect(spoken(failed)).toEqual([["ticketNumberIs", "#42"], ["escalated", "goodbye"]]);
    // The fix was never confirmed to work: a known problem left unsolved is escalated.
    expect(failed.at(-1)).toEqual({ type: "hangup", reason: "escalated" });
    expect(call.ticket()).toMatchObject({ problemType: "internet", status: "escalated", phone: "0611223344" });
  });

  test("a slow scribe answering after a newer one is stale: its facts are dropped", () => {
    const call = callWithProblem();
    const first = scribes(call.send({ type: "callerSaid", text: "Je m'appelle Ana Lima, numéro 06 99 88 77 66", at: MONDAY_10H }))[0] as Scribe;
    const second = scribes(call.send({ type: "callerSaid", text: "Oui c'est exact", at: MONDAY_10H }))[0] as Scribe;
    const newer = call.answerScribe(second);
    expect(newer).toContainEqual({ type: "updateTicket", customer: "Ana Lima", phone: "0699887766" });
    expect(call.answerScribe(first)).toEqual([]);
    expect(() => call.send({ type: "scribeDone", scribeId: 9, call: null })).toThrow("scribe answer 9, which it never asked for");
  });

  test("a transfer decided mid-turn waits for the scribe, then hands over with the number it wrote", () => {
    const call = callWithProblem(MONDAY_10H);
    call.talk("Je m'appelle Ana Lima, numéro 06 99 88 77 66");
    const said = call.send({ type: "callerSaid", text: "Oui c'est exact, mais je veux un technicien", at: MONDAY_10H });
    const [think] = thinks(said);
    const waiting = call.send({ type: "toolCall", replyId: think?.replyId ?? 0, call: call.call("request_technician", { reason: "demande du client" }), at: MONDAY_10H });
    expect(waiting.some((a) => a.type === "transfer")).toBe(false);
    expect(spoken(waiting)).toEqual([["ticketNumberIs", "#42"]]);
    const handed = call.answerScribe(scribes(said)[0] as Scribe);
    expect(handed).toContainEqual({ type: "updateTicket", phone: "0699887766" });
    expect(spoken(handed)).toEqual([["transferring"]]);
    expect(handed.at(-1)).toEqual({ type: "transfer", reason: "demande du client" });
  });

  test("outside hours, a callback decided while the scribe writes announces the next opening", () => {
    const call = callWithProblem(SATURDAY_13H);
    const out = call.talk("ça ne marche toujours pas");
    expect(spoken(out)[0]?.[0]).toBe('"Un technicien vous rappellera lundi à partir de 9 heures."');
    expect(call.ticket().status).toBe("escalated");
  });

  test("scribe answers after the call is over change the ticket's facts, never its course", () => {
    const call = callWithProblem();
    const said = call.send({ type: "callerSaid", text: "Je m'appelle Ana Lima", at: MONDAY_10H });
    call.send({ type: "callerHangup" });
    const late = call.answerScribe(scribes(said)[0] as Scribe);
    expect(late).toContainEqual({ type: "updateTicket", customer: "Ana Lima" });
    expect(records(late, "state")).toEqual([]);
    expect(late.some((a) => a.type === "say" || a.type === "hangup")).toBe(false);
  });
});

describe("parseScribeCall", () => {
  test("keeps a phone only once confirmed, normalized", () => {
    expect(facts({ name: " Ana ", phone: "+33 6.12-34 56 78", phone_confirmed: true })).toEqual({ ok: true, facts: { customer: "Ana", phone: "+33612345678" } });
    expect(facts({ name: "Ana", phone: "0612345678", phone_confirmed: false })).toEqual({ ok: true, facts: { customer: "Ana" } });
    expect(facts({ problem_type: "mobile", description: "plus de réseau", solved: false })).toEqual({ ok: true, facts: { problemType: "mobile", description: "plus de réseau", solved: false } });
    expect(facts({})).toEqual({ ok: true, facts: {} });
    expect(facts("")).toEqual({ ok: true, facts: {} });
  });

  test("refuses what would spoil the ticket, saying what is wrong", () => {
    const error = (args: object | string): string => {
      const parsed = facts(args);
      return parsed.ok ? "" : parsed.error;
    };
    expect(error({ phone: "call me maybe", phone_confirmed: true })).toContain("is not a phone number");
    expect(error({ problem_type: "fridge" })).toContain("internet, mobile, other");
    expect(error({ solved: "yes" })).toContain("true or false");
    expect(error({ name: 7 })).toContain("must be a string");
    expect(error("[1]")).toContain("must be a JSON object");
    expect(error("{oops")).toContain("not valid JSON");
    const other = parseScribeCall({ id: "1", name: "end_call", arguments: "{}" });
    expect(other.ok ? "" : other.error).toContain(`not ${SCRIBE_TOOL_NAME}`);
  });
});
