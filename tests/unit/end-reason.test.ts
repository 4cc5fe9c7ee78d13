import { describe, expect, test } from "bun:test";
import { endReasonOf } from "../../src/call/end-reason.ts";
import { createSavDialog } from "../../src/dialog/sav.ts";

const ending = { leg: "caller-hangup" as const, dialog: null, transferSent: false, failed: false };

describe("a call's stored end reason", () => {
  test("the caller's hang-up is the caller's hang-up, even while the bot was saying goodbye", () => {
    expect(endReasonOf(ending)).toBe("caller-hangup");
    expect(endReasonOf({ ...ending, dialog: "resolved" })).toBe("caller-hangup");
  });

  test("our hang-up carries the dialog's reason; without one it is server-hangup", () => {
    expect(endReasonOf({ ...ending, leg: "server-hangup", dialog: "silence" })).toBe("silence");
    expect(endReasonOf({ ...ending, leg: "server-hangup" })).toBe("server-hangup");
  });

  test("a handler that threw is internal-error, never the goodbye the dialog had started (was: transferred)", () => {
    expect(endReasonOf({ ...ending, leg: "internal-error", dialog: "transferred" })).toBe("internal-error");
    expect(endReasonOf({ ...ending, leg: "server-hangup", dialog: "transferred", failed: true })).toBe("internal-error");
  });

  test("once the PBX has the caller, the call was transferred however the leg then closes", () => {
    for (const leg of ["caller-hangup", "server-hangup", "internal-error", "write-error"] as const) {
      expect(endReasonOf({ ...ending, leg, dialog: "transferred", transferSent: true })).toBe("transferred");
    }
  });

  test("a malformed stream, a peer not reading and a shutdown are stored as such", () => {
    for (const leg of ["protocol-error", "write-error", "shutdown"] as const) {
      expect(endReasonOf({ ...ending, leg, dialog: null })).toBe(leg);
    }
  });
});

describe("the keypad dialog's hang-up event", () => {
  test("names the cause of a line lost another way (was always 'caller'), and abandons the open ticket", () => {
    const dialog = createSavDialog();
    for (const action of dialog.handle({ type: "start", callerNumber: null })) {
      if (action.type === "openTicket") dialog.handle({ type: "ticketOpened", ticketNumber: 7 });
    }
    const out = dialog.handle({ type: "callerHangup", cause: "protocol-error" });
    expect(out).toContainEqual({ type: "updateTicket", status: "abandoned" });
    expect(out).toContainEqual({ type: "record", kind: "hangup", detail: "protocol-error" });
  });
});
