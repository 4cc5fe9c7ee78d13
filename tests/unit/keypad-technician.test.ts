import { describe, expect, test } from "bun:test";
import { parseTechHours } from "../../src/dialog/business-hours.ts";
import { createSavDialog } from "../../src/dialog/sav.ts";
import type { Technicians } from "../../src/dialog/technician.ts";
import type { DialogAction } from "../../src/dialog/types.ts";
import { DialogDriver, partNames } from "../support/dialog-driver.ts";

/** The keypad dialog follows the AI dialog's technician rule (src/dialog/technician.ts). */
const HOURS = parseTechHours("mon-fri 09:00-18:00; sat 09:00-12:00");
const MONDAY_10H = Date.UTC(2026, 2, 30, 8, 0); // 10:00 CEST
const SATURDAY_13H = Date.UTC(2026, 2, 28, 12, 0); // 13:00 CET
const TICKET = 7;

const spoken = (actions: readonly DialogAction[]): string[][] =>
  actions.flatMap((a) => (a.type === "say" ? [partNames(a.parts)] : []));

class KeypadCall extends DialogDriver {
  constructor(readonly at: number, technicians: Partial<Technicians> | null = {}) {
    super(
      createSavDialog(technicians === null ? {} : { technicians: { hours: HOURS, timezone: "Europe/Paris", language: "fr-FR", canTransfer: true, ...technicians } }),
      TICKET,
    );
  }

  press(keys: string): DialogAction[] {
    return [...keys].flatMap((digit) => this.send({ type: "dtmf", digit, at: this.at }));
  }

  ticketStatus(): string | undefined {
    return this.actions.flatMap((a) => (a.type === "updateTicket" && a.status ? [a.status] : [])).at(-1);
  }
}

describe("keypad dialog: a technician during TECH_HOURS", () => {
  test("not solved on Monday 10:00 with a hand-off path: ticket escalated, number spoken, then transfer", () => {
    const call = new KeypadCall(MONDAY_10H);
    call.send({ type: "start", callerNumber: "0611223344" });
    call.press("2");
    const out = call.press("2");
    expect(out).toContainEqual({ type: "updateTicket", status: "escalated", phone: "0611223344" });
    expect(spoken(out)).toEqual([["ticketNumberIs", "#7", "transferring"]]);
    expect(out.at(-1)).toEqual({ type: "transfer", reason: "the fix did not work (key 2)" });
    expect(out.some((a) => a.type === "hangup")).toBe(false);
    expect(call.dialog.state).toBe("TRANSFER");
    // Keys and timers no longer count while the caller is being handed over.
    expect(call.press("1")).toEqual([]);
    expect(call.send({ type: "silenceTimeout" })).toEqual([]);
    expect(call.send({ type: "callerHangup" }).filter((a) => a.type === "updateTicket")).toEqual([]);
  });

  test("'something else' transfers at once, without promising a callback first; the number is not needed", () => {
    const call = new KeypadCall(MONDAY_10H);
    call.send({ type: "start", callerNumber: null });
    const out = call.press("3");
    expect(spoken(out)).toEqual([["ticketNumberIs", "#7", "transferring"]]);
    expect(out).toContainEqual({ type: "updateTicket", status: "escalated" });
    expect(out.at(-1)).toEqual({ type: "transfer", reason: "other problem (key 3)" });
  });

  test("the PBX could not take the caller: told so, then goodbye (known number) or asked for the number", () => {
    const known = new KeypadCall(MONDAY_10H);
    known.send({ type: "start", callerNumber: "0611223344" });
    known.press("3");
    const failed = known.send({ type: "transferFailed", reason: "AMI is not connected" });
    expect(failed[0]).toEqual({ type: "record", kind: "transfer-failed", detail: "AMI is not connected" });
    expect(spoken(failed)).toEqual([["transferFailed", "ticketNumberIs", "#7", "goodbye"]]);
    expect(failed.at(-1)).toEqual({ type: "hangup", reason: "escalated" });

    const unknown = new KeypadCall(MONDAY_10H);
    unknown.send({ type: "start", callerNumber: null });
    unknown.press("3");
    expect(spoken(unknown.send({ type: "transferFailed", reason: "refused" }))).toEqual([["transferFailed", "enterPhone"]]);
    expect(unknown.dialog.state).toBe("PHONE_ENTRY");
    const confirmed = unknown.press("0299887766#1");
    expect(spoken(confirmed).at(-1)).toEqual(["escalated", "ticketNumberIs", "#7", "goodbye"]);
    expect(confirmed).toContainEqual({ type: "updateTicket", status: "escalated", phone: "0299887766" });
    expect(unknown.actions.filter((a) => a.type === "hangup")).toEqual([{ type: "hangup", reason: "escalated" }]);
  });

  test("a transferFailed outside a transfer changes nothing", () => {
    const call = new KeypadCall(MONDAY_10H);
    call.send({ type: "start", callerNumber: null });
    expect(call.send({ type: "transferFailed", reason: "late" })).toEqual([]);
  });
});

describe("keypad dialog: a callback, saying when", () => {
  test("Saturday 13:00 (closed): the callback is for Monday 9 h, at the known number", () => {
    const call = new KeypadCall(SATURDAY_13H);
    call.send({ type: "start", callerNumber: "0611223344" });
    call.press("1");
    const out = call.press("2");
    expect(spoken(out)).toEqual([['"Un technicien vous rappellera lundi à partir de 9 heures."', "ticketNumberIs", "#7", "goodbye"]]);
    expect(out.at(-1)).toEqual({ type: "hangup", reason: "escalated" });
    expect(call.ticketStatus()).toBe("escalated");
  });

  test("Saturday 13:00, number typed: the confirmation says when", () => {
    const call = new KeypadCall(SATURDAY_13H);
    call.send({ type: "start", callerNumber: null });
    expect(spoken(call.press("3"))).toEqual([["fixOther", "enterPhone"]]);
    const confirmed = call.press("0612345678#1");
    expect(spoken(confirmed).at(-1)).toEqual(['"Un technicien vous rappellera lundi à partir de 9 heures."', "ticketNumberIs", "#7", "goodbye"]);
  });

  test("open now but no hand-off path (no TRANSFER_TARGET, no AMI/ESL): callback as soon as possible", () => {
    const call = new KeypadCall(MONDAY_10H, { canTransfer: false });
    call.send({ type: "start", callerNumber: "0611223344" });
    call.press("2");
    expect(spoken(call.press("2"))).toEqual([["escalatedKnownNumber", "ticketNumberIs", "#7", "goodbye"]]);
    expect(call.actions.some((a) => a.type === "transfer")).toBe(false);
  });

  test("without technicians configured the keypad keeps its callback wording", () => {
    const call = new KeypadCall(MONDAY_10H, null);
    call.send({ type: "start", callerNumber: "0611223344" });
    expect(spoken(call.press("3"))).toEqual([["escalatedKnownNumber", "ticketNumberIs", "#7", "goodbye"]]);
  });

  test("a bad zone or language is refused when the dialog is made", () => {
    expect(() => new KeypadCall(MONDAY_10H, { timezone: "Mars/Olympus" })).toThrow('time zone "Mars/Olympus" is not a known IANA zone');
    expect(() => new KeypadCall(MONDAY_10H, { language: "xx-XX" })).toThrow('"xx-XX"');
  });
});
