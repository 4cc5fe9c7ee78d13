import { describe, expect, test } from "bun:test";
import { createAiSavDialog } from "../../src/dialog/sav-ai.ts";
import { parseToolCall } from "../../src/dialog/sav-ai-tools.ts";
import type { DialogAction } from "../../src/dialog/types.ts";
import { savBrain } from "../fakes/sav-brain.ts";
import { AiCall, HOURS, MONDAY_10H, SATURDAY_13H, SUNDAY_03H30, records, says, spoken, thinks, type Think } from "../support/sav-ai-call.ts";

const tickets = (actions: readonly DialogAction[]): DialogAction[] => actions.filter((a) => a.type === "updateTicket");

describe("AI SAV dialog: whole calls driven by the fake brain", () => {
  test("internet problem, identification, solved: resolved with the ticket number spoken", () => {
    const call = new AiCall();
    const started = call.send({ type: "start", callerNumber: "+33123456789" });
    expect(started[0]).toEqual({ type: "openTicket" });
    expect(spoken(started)).toEqual([["welcomeAi"]]);
    expect(says(started)[0]).toMatchObject({ interruptible: true, awaitInput: true });
    expect(call.dialog.state).toBe("IDENTIFICATION");

    const problem = call.talk("Bonjour, ma box internet ne marche plus");
    expect(problem).toContainEqual({ type: "updateTicket", problemType: "internet", description: "la box internet ne fonctionne plus" });
    expect(records(problem, "state")).toEqual(["IDENTIFICATION->SOLUTION"]);
    expect(records(problem, "tool")).toEqual([]);
    expect(thinks(problem)).toHaveLength(1); // the scribe filled the ticket: no second round trip
    expect(call.dialog.state).toBe("SOLUTION");

    // The name is kept at once; the number only once the caller confirmed it read back.
    const named = call.talk("Je m'appelle Jean Dupont, mon numéro est le 06 12 34 56 78");
    expect(tickets(named)).toEqual([{ type: "updateTicket", customer: "Jean Dupont" }]);
    const confirmed = call.talk("Oui c'est ça");
    expect(tickets(confirmed)).toEqual([{ type: "updateTicket", phone: "0612345678" }]);

    const solved = call.talk("Ça marche maintenant, merci");
    expect(records(solved, "state")).toEqual(["SOLUTION->VERIFICATION", "VERIFICATION->GOODBYE"]);
    expect(spoken(solved)).toEqual([["ticketNumberIs", "#42", "goodbyeResolved"]]);
    expect(says(solved)[0]).toMatchObject({ interruptible: false, awaitInput: false });
    expect(solved.at(-1)).toEqual({ type: "hangup", reason: "resolved" });
    expect(thinks(solved)).toHaveLength(1); // end_call is terminal: no follow-up think
    expect(call.ticket()).toEqual({
      problemType: "internet",
      description: "la box internet ne fonctionne plus",
      customer: "Jean Dupont",
      phone: "0612345678",
      status: "resolved",
    });
    expect(call.talk("Allô ?")).toEqual([]);
  });

  test("not solved during opening hours: ticket escalated, number spoken, then transfer", () => {
    const call = new AiCall(MONDAY_10H);
    call.send({ type: "start", callerNumber: "0611223344" });
    call.talk("Mon téléphone mobile ne capte plus le réseau");
    const failed = call.talk("Ça ne marche toujours pas");
    expect(failed).toContainEqual({ type: "updateTicket", status: "escalated", phone: "0611223344" });
    expect(spoken(failed)).toEqual([["ticketNumberIs", "#42", "transferring"]]);
    expect(failed.at(-1)).toEqual({ type: "transfer", reason: "la solution proposée n'a pas fonctionné" });
    expect(call.dialog.state).toBe("TRANSFER");
    expect(failed.some((a) => a.type === "hangup")).toBe(false);
    expect(call.send({ type: "callerHangup" }).filter((a) => a.type === "updateTicket")).toEqual([]);
  });

  test("the PBX could not take the transfer: the caller is told, the ticket stays escalated, goodbye", () => {
    const call = new AiCall(MONDAY_10H);
    call.send({ type: "start", callerNumber: "0611223344" });
    call.talk("Mon téléphone mobile ne capte plus le réseau");
    call.talk("Ça ne marche toujours pas");
    const out = call.send({ type: "transferFailed", reason: "AMI is not connected" });
    expect(records(out, "transfer-failed")).toEqual(["AMI is not connected"]);
    expect(spoken(out)).toEqual([["transferFailed", "ticketNumberIs", "#42", "goodbye"]]);
    expect(out.at(-1)).toEqual({ type: "hangup", reason: "escalated" });
    expect(call.ticket().status).toBe("escalated");
  });

  test("outside hours on Saturday afternoon: callback announced for Monday 9 h", () => {
    const call = new AiCall(SATURDAY_13H);
    call.send({ type: "start", callerNumber: null });
    call.talk("Ma connexion internet est coupée");
    const failed = call.talk("ça ne marche toujours pas");
    expect(spoken(failed)).toEqual([['"Un technicien vous rappellera lundi à partir de 9 heures."', "ticketNumberIs", "#42", "goodbye"]]);
    expect(failed.at(-1)).toEqual({ type: "hangup", reason: "escalated" });
    expect(call.ticket().status).toBe("escalated");
  });

  test("outside hours just after the DST switch (Sunday 03:30 CEST): callback tomorrow", () => {
    const call = new AiCall(SUNDAY_03H30);
    call.send({ type: "start", callerNumber: null });
    const out = call.talk("Je veux parler à un technicien");
    expect(spoken(out)[0]?.[0]).toBe('"Un technicien vous rappellera demain à partir de 9 heures."');
  });
});

