import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createSavDialog, type SavDialogOptions } from "../../src/dialog/sav.ts";
import type { DialogAction, DialogEvent } from "../../src/dialog/types.ts";
import { DialogDriver, partNames } from "../support/dialog-driver.ts";

const TICKET = 42;

type Say = Extract<DialogAction, { type: "say" }>;

/** Plays the call layer's part: answers openTicket, and reports every prompt as played unless told not to. */
class Call extends DialogDriver {
  /** When the caller presses keys (epoch ms): the hour the dialog checks TECH_HOURS against. */
  at = 0;

  constructor(options?: SavDialogOptions) {
    super(createSavDialog(options), TICKET);
  }

  start = (callerNumber: string | null): DialogAction[] => this.send({ type: "start", callerNumber });

  press(keys: string, played = true): DialogAction[] {
    const out: DialogAction[] = [];
    for (const digit of keys) out.push(...this.send({ type: "dtmf", digit, at: this.at }, played));
    return out;
  }

  hangups = (): string[] => this.actions.flatMap((a) => (a.type === "hangup" ? [a.reason] : []));
}


const says = (actions: readonly DialogAction[]): Say[] => actions.filter((a): a is Say => a.type === "say");
const spoken = (actions: readonly DialogAction[]): string[][] => says(actions).map((s) => partNames(s.parts));
const records = (actions: readonly DialogAction[], kind: string): string[] =>
  actions.flatMap((a) => (a.type === "record" && a.kind === kind ? [a.detail] : []));

describe("SAV dialog: complete calls", () => {
  test("internet problem solved by restarting the box", () => {
    const call = new Call();
    const started = call.start("");
    expect(started[0]).toEqual({ type: "openTicket" });
    expect(spoken(started)).toEqual([["welcome", "problemMenu"]]);
    expect(says(started)[0]).toMatchObject({ utteranceId: 1, interruptible: true, awaitInput: true });
    expect(call.dialog.state).toBe("MENU");
    const chose = call.press("1");
    expect(chose).toContainEqual({ type: "updateTicket", problemType: "internet" });
    expect(spoken(chose)).toEqual([["fixInternet", "solvedQuestion"]]);
    expect(says(chose)[0]).toMatchObject({ interruptible: true, awaitInput: true });
    expect(chose.slice(0, 1)).toEqual([{ type: "record", kind: "dtmf", detail: "1" }]); // played to its end: no stop
    expect(records(chose, "state")).toEqual(["MENU->VERIFICATION"]);
    expect(call.dialog.state).toBe("VERIFICATION");
    const solved = call.press("1");
    expect(spoken(solved)).toEqual([["ticketNumberIs", "#42", "goodbyeResolved"]]);
    expect(says(solved)[0]).toMatchObject({ interruptible: false, awaitInput: false });
    expect(solved.at(-1)).toEqual({ type: "hangup", reason: "resolved" });
    expect(records(solved, "state")).toEqual(["VERIFICATION->GOODBYE"]);
    expect(call.dialog.state).toBe("GOODBYE");
    expect(call.ticket()).toEqual({ problemType: "internet", status: "resolved" });
    expect(says(call.actions).map((s) => s.utteranceId)).toEqual([1, 2, 3]);
  });

  test("mobile problem not solved, number typed on the keypad and confirmed", () => {
    const call = new Call();
    call.start(null);
    expect(spoken(call.press("2"))).toEqual([["fixMobile", "solvedQuestion"]]);
    const notSolved = call.press("2");
    expect(spoken(notSolved)).toEqual([["enterPhone"]]);
    expect(call.dialog.state).toBe("PHONE_ENTRY");
    expect(says(call.press("0612345678"))).toEqual([]);
    const typed = call.press("#");
    expect(spoken(typed)).toEqual([["youTyped", "#0612345678", "confirmPhone"]]);
    expect(call.dialog.state).toBe("PHONE_CONFIRM");
    const confirmed = call.press("1");
    expect(confirmed).toContainEqual({ type: "updateTicket", status: "escalated", phone: "0612345678" });
    expect(spoken(confirmed)).toEqual([["escalated", "ticketNumberIs", "#42", "goodbye"]]);
    expect(confirmed.at(-1)).toEqual({ type: "hangup", reason: "escalated" });
    expect(call.ticket()).toEqual({ problemType: "mobile", status: "escalated", phone: "0612345678" });
    expect(records(call.actions, "state")).toEqual([
      "WELCOME->MENU",
      "MENU->VERIFICATION",
      "VERIFICATION->PHONE_ENTRY",
      "PHONE_ENTRY->PHONE_CONFIRM",
      "PHONE_CONFIRM->GOODBYE",
    ]);
  });

  test("something else goes straight to the phone entry, with no does-it-work question", () => {
    const call = new Call();
    call.start(null);
    const chose = call.press("3");
    expect(chose).toContainEqual({ type: "updateTicket", problemType: "other" });
    expect(spoken(chose)).toEqual([["fixOther", "enterPhone"]]);
    expect(call.dialog.state).toBe("PHONE_ENTRY");
    call.press("0299887766#1");
    expect(call.ticket()).toEqual({ problemType: "other", status: "escalated", phone: "0299887766" });
    expect(call.hangups()).toEqual(["escalated"]);
  });

  test("the caller's number from call metadata is used without asking", () => {
    const call = new Call();
    call.start("+33 6 12 34 56 78");
    call.press("2");
    const notSolved = call.press("2");
    expect(notSolved).toContainEqual({ type: "updateTicket", status: "escalated", phone: "+33 6 12 34 56 78" });
    expect(spoken(notSolved)).toEqual([["escalatedKnownNumber", "ticketNumberIs", "#42", "goodbye"]]);
    expect(call.hangups()).toEqual(["escalated"]);
    const other = new Call();
    other.start("0612345678");
    expect(spoken(other.press("3"))).toEqual([["escalatedKnownNumber", "ticketNumberIs", "#42", "goodbye"]]);
    expect(other.ticket()).toEqual({ problemType: "other", status: "escalated", phone: "0612345678" });
  });

});

