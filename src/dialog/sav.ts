/**
 * The after-sales (SAV) scenario on the keypad, for offline mode: welcome and problem menu, the
 * matching fix, "does it work now?", then either goodbye or a technician: transferred at once
 * during TECH_HOURS when the PBX can (technician.ts, the AI dialog's rule), else a callback at
 * the caller's number (from call metadata, else typed and read back), saying when. Every call
 * that reaches the menu leaves a ticket whose number is spoken before goodbye. The hour is the
 * latest key's `at`.
 *
 * `record` actions carry these kinds: "dtmf" (the caller's key; the only caller input),
 * "state" ("MENU->VERIFICATION"), "invalid" ("MENU:7 1/3"), "timer" ("silence-warning",
 * "silence-timeout", "max-duration"), "transfer-failed" (why) and "hangup" ("caller", "server").
 */
import { resolveSavDialogOptions, type ResolvedSavDialogOptions, type SavDialogOptions } from "./sav-options.ts";
import type {
  Dialog,
  DialogAction,
  DialogEndReason,
  DialogEvent,
  DialogState,
  PhraseId,
  ProblemType,
  SpeechPart,
  TicketStatus,
} from "./types.ts";
import { technicianAnswer } from "./technician.ts";
import { FAREWELL, QUESTION, phrase, ticketNumberParts, Utterances, type Prompt } from "./utterances.ts";

export type { SavDialogOptions } from "./sav-options.ts";

export function createSavDialog(options: SavDialogOptions = {}): Dialog {
  return new SavDialog(resolveSavDialogOptions(options));
}

/** Where a call left off when it switches to the keypad mid-call (speech recognition lost). */
export interface SavResume {
  /** The ticket already opened for the call; null if the store has not answered yet (ticketOpened follows). */
  ticketNumber: number | null;
  callerNumber: string | null;
  /** Utterance ids continue from here, so they never collide with those already used in the call. */
  nextUtteranceId: number;
  /** Spoken just before the problem menu, in the same utterance. */
  lead: SpeechPart[];
}

/**
 * A keypad dialog joining a call already under way: no welcome and no new ticket; it starts at
 * MENU by saying `lead` then the problem menu (the returned actions). It takes every later event.
 */
export function resumeSavDialog(resume: SavResume, options: SavDialogOptions = {}): { dialog: Dialog; actions: DialogAction[] } {
  const dialog = new SavDialog(resolveSavDialogOptions(options));
  return { dialog, actions: dialog.resume(resume) };
}

