/**
 * The call layer's part in dialog unit tests, played by hand: every action is kept, openTicket is
 * answered with a fixed ticket number, each prompt is reported as played unless told otherwise,
 * and the ticket is what the store would hold after every updateTicket.
 */
import type { Dialog, DialogAction, DialogEvent, SpeechPart } from "../../src/dialog/types.ts";

/** A prompt's parts by name: phrase ids, "#digits" and quoted free text. */
export const partNames = (parts: readonly SpeechPart[]): string[] =>
  parts.map((p) => ("phrase" in p ? p.phrase : "digits" in p ? `#${p.digits}` : `"${p.text}"`));

export class DialogDriver {
  readonly actions: DialogAction[] = [];

  constructor(
    readonly dialog: Dialog,
    private readonly ticketNumber: number,
  ) {}

  send(event: DialogEvent, played = true): DialogAction[] {
    const out = this.dialog.handle(event);
    this.actions.push(...out);
    for (const action of out) {
      if (action.type === "openTicket") this.dialog.handle({ type: "ticketOpened", ticketNumber: this.ticketNumber });
      if (action.type === "say" && played) this.dialog.handle({ type: "spoken", utteranceId: action.utteranceId });
    }
    return out;
  }

  ticket(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const a of this.actions) {
      if (a.type !== "updateTicket") continue;
      for (const [k, v] of Object.entries(a)) if (k !== "type" && v !== undefined) fields[k] = String(v);
    }
    return fields;
  }
}