describe("SAV dialog: invalid answers", () => {
  test("one invalid digit repeats the menu, then a valid one proceeds", () => {
    const call = new Call();
    call.start(null);
    const wrong = call.press("7");
    expect(spoken(wrong)).toEqual([["invalidChoice", "problemMenu"]]);
    expect(records(wrong, "invalid")).toEqual(["MENU:7 1/3"]);
    expect(call.dialog.state).toBe("MENU");
    call.press("1");
    expect(call.dialog.state).toBe("VERIFICATION");
  });

  test("two invalid answers then valid ones still complete the call", () => {
    const call = new Call();
    call.start(null);
    call.press("#");
    call.press("1");
    expect(spoken(call.press("9"))).toEqual([["invalidChoice", "solvedQuestion"]]);
    call.press("1");
    expect(call.hangups()).toEqual(["resolved"]);
  });

  test("the third invalid answer of the call ends it politely, ticket abandoned", () => {
    const call = new Call();
    call.start(null);
    call.press("0");
    call.press("2");
    call.press("5");
    const third = call.press("*");
    expect(spoken(third)).toEqual([["tooManyInvalid", "ticketNumberIs", "#42", "goodbye"]]);
    expect(says(third)[0]).toMatchObject({ interruptible: false, awaitInput: false });
    expect(third).toContainEqual({ type: "updateTicket", status: "abandoned" });
    expect(third.at(-1)).toEqual({ type: "hangup", reason: "too-many-invalid" });
    expect(call.dialog.state).toBe("GOODBYE");
  });

  test("invalid answers count across the menu, the phone entry and the confirmation", () => {
    const call = new Call();
    call.start(null);
    call.press("43");
    call.press("12#");
    expect(call.hangups()).toEqual([]);
    call.press("0612345678#7");
    expect(call.hangups()).toEqual(["too-many-invalid"]);
    expect(call.ticket()).toEqual({ problemType: "other", status: "abandoned" });
  });

  test("maxInvalidAnswers is configurable", () => {
    const call = new Call({ maxInvalidAnswers: 1 });
    call.start(null);
    call.press("8");
    expect(call.hangups()).toEqual(["too-many-invalid"]);
  });
});