const DTMF_KEY = /^[0-9*#A-D]$/;

const FIXES: Readonly<Record<string, { problem: ProblemType; fix: PhraseId }>> = {
  "1": { problem: "internet", fix: "fixInternet" },
  "2": { problem: "mobile", fix: "fixMobile" },
  "3": { problem: "other", fix: "fixOther" },
};


// Unplugging a box for 30 s and waiting for its lights, or restarting a phone, takes a while:
// "are you still there?" in the middle of it would be absurd.
const AFTER_FIX: Prompt = { ...QUESTION, patienceMs: 90_000 };

class SavDialog implements Dialog {
  readonly opening: readonly PhraseId[] = ["welcome", "problemMenu"];
  readonly #options: ResolvedSavDialogOptions;
  #state: DialogState = "WELCOME";
  #callerNumber: string | null = null;
  #ticketRequested = false;
  #ticketNumber: number | null = null;
  #ticketStatus: TicketStatus = "open";
  #invalidAnswers = 0;
  #typed = "";
  /** The latest key's time: the call's clock as far as this dialog knows (null before the first key). */
  #now: number | null = null;
  #utterances = new Utterances();

  constructor(options: ResolvedSavDialogOptions) {
    this.#options = options;
  }

  get state(): DialogState {
    return this.#state;
  }

  handle(event: DialogEvent): DialogAction[] {
    switch (event.type) {
      case "start":
        return this.#onStart(event.callerNumber);
      case "ticketOpened":
        this.#onTicketOpened(event.ticketNumber);
        return [];
      case "dtmf":
        return this.#onDigit(event.digit, event.at);
      case "spoken":
        this.#utterances.spoken(event.utteranceId);
        return [];
      case "silenceWarning":
        return this.#onSilenceWarning();
      case "silenceTimeout":
        return this.#onTimeout("silence-timeout", "silenceGoodbye", "silence");
      case "maxDuration":
        return this.#onTimeout("max-duration", "maxDurationGoodbye", "max-duration");
      case "callerHangup":
        return this.#onHangup(event.cause ?? "caller");
      case "serverHangup":
        return this.#onHangup("server");
      case "callerSaid":
      case "toolCall":
      case "replyDone":
      case "replyFailed":
      case "replyHeard":
      case "scribeDone":
      case "scribeFailed":
      case "sttLost":
        // Speech and model events belong to the AI dialog; on the keypad there are none.
        return [];
      case "transferFailed":
        return this.#onTransferFailed(event.reason);
    }
  }

  #onStart(callerNumber: string | null): DialogAction[] {
    if (this.#state !== "WELCOME" || this.#ticketRequested) {
      throw new Error(`SAV dialog got a second start event (state ${this.#state}): start must come once, first`);
    }
    this.#callerNumber = callerNumber;
    this.#ticketRequested = true;
    const out: DialogAction[] = [{ type: "openTicket" }];
    this.#goTo(out, "MENU");
    this.#utterances.say(out, this.opening.map((id) => phrase(id)), QUESTION);
    return out;
  }

  resume(resume: SavResume): DialogAction[] {
    if (!Number.isSafeInteger(resume.nextUtteranceId) || resume.nextUtteranceId < 1) {
      throw new Error(`SAV dialog resume nextUtteranceId is ${resume.nextUtteranceId}: it must be a positive integer`);
    }
    this.#callerNumber = resume.callerNumber;
    this.#ticketRequested = true;
    if (resume.ticketNumber !== null) this.#onTicketOpened(resume.ticketNumber);
    this.#utterances = new Utterances(resume.nextUtteranceId);
    this.#state = "MENU";
    const out: DialogAction[] = [];
    this.#utterances.say(out, [...resume.lead, phrase("problemMenu")], QUESTION);
    return out;
  }

  #onTicketOpened(ticketNumber: number): void {
    if (!this.#ticketRequested) {
      throw new Error(`SAV dialog got ticketOpened ${ticketNumber} before asking for a ticket (no start event yet)`);
    }
    if (this.#ticketNumber !== null) {
      throw new Error(
        `SAV dialog got ticketOpened ${ticketNumber} but its ticket is already number ${this.#ticketNumber}: a call has one ticket`,
      );
    }
    if (!Number.isSafeInteger(ticketNumber) || ticketNumber < 0) {
      throw new Error(`SAV dialog got ticket number ${ticketNumber}: it must be a non-negative integer`);
    }
    this.#ticketNumber = ticketNumber;
  }

  #onDigit(digit: string, at: number): DialogAction[] {
    if (!DTMF_KEY.test(digit)) {
      throw new Error(`SAV dialog got DTMF ${JSON.stringify(digit)}: it must be one key of 0-9, *, #, A-D`);
    }
    this.#now = at;
    if (!this.#listening()) return [];
    const out: DialogAction[] = [];
    this.#utterances.stop(out);
    out.push({ type: "record", kind: "dtmf", detail: digit });
    switch (this.#state) {
      case "MENU":
        this.#onMenuDigit(out, digit);
        break;
      case "VERIFICATION":
        this.#onVerificationDigit(out, digit);
        break;
      case "PHONE_ENTRY":
        this.#onPhoneDigit(out, digit);
        break;
      case "PHONE_CONFIRM":
        this.#onConfirmDigit(out, digit);
        break;
    }
    return out;
  }

  #onMenuDigit(out: DialogAction[], digit: string): void {
    const choice = FIXES[digit];
    if (!choice) {
      this.#invalid(out, digit, [phrase("invalidChoice"), ...this.#question()]);
      return;
    }
    out.push({ type: "updateTicket", problemType: choice.problem });
    if (choice.problem === "other") {
      // Nothing for the caller to try: go straight to a technician. When the number is already
      // known, the callback phrase says the same as fixOther, so fixOther is left out.
      this.#technician(out, "other problem (key 3)", this.#callerNumber === null ? [phrase(choice.fix)] : []);
      return;
    }
    this.#goTo(out, "VERIFICATION");
    this.#utterances.say(out, [phrase(choice.fix), phrase("solvedQuestion")], AFTER_FIX);
  }

  #onVerificationDigit(out: DialogAction[], digit: string): void {
    if (digit === "1") {
      this.#finish(out, [...ticketNumberParts(this.#ticketNumber), phrase("goodbyeResolved")], "resolved", { status: "resolved" });
    } else if (digit === "2") {
      this.#technician(out, "the fix did not work (key 2)", []);
    } else {
      this.#invalid(out, digit, [phrase("invalidChoice"), ...this.#question()]);
    }
  }

  #onPhoneDigit(out: DialogAction[], digit: string): void {
    if (digit >= "0" && digit <= "9") {
      // Keys past the maximum only need to mark the number as too long, not be kept.
      if (this.#typed.length <= this.#options.maxPhoneDigits) this.#typed += digit;
      return;
    }
    if (digit === "*") {
      this.#typed = "";
      this.#utterances.say(out, [phrase("enterPhone")], QUESTION);
      return;
    }
    const length = this.#typed.length;
    if (digit === "#" && length >= this.#options.minPhoneDigits && length <= this.#options.maxPhoneDigits) {
      this.#goTo(out, "PHONE_CONFIRM");
      this.#utterances.say(out, this.#question(), QUESTION);
      return;
    }
    this.#typed = "";
    this.#invalid(out, digit, [phrase("invalidPhone"), phrase("enterPhone")]);
  }

  #onConfirmDigit(out: DialogAction[], digit: string): void {
    if (digit === "1") {
      const parts = [this.#callbackWhen().lead, ...ticketNumberParts(this.#ticketNumber), phrase("goodbye")];
      this.#finish(out, parts, "escalated", { phone: this.#typed, status: "escalated" });
    } else if (digit === "2") {
      this.#typed = "";
      this.#goTo(out, "PHONE_ENTRY");
      this.#utterances.say(out, this.#question(), QUESTION);
    } else {
      this.#invalid(out, digit, [phrase("invalidChoice"), ...this.#question()]);
    }
  }

  /**
   * The problem was not solved on the phone: transferred to a technician now if one is there and
   * the PBX can, else called back. `lead` (what precedes a callback) is not said before a transfer.
   */
  #technician(out: DialogAction[], reason: string, lead: SpeechPart[]): void {
    if (technicianAnswer(this.#options.technicians, this.#now).transfer) {
      this.#ticketStatus = "escalated";
      out.push({ type: "updateTicket", status: "escalated", ...(this.#callerNumber === null ? {} : { phone: this.#callerNumber }) });
      this.#goTo(out, "TRANSFER");
      this.#utterances.say(out, [...ticketNumberParts(this.#ticketNumber), phrase("transferring")], FAREWELL);
      out.push({ type: "transfer", reason });
      return;
    }
    this.#callBack(out, lead);
  }

  /** A technician calls back: at the known number, or at the one the caller types. */
  #callBack(out: DialogAction[], lead: SpeechPart[]): void {
    if (this.#callerNumber !== null) {
      const when = this.#callbackWhen();
      // "As soon as possible" has a wording that also says which number: the one they call from.
      const callback = when.asap ? phrase("escalatedKnownNumber") : when.lead;
      const parts = [...lead, callback, ...ticketNumberParts(this.#ticketNumber), phrase("goodbye")];
      this.#finish(out, parts, "escalated", { phone: this.#callerNumber, status: "escalated" });
      return;
    }
    this.#typed = "";
    this.#goTo(out, "PHONE_ENTRY");
    this.#utterances.say(out, [...lead, ...this.#question()], QUESTION);
  }

  /** When the technician calls back: the next opening, or "as soon as possible" (`asap`, also when a transfer was possible but not taken). */
  #callbackWhen(): { lead: SpeechPart; asap: boolean } {
    const answer = technicianAnswer(this.#options.technicians, this.#now);
    return answer.transfer ? { lead: phrase("escalated"), asap: true } : { lead: answer.lead, asap: answer.callbackAt === null };
  }

  /** The PBX could not take the caller: the technician calls back instead (the number is asked if unknown). */
  #onTransferFailed(reason: string): DialogAction[] {
    if (this.#state !== "TRANSFER") return [];
    const out: DialogAction[] = [{ type: "record", kind: "transfer-failed", detail: reason }];
    if (this.#callerNumber !== null) {
      const parts = [phrase("transferFailed"), ...ticketNumberParts(this.#ticketNumber), phrase("goodbye")];
      this.#finish(out, parts, "escalated", { phone: this.#callerNumber, status: "escalated" });
      return out;
    }
    this.#typed = "";
    this.#goTo(out, "PHONE_ENTRY");
    this.#utterances.say(out, [phrase("transferFailed"), ...this.#question()], QUESTION);
    return out;
  }

  #invalid(out: DialogAction[], digit: string, retry: SpeechPart[]): void {
    this.#invalidAnswers++;
    const { maxInvalidAnswers } = this.#options;
    const detail = `${this.#state}:${digit} ${this.#invalidAnswers}/${maxInvalidAnswers}`;
    out.push({ type: "record", kind: "invalid", detail });
    if (this.#invalidAnswers < maxInvalidAnswers) {
      this.#utterances.say(out, retry, QUESTION);
      return;
    }
    const parts = [phrase("tooManyInvalid"), ...ticketNumberParts(this.#ticketNumber), phrase("goodbye")];
    this.#finish(out, parts, "too-many-invalid", { status: "abandoned" });
  }

  #onSilenceWarning(): DialogAction[] {
    if (!this.#listening()) return [];
    const out: DialogAction[] = [];
    this.#utterances.stop(out);
    out.push({ type: "record", kind: "timer", detail: "silence-warning" });
    // Half a number followed by "type your number" would be confusing: typing starts over.
    if (this.#state === "PHONE_ENTRY") this.#typed = "";
    this.#utterances.say(out, [phrase("stillThere"), ...this.#question()], QUESTION);
    return out;
  }

  #onTimeout(timer: string, farewell: PhraseId, reason: DialogEndReason): DialogAction[] {
    if (!this.#listening()) return [];
    const out: DialogAction[] = [];
    this.#utterances.stop(out);
    out.push({ type: "record", kind: "timer", detail: timer });
    // While listening the ticket is still open.
    const parts = [phrase(farewell), ...ticketNumberParts(this.#ticketNumber), phrase("goodbye")];
    this.#finish(out, parts, reason, { status: "abandoned" });
    return out;
  }

  /** The call is over before the dialog ended it: an open ticket is abandoned; `detail` says who or what ended it. */
  #onHangup(detail: string): DialogAction[] {
    const out: DialogAction[] = [];
    if (this.#ticketRequested && this.#ticketStatus === "open") {
      this.#ticketStatus = "abandoned";
      out.push({ type: "updateTicket", status: "abandoned" });
    }
    out.push({ type: "record", kind: "hangup", detail });
    this.#utterances.forget();
    this.#goTo(out, "GOODBYE");
    return out;
  }

  /** Ends the dialog: ticket update, goodbye speech that cannot be cut short, then hang-up. */
  #finish(
    out: DialogAction[],
    parts: SpeechPart[],
    reason: DialogEndReason,
    ticket: { status: TicketStatus; phone?: string },
  ): void {
    this.#ticketStatus = ticket.status;
    out.push({ type: "updateTicket", ...ticket });
    this.#goTo(out, "GOODBYE");
    this.#utterances.say(out, parts, FAREWELL);
    out.push({ type: "hangup", reason });
  }

  /** The question the caller is expected to answer in the current state. */
  #question(): SpeechPart[] {
    switch (this.#state) {
      case "MENU":
        return [phrase("problemMenu")];
      case "VERIFICATION":
        return [phrase("solvedQuestion")];
      case "PHONE_ENTRY":
        return [phrase("enterPhone")];
      case "PHONE_CONFIRM":
        return [phrase("youTyped"), { digits: this.#typed }, phrase("confirmPhone")];
      default:
        return [];
    }
  }



  /** Whether the caller's keys and silence count: not before the welcome, nor once the call is being ended or handed over. */
  #listening(): boolean {
    return this.#state !== "WELCOME" && this.#state !== "GOODBYE" && this.#state !== "TRANSFER";
  }

  #goTo(out: DialogAction[], next: DialogState): void {
    if (next === this.#state) return;
    out.push({ type: "record", kind: "state", detail: `${this.#state}->${next}` });
    this.#state = next;
  }

}