describe("AI SAV dialog: protocol details", () => {
  test("think carries the state's system prompt and the caller's number, and offers only the tools that change the call", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: "+33 1 23 45 67 89" });
    const asked = call.send({ type: "callerSaid", text: "  Bonjour  ", at: MONDAY_10H });
    expect(asked.map((a) => a.type)).toEqual(["think", "scribe"]);
    const [think] = thinks(asked);
    expect(think?.replyId).toBe(1);
    const system = think?.messages[0];
    expect(system?.role).toBe("system");
    expect(system?.content).toContain("identification");
    expect(system?.content).toContain("Acme");
    expect(system?.content).toContain("+33 1 23 45 67 89");
    expect(system?.content).toContain("notés automatiquement");
    expect(think?.messages.slice(1)).toEqual([{ role: "user", content: "Bonjour" }]);
    expect(think?.tools.map((t) => t.name)).toEqual(["request_technician", "end_call"]);
    expect(call.send({ type: "callerSaid", text: "   ", at: MONDAY_10H })).toEqual([]);
  });

  test("bad tool calls: the result says what is wrong, nothing changes, the model gets another go", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    call.send({ type: "callerSaid", text: "Ma box ne marche plus", at: MONDAY_10H });
    call.send({ type: "scribeFailed", scribeId: 1, error: "HTTP 500" });
    const bad = [
      call.call("set_problem", { type: "internet", description: "x" }),
      call.call("end_call", "{not json"),
      call.call("request_technician", { reason: "  " }),
      call.call("launch_rocket", {}),
    ];
    for (const c of bad) {
      const out = call.send({ type: "toolCall", replyId: 1, call: c, at: MONDAY_10H });
      expect(out.filter((a) => a.type === "updateTicket" || a.type === "hangup")).toEqual([]);
      expect(records(out, "tool-error")).toHaveLength(1);
    }
    expect(call.dialog.state).toBe("IDENTIFICATION");
    const done = call.send({ type: "replyDone", replyId: 1, text: "" });
    const next = thinks(done)[0];
    const results = next?.messages.filter((m) => m.role === "tool").map((m) => JSON.parse(m.content) as { ok: boolean; error: string });
    expect(results?.map((r) => r.ok)).toEqual([false, false, false, false]);
    expect(results?.[0]?.error).toContain("recorded for you");
    expect(results?.[1]?.error).toContain("not valid JSON");
    expect(results?.[2]?.error).toContain("non-empty string");
    expect(results?.[3]?.error).toContain("no tool");
  });

  test("barge-in: the cut reply keeps only what was heard, and its tool calls", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    call.send({ type: "callerSaid", text: "Ma box ne marche plus", at: MONDAY_10H });
    call.send({ type: "toolCall", replyId: 1, call: call.call("record_facts", {}), at: MONDAY_10H });
    const cut = call.send({ type: "callerSaid", text: "Attendez", at: MONDAY_10H });
    expect(thinks(cut)[0]?.replyId).toBe(2);
    call.send({ type: "replyDone", replyId: 1, text: "Débranchez votre box. Puis attendez trente secondes." });
    call.send({ type: "replyHeard", replyId: 1, heard: "Débranchez votre box.", interrupted: true });
    expect(call.send({ type: "replyFailed", replyId: 1, error: "aborted" })).toEqual([]);
    call.send({ type: "replyHeard", replyId: 2, heard: "Je vous", interrupted: true });
    call.send({ type: "replyDone", replyId: 2, text: "Je vous écoute." });
    const [think] = thinks(call.send({ type: "callerSaid", text: "C'est fait", at: MONDAY_10H }));
    expect(think?.messages.slice(1)).toEqual([
      { role: "user", content: "Ma box ne marche plus" },
      { role: "assistant", content: "Débranchez votre box.", toolCalls: [{ id: "call_1", name: "record_facts", arguments: "{}" }] },
      { role: "tool", toolCallId: "call_1", content: expect.stringContaining('"ok":false') },
      { role: "user", content: "Attendez" },
      { role: "assistant", content: "Je vous" },
      { role: "user", content: "C'est fait" },
    ]);
  });

  test("three failed replies in a row end the call: ticket incomplete, number spoken", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    for (const attempt of [1, 2]) {
      const [think] = thinks(call.send({ type: "callerSaid", text: `essai ${attempt}`, at: MONDAY_10H }));
      const out = call.send({ type: "replyFailed", replyId: think?.replyId ?? 0, error: "HTTP 503" });
      expect(spoken(out)).toEqual([["sorryRepeat"]]);
      expect(records(out, "ai-error")).toEqual([`${attempt}/3 HTTP 503`]);
    }
    const [think] = thinks(call.send({ type: "callerSaid", text: "essai 3", at: MONDAY_10H }));
    const out = call.send({ type: "replyFailed", replyId: think?.replyId ?? 0, error: "HTTP 503" });
    expect(out).toContainEqual({ type: "updateTicket", status: "incomplete" });
    expect(spoken(out)).toEqual([["aiErrorGoodbye", "ticketNumberIs", "#42", "goodbye"]]);
    expect(says(out)[0]).toMatchObject({ interruptible: false });
    expect(out.at(-1)).toEqual({ type: "hangup", reason: "ai-error" });
  });

  test("a reply that said nothing (tool calls only) does not reset the failure count", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    for (const attempt of [1, 2]) {
      const [think] = thinks(call.send({ type: "callerSaid", text: `essai ${attempt}`, at: MONDAY_10H }));
      call.send({ type: "replyFailed", replyId: think?.replyId ?? 0, error: "HTTP 500" });
    }
    const [think] = thinks(call.send({ type: "callerSaid", text: "ma box ne marche pas", at: MONDAY_10H }));
    const id = think?.replyId ?? 0;
    call.send({ type: "toolCall", replyId: id, call: { id: "c1", name: "set_problem", arguments: '{"type":"internet","description":"box"}' }, at: MONDAY_10H });
    const [next] = thinks(call.send({ type: "replyDone", replyId: id, text: "" }));
    expect(next).toBeDefined();
    const out = call.send({ type: "replyFailed", replyId: next?.replyId ?? 0, error: "HTTP 500" });
    expect(records(out, "ai-error")).toEqual(["3/3 HTTP 500"]);
    expect(out).toContainEqual({ type: "updateTicket", status: "incomplete" });
    expect(out.at(-1)).toEqual({ type: "hangup", reason: "ai-error" });
  });

  test("a successful reply resets the failure count", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    for (let i = 1; i <= 5; i++) {
      const [think] = thinks(call.send({ type: "callerSaid", text: `phrase ${i}`, at: MONDAY_10H }));
      const id = think?.replyId ?? 0;
      const out = call.send(i % 2 === 1 ? { type: "replyFailed", replyId: id, error: "timeout" } : { type: "replyDone", replyId: id, text: "Oui ?" });
      expect(out.some((a) => a.type === "hangup")).toBe(false);
    }
  });

  test("history is bounded and never starts with a tool result; the scribe sees the words alone", () => {
    const call = new AiCall(MONDAY_10H, { historyLimit: 6 });
    call.send({ type: "start", callerNumber: null });
    let last: Think | undefined;
    for (let i = 1; i <= 30; i++) {
      const [think] = thinks(call.send({ type: "callerSaid", text: `tour ${i}`, at: MONDAY_10H }));
      const id = think?.replyId ?? 0;
      call.send({ type: "toolCall", replyId: id, call: call.call("set_problem", {}), at: MONDAY_10H });
      const [follow] = thinks(call.send({ type: "replyDone", replyId: id, text: `réponse ${i}` }));
      call.send({ type: "replyDone", replyId: follow?.replyId ?? 0, text: "" });
      last = follow;
    }
    const history = last?.messages.slice(1) ?? [];
    expect(history.length).toBeLessThanOrEqual(6);
    expect(history[0]?.role).toBe("user");
    expect(history.at(-1)).toMatchObject({ role: "tool", toolCallId: "call_30" });
    const scribe = call.send({ type: "callerSaid", text: "fin", at: MONDAY_10H }).find((a) => a.type === "scribe");
    const words = scribe?.type === "scribe" ? scribe.messages.slice(1) : [];
    expect(words).toHaveLength(6);
    expect(words.every((m) => m.role === "user" || m.role === "assistant")).toBe(true);
    expect(words.at(-1)).toEqual({ role: "user", content: "fin" });
  });

  test("silence, max duration and keypad 0", () => {
    const quiet = new AiCall();
    quiet.send({ type: "start", callerNumber: null });
    expect(spoken(quiet.send({ type: "silenceWarning" }))).toEqual([["stillThere"]]);
    const timeout = quiet.send({ type: "silenceTimeout" });
    expect(spoken(timeout)).toEqual([["silenceGoodbye", "ticketNumberIs", "#42", "goodbye"]]);
    expect(timeout.at(-1)).toEqual({ type: "hangup", reason: "silence" });
    expect(quiet.ticket().status).toBe("abandoned");

    const long = new AiCall();
    long.send({ type: "start", callerNumber: null });
    const max = long.send({ type: "maxDuration" });
    expect(spoken(max)).toEqual([["maxDurationGoodbye", "ticketNumberIs", "#42", "goodbye"]]);
    expect(max.at(-1)).toEqual({ type: "hangup", reason: "max-duration" });
    expect(long.send({ type: "silenceWarning" })).toEqual([]);

    const keys = new AiCall();
    keys.send({ type: "start", callerNumber: null });
    expect(keys.send({ type: "dtmf", digit: "5", at: MONDAY_10H })).toEqual([{ type: "record", kind: "dtmf", detail: "5" }]);
    keys.send({ type: "callerSaid", text: "bonjour", at: MONDAY_10H });
    const zero = keys.send({ type: "dtmf", digit: "0", at: MONDAY_10H });
    expect(zero.at(-1)).toEqual({ type: "transfer", reason: "caller pressed 0 for a technician" });
    expect(() => keys.send({ type: "dtmf", digit: "x", at: MONDAY_10H })).toThrow('DTMF "x"');
  });

  test("caller hang-up abandons the open ticket", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    const out = call.send({ type: "callerHangup" });
    expect(out).toContainEqual({ type: "updateTicket", status: "abandoned" });
    expect(records(out, "hangup")).toEqual(["caller"]);
    expect(call.dialog.state).toBe("GOODBYE");
  });

  test("a line lost another way (a protocol error) abandons the ticket too, and the event says why, not 'caller'", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    const out = call.send({ type: "callerHangup", cause: "protocol-error" });
    expect(out).toContainEqual({ type: "updateTicket", status: "abandoned" });
    expect(records(out, "hangup")).toEqual(["protocol-error"]);
  });

  test("speech recognition lost: keypad menu on the same ticket, utterance ids go on, same technician rule", () => {
    const call = new AiCall();
    call.send({ type: "start", callerNumber: "0611223344" });
    const lost = call.send({ type: "sttLost" });
    expect(spoken(lost)).toEqual([["sttLost", "problemMenu"]]);
    expect(says(lost)[0]?.utteranceId).toBe(2);
    expect(records(lost, "state")).toEqual(["IDENTIFICATION->MENU"]);
    expect(lost.some((a) => a.type === "openTicket")).toBe(false);
    expect(call.dialog.state).toBe("MENU");
    call.send({ type: "dtmf", digit: "1", at: MONDAY_10H });
    const done = call.send({ type: "dtmf", digit: "2", at: MONDAY_10H });
    // Monday 10:00 is within TECH_HOURS: the keypad transfers as the AI dialog would.
    expect(spoken(done)).toEqual([["ticketNumberIs", "#42", "transferring"]]);
    expect(done.at(-1)).toEqual({ type: "transfer", reason: "the fix did not work (key 2)" });
  });

  test("bad options and events are refused with clear errors", () => {
    const base = { techHours: HOURS, timezone: "Europe/Paris" };
    expect(() => createAiSavDialog({ ...base, language: "xx-XX" })).toThrow('language "xx-XX" has no prompts');
    expect(() => createAiSavDialog({ ...base, language: "fr-FR", timezone: "Mars/Olympus" })).toThrow('"Mars/Olympus" is not a known IANA zone');
    expect(() => createAiSavDialog({ ...base, language: "fr-FR", historyLimit: 1 })).toThrow("historyLimit is 1");
    const call = new AiCall();
    call.send({ type: "start", callerNumber: null });
    expect(() => call.send({ type: "replyDone", replyId: 7, text: "" })).toThrow("reply 7, which it never asked for");
    expect(() => call.send({ type: "start", callerNumber: null })).toThrow("second start");
  });

  test("tool argument parsing trims the reason", () => {
    expect(parseToolCall({ id: "1", name: "end_call", arguments: '{"reason":"  résolu "}' })).toEqual({ ok: true, call: { name: "end_call", reason: "résolu" } });
  });

  test("en-US and pt-BR prompts carry the state's goal; French lists the known fixes", () => {
    const goals: Record<string, string> = { "fr-FR": "trente secondes", "en-US": "Step: identification", "pt-BR": "Etapa: identificação" };
    for (const [language, expected] of Object.entries(goals)) {
      const call = new AiCall(MONDAY_10H, { language });
      call.send({ type: "start", callerNumber: null });
      const [think] = thinks(call.send({ type: "callerSaid", text: "hello", at: MONDAY_10H }));
      expect(think?.messages[0]?.content).toContain(expected);
    }
  });
});

describe("sav brain (fake model)", () => {
  test("offers only the tools it is given, and asks a question when nothing matches", () => {
    const user = (content: string) => [{ role: "user", content }];
    expect(savBrain({ model: "m", messages: user("ma box ne marche plus"), tools: [] }).toolCalls).toEqual([]);
    expect(savBrain({ model: "m", messages: user("euh"), tools: ["end_call"] })).toEqual({ text: "Pouvez-vous me décrire votre problème ?" });
  });
});