describe("SAV dialog: phone entry", () => {
  test("* clears what was typed and asks again; the number read back is the retyped one", () => {
    const call = new Call();
    call.start(null);
    call.press("3");
    call.press("0698");
    const cleared = call.press("*");
    expect(spoken(cleared)).toEqual([["enterPhone"]]);
    expect(records(cleared, "invalid")).toEqual([]);
    expect(spoken(call.press("0145678900#"))).toEqual([["youTyped", "#0145678900", "confirmPhone"]]);
  });

  test("a number too short or too long is refused and counts as an invalid answer", () => {
    const call = new Call();
    call.start(null);
    call.press("3");
    const short = call.press("123#");
    expect(spoken(short)).toEqual([["invalidPhone", "enterPhone"]]);
    expect(records(short, "invalid")).toEqual(["PHONE_ENTRY:# 1/3"]);
    expect(spoken(call.press("#"))).toEqual([["invalidPhone", "enterPhone"]]);
    expect(call.dialog.state).toBe("PHONE_ENTRY");
    call.press("1234#");
    expect(call.dialog.state).toBe("PHONE_CONFIRM");
    const long = new Call({ minPhoneDigits: 2, maxPhoneDigits: 5 });
    long.start(null);
    long.press("3");
    expect(spoken(long.press("123456#"))).toEqual([["invalidPhone", "enterPhone"]]);
    expect(spoken(long.press("12345#"))).toEqual([["youTyped", "#12345", "confirmPhone"]]);
  });

  test("a letter key while typing is refused as an invalid number", () => {
    const call = new Call();
    call.start(null);
    call.press("3");
    expect(spoken(call.press("06A"))).toEqual([["invalidPhone", "enterPhone"]]);
    expect(spoken(call.press("0612#"))).toEqual([["youTyped", "#0612", "confirmPhone"]]);
  });

  test("confirmation 2 starts the entry over, anything else repeats the number", () => {
    const call = new Call();
    call.start(null);
    call.press("3");
    call.press("0611111111#");
    expect(spoken(call.press("5"))).toEqual([["invalidChoice", "youTyped", "#0611111111", "confirmPhone"]]);
    const again = call.press("2");
    expect(spoken(again)).toEqual([["enterPhone"]]);
    expect(records(again, "state")).toEqual(["PHONE_CONFIRM->PHONE_ENTRY"]);
    call.press("0622222222#1");
    expect(call.ticket()).toEqual({ problemType: "other", status: "escalated", phone: "0622222222" });
  });
});

describe("SAV dialog: barge-in and the end of the call", () => {
  test("a digit during an interruptible prompt stops it first, then counts", () => {
    const call = new Call();
    call.send({ type: "start", callerNumber: null }, false);
    const first = call.press("7", false);
    expect(first.slice(0, 2)).toEqual([{ type: "stopSpeaking" }, { type: "record", kind: "dtmf", detail: "7" }]);
    expect(spoken(first)).toEqual([["invalidChoice", "problemMenu"]]);
    const second = call.press("2", false);
    expect(second[0]).toEqual({ type: "stopSpeaking" });
    expect(second).toContainEqual({ type: "updateTicket", problemType: "mobile" });
    const typing = call.press("2", false);
    expect(typing[0]).toEqual({ type: "stopSpeaking" });
    const firstKey = call.press("0", false);
    expect(firstKey[0]).toEqual({ type: "stopSpeaking" });
    expect(call.press("6", false)).toEqual([{ type: "record", kind: "dtmf", detail: "6" }]);
  });

  test("silence warning repeats the current question, then the timeout ends the call", () => {
    const call = new Call();
    call.start(null);
    const warned = call.send({ type: "silenceWarning" });
    expect(spoken(warned)).toEqual([["stillThere", "problemMenu"]]);
    expect(says(warned)[0]).toMatchObject({ interruptible: true, awaitInput: true });
    expect(records(warned, "timer")).toEqual(["silence-warning"]);
    expect(call.dialog.state).toBe("MENU");
    const ended = call.send({ type: "silenceTimeout" });
    expect(spoken(ended)).toEqual([["silenceGoodbye", "ticketNumberIs", "#42", "goodbye"]]);
    expect(ended).toContainEqual({ type: "updateTicket", status: "abandoned" });
    expect(ended.at(-1)).toEqual({ type: "hangup", reason: "silence" });
    expect(call.send({ type: "silenceTimeout" })).toEqual([]);
  });

  test("silence warning in the confirmation reads the number again; in the entry it starts over", () => {
    const call = new Call();
    call.start(null);
    call.press("3");
    call.press("0612345678#");
    const warned = spoken(call.send({ type: "silenceWarning" }));
    expect(warned).toEqual([["stillThere", "youTyped", "#0612345678", "confirmPhone"]]);
    call.press("2");
    call.press("0699");
    expect(spoken(call.send({ type: "silenceWarning" }))).toEqual([["stillThere", "enterPhone"]]);
    expect(spoken(call.press("0611223344#"))).toEqual([["youTyped", "#0611223344", "confirmPhone"]]);
  });

  test("maximum duration cuts the prompt and says goodbye with the ticket number", () => {
    const call = new Call();
    call.start(null);
    call.press("1", false);
    const ended = call.send({ type: "maxDuration" });
    expect(ended[0]).toEqual({ type: "stopSpeaking" });
    expect(spoken(ended)).toEqual([["maxDurationGoodbye", "ticketNumberIs", "#42", "goodbye"]]);
    expect(ended).toContainEqual({ type: "updateTicket", status: "abandoned" });
    expect(ended.at(-1)).toEqual({ type: "hangup", reason: "max-duration" });
  });

  test("caller hang-up before choosing abandons the ticket, without speech", () => {
    const call = new Call();
    call.start(null);
    const out = call.send({ type: "callerHangup" });
    expect(out).toEqual([
      { type: "updateTicket", status: "abandoned" },
      { type: "record", kind: "hangup", detail: "caller" },
      { type: "record", kind: "state", detail: "MENU->GOODBYE" },
    ]);
    expect(call.dialog.state).toBe("GOODBYE");
  });

  test("caller hang-up after resolution leaves the ticket as it is", () => {
    const call = new Call();
    call.start(null);
    call.press("11");
    const out = call.send({ type: "callerHangup" });
    expect(out).toEqual([{ type: "record", kind: "hangup", detail: "caller" }]);
    expect(call.ticket().status).toBe("resolved");
  });

  test("digits and timers after goodbye are ignored", () => {
    const call = new Call();
    call.start(null);
    call.press("11");
    expect(call.press("1")).toEqual([]);
    expect(call.press("#")).toEqual([]);
    expect(call.send({ type: "silenceWarning" })).toEqual([]);
    expect(call.send({ type: "maxDuration" })).toEqual([]);
    expect(call.hangups()).toEqual(["resolved"]);
  });

  test("without a ticket number yet, goodbye leaves the number out", () => {
    const dialog = createSavDialog();
    dialog.handle({ type: "start", callerNumber: null });
    const out = dialog.handle({ type: "silenceTimeout" });
    expect(spoken(out)).toEqual([["silenceGoodbye", "goodbye"]]);
  });
});

