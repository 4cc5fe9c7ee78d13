import { describe, expect, test } from "bun:test";
import { parseTechHours } from "../../src/dialog/business-hours.ts";
import { createAiSavDialog } from "../../src/dialog/sav-ai.ts";
import { createSavDialog } from "../../src/dialog/sav.ts";
import type { Dialog, DialogAction } from "../../src/dialog/types.ts";

/** The service stopping cuts a call (a second SIGTERM): the dialog hears serverHangup and abandons its open ticket. */
function started(dialog: Dialog): Dialog {
  for (const action of dialog.handle({ type: "start", callerNumber: null })) {
    if (action.type === "openTicket") dialog.handle({ type: "ticketOpened", ticketNumber: 3 });
  }
  return dialog;
}

const keypad = (): Dialog => started(createSavDialog());
const ai = (): Dialog => started(createAiSavDialog({ language: "fr-FR", techHours: parseTechHours("mon-fri 09:00-18:00"), timezone: "Europe/Paris" }));
const records = (out: DialogAction[]): string[] => out.flatMap((a) => (a.type === "record" ? [`${a.kind} ${a.detail}`] : []));

describe.each([["keypad", keypad], ["AI", ai]] as const)("%s dialog cut by the server", (_name, make) => {
  test("an open ticket becomes abandoned, the hang-up is recorded as the server's, nothing is said", () => {
    const dialog = make();
    const out = dialog.handle({ type: "serverHangup" });
    expect(out).toContainEqual({ type: "updateTicket", status: "abandoned" });
    expect(records(out)).toContain("hangup server");
    expect(out.some((a) => a.type === "say" || a.type === "hangup")).toBe(false);
    expect(dialog.state).toBe("GOODBYE");
  });

  test("a ticket already closed stays as it is", () => {
    const dialog = make();
    dialog.handle({ type: "maxDuration" });
    expect(dialog.handle({ type: "serverHangup" }).filter((a) => a.type === "updateTicket")).toEqual([]);
  });
});