describe("SAV dialog: bad input", () => {
  test("a DTMF value that is not one key is rejected by name", () => {
    const call = new Call();
    call.start(null);
    expect(() => call.dialog.handle({ type: "dtmf", digit: "12", at: 0 })).toThrow('DTMF "12": it must be one key of 0-9');
  });

  test("start twice, ticketOpened twice or before start are rejected", () => {
    const fresh = createSavDialog();
    expect(() => fresh.handle({ type: "ticketOpened", ticketNumber: 1 })).toThrow("before asking for a ticket");
    const call = new Call();
    call.start(null);
    expect(() => call.start(null)).toThrow("second start event");
    expect(() => call.dialog.handle({ type: "ticketOpened", ticketNumber: 7 })).toThrow("already number 42");
    const other = createSavDialog();
    other.handle({ type: "start", callerNumber: null });
    expect(() => other.handle({ type: "ticketOpened", ticketNumber: 1.5 })).toThrow("non-negative integer");
  });

  test("options out of range are rejected with the allowed range", () => {
    expect(() => createSavDialog({ maxInvalidAnswers: 0 })).toThrow("maxInvalidAnswers is 0: it must be an integer");
    expect(() => createSavDialog({ minPhoneDigits: 8, maxPhoneDigits: 6 })).toThrow(
      "maxPhoneDigits is 6: it must be at least minPhoneDigits (8)",
    );
  });
});

describe("SAV dialog: properties over random calls", () => {
  const key = fc.constantFrom(..."0123456789*#AB").map((digit): DialogEvent => ({ type: "dtmf", digit, at: 0 }));
  const events = fc.array(
    fc.oneof(
      { weight: 8, arbitrary: key },
      { weight: 1, arbitrary: fc.constant<DialogEvent>({ type: "silenceWarning" }) },
      { weight: 1, arbitrary: fc.constantFrom<DialogEvent>({ type: "silenceTimeout" }, { type: "maxDuration" }) },
      { weight: 1, arbitrary: fc.constant<DialogEvent>({ type: "callerHangup" }) },
    ),
    { maxLength: 60 },
  );

  test("one hang-up at most, nothing said after it, and a final ticket status whenever the call ends", () => {
    fc.assert(
      fc.property(fc.option(fc.constant("0612345678")), events, fc.boolean(), (callerNumber, sequence, played) => {
        const call = new Call();
        call.start(callerNumber);
        for (const event of sequence) call.send(event, played);
        const hangupAt = call.actions.findIndex((a) => a.type === "hangup");
        expect(call.hangups().length).toBeLessThanOrEqual(1);
        if (hangupAt >= 0) expect(call.actions.slice(hangupAt + 1).every((a) => a.type === "record")).toBe(true);
        const ids = says(call.actions).map((s) => s.utteranceId);
        expect(ids).toEqual(ids.map((_, i) => i + 1));
        const allowed = call.dialog.state === "GOODBYE" ? ["resolved", "escalated", "abandoned"] : ["none"];
        expect(allowed).toContain(call.ticket().status ?? "none");
      }),
      { numRuns: 500 },
    );
  });
});
