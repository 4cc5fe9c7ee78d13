/**
 * The after-sales (SAV) scenario led by a language model: the caller speaks freely and each of
 * their turns asks two things at once — a reply (`think`), whose model only talks and may only hand
 * the call to a technician or end it (sav-ai-tools.ts), and a scribe (`scribe`, sav-ai-scribe.ts)
 * that writes the ticket's facts from the conversation off the critical path, so the caller never
 * waits for a tool round trip. This dialog keeps the conversation history, the ticket's fields, the
 * state (IDENTIFICATION, DIAGNOSTIC, SOLUTION, VERIFICATION, then GOODBYE or TRANSFER, from the
 * facts) whose instructions go with each `think`, and ends the call itself: the ticket number and
 * goodbye are fixed phrases, never left to the model. A decision to end or transfer the call waits
 * for the scribe of the same turn (the ticket's status depends on what the caller just said).
 * Like sav.ts it is pure: times come inside events (`at`), the call layer does all I/O.
 * Keypad keys: "0" asks for a technician (as request_technician); other keys are only recorded.
 * Before any timed event (`at`) the hour is unknown: the technician calls back "as soon as possible".
 * After `sttLost` the rest of the call is a keypad SavDialog resumed on the same ticket.
 *
 * `record` kinds: "state" ("IDENTIFICATION->SOLUTION"), "tool" ("end_call {json}"),
 * "tool-error" (why a tool call was refused), "facts" (what a scribe wrote, as JSON), "scribe-error", "ai-error" ("2/3 <error>"), "dtmf", "timer"
 * ("silence-warning", "silence-timeout", "max-duration") and "hangup" ("caller", "server").
 */
import type { ChatMessage, ToolCall } from "../ai/llm/types.ts";
import { ConversationHistory } from "./sav-ai-history.ts";
import type { TechHours } from "./business-hours.ts";
import { checkPromptLanguage, systemPrompt } from "./sav-ai-prompts.ts";
import { SavFacts } from "./sav-ai-facts.ts";
import { parseScribeCall, type ParsedScribeCall } from "./sav-ai-scribe.ts";
import { parseToolCall, TALKER_TOOLS, type SavToolCall } from "./sav-ai-tools.ts";
import { resumeSavDialog, type SavDialogOptions } from "./sav.ts";
import { checkTechnicians, technicianAnswer, type Technicians } from "./technician.ts";
import type { Dialog, DialogAction, DialogEndReason, DialogEvent, DialogState, PhraseId, SpeechPart, TicketStatus } from "./types.ts";
import { FAREWELL, QUESTION, phrase, ticketNumberParts, Utterances } from "./utterances.ts";

export interface AiSavDialogOptions {
  /** BCP 47 language of the prompts and spoken callback times: fr-FR, en-US or pt-BR. */
  language: string;
  /** Named in the instructions ("the after-sales service of <company>"); "" = none. */
  companyName?: string;
  techHours: TechHours;
  /** IANA zone of techHours, e.g. "Europe/Paris". */
  timezone: string;
  /** Tunables of the keypad dialog that takes over if speech recognition is lost. */
  keypad?: SavDialogOptions;
  /** Most history messages sent with each think (besides the system prompt). Default 20. */
  historyLimit?: number;
  /** False where the transport cannot transfer: a technician calls back instead. Default true. */
  canTransfer?: boolean;
}

export function createAiSavDialog(options: AiSavDialogOptions): Dialog {
  checkPromptLanguage(options.language);
  const technicians: Technicians = {
    hours: options.techHours, timezone: options.timezone, language: options.language, canTransfer: options.canTransfer !== false,
  };
  checkTechnicians(technicians);
  const historyLimit = options.historyLimit ?? 20;
  if (!Number.isInteger(historyLimit) || historyLimit < 2 || historyLimit > 1000) {
    throw new Error(`AI dialog option historyLimit is ${historyLimit}: it must be an integer from 2 to 1000`);
  }
  return new AiSavDialog({ ...options, companyName: options.companyName ?? "", historyLimit, technicians });
}

type Resolved = AiSavDialogOptions & { companyName: string; historyLimit: number; technicians: Technicians };

const DTMF_KEY = /^[0-9*#A-D]$/;
const MAX_FAILURES = 3;
// Thinks in a row without the caller speaking: a model looping on tool calls must not talk forever.
const MAX_ROUNDS = 4;
const ACTIVE: ReadonlySet<DialogState> = new Set(["IDENTIFICATION", "DIAGNOSTIC", "SOLUTION", "VERIFICATION"]);

class AiSavDialog implements Dialog {
  readonly opening: readonly PhraseId[] = ["welcomeAi"];
  readonly #options: Resolved;
  #state: DialogState = "WELCOME";
  #keypad: Dialog | null = null;
  #ticketRequested = false;
  #ticketNumber: number | null = null;
  /** The ticket number was said ahead of a goodbye or hand-off still waiting for its scribe. */
  #numberSaid = false;
  #ticketStatus: TicketStatus = "open";
  /** What the ticket holds so far, and the caller's number: told to the model with every think. */
  readonly #facts: SavFacts;
  readonly #history: ConversationHistory;
  #nextReplyId = 1;
  /** The reply whose outcome the dialog waits for; older ones were cut by the caller. */
  #currentReplyId: number | null = null;
  #failures = 0;
  #rounds = 0;
  /** The latest `at` seen: the call's clock as far as this dialog knows. */
  #now: number | null = null;
  readonly #utterances = new Utterances();

  constructor(options: Resolved) {
    this.#options = options;
    this.#history = new ConversationHistory(options.historyLimit);
    this.#facts = new SavFacts(options.companyName);
  }

  get state(): DialogState {
    return this.#keypad?.state ?? this.#state;
  }

  handle(event: DialogEvent): DialogAction[] {
    if (this.#keypad) return event.type === "sttLost" || event.type === "scribeDone" || event.type === "scribeFailed" ? [] : this.#keypad.handle(event);
    switch (event.type) {
      case "start":
        return this.#onStart(event.callerNumber);
      case "ticketOpened":
        this.#onTicketOpened(event.ticketNumber);
        return [];
      case "spoken":
        this.#utterances.spoken(event.utteranceId);
        return [];
      case "callerSaid":
        return this.#onCallerSaid(event.text, event.at);
      case "toolCall":
        return this.#onToolCall(event.replyId, event.call, event.at);
      case "scribeDone":
        return this.#onScribe(event.scribeId, event.call === null ? { ok: false, error: "the scribe wrote no facts" } : parseScribeCall(event.call));
      case "scribeFailed":
        return this.#onScribe(event.scribeId, { ok: false, error: event.error });
      case "replyDone":
        return this.#onReplyDone(event.replyId, event.text);
      case "replyFailed":
        return this.#onReplyFailed(event.replyId, event.error);
      case "replyHeard":
        this.#checkReplyId(event.replyId);
        if (event.interrupted) this.#history.cutReply(event.replyId, event.heard);
        return [];
      case "dtmf":
        this.#now = event.at;
        return this.#onDigit(event.digit);
      case "silenceWarning":
        return this.#whileActive((out) => {
          out.push({ type: "record", kind: "timer", detail: "silence-warning" });
          this.#utterances.say(out, [phrase("stillThere")], QUESTION);
        });
      case "silenceTimeout":
        return this.#onTimeout("silence-timeout", "silenceGoodbye", "silence");
      case "maxDuration":
        return this.#onTimeout("max-duration", "maxDurationGoodbye", "max-duration");
      case "callerHangup":
        return this.#onHangup(event.cause ?? "caller");
      case "serverHangup":
        return this.#onHangup("server");
      case "sttLost":
        return this.#whileActive((out) => this.#toKeypad(out));
      case "transferFailed":
        return this.#onTransferFailed(event.reason);
    }
  }

  /** The ticket stays escalated: the caller is told a technician will call back, then goodbye. */
  #onTransferFailed(reason: string): DialogAction[] {
    const out: DialogAction[] = [{ type: "record", kind: "transfer-failed", detail: reason }];
    const ticket = { status: "escalated" as const, ...this.#facts.callbackPhone() };
    this.#finish(out, [phrase("transferFailed"), ...this.#number(), phrase("goodbye")], "escalated", ticket);
    return out;
  }

  #onStart(callerNumber: string | null): DialogAction[] {
    if (this.#state !== "WELCOME" || this.#ticketRequested) {
      throw new Error(`AI SAV dialog got a second start event (state ${this.#state}): start must come once, first`);
    }
    this.#facts.known.callerNumber = callerNumber;
    this.#ticketRequested = true;
    const out: DialogAction[] = [{ type: "openTicket" }];
    this.#goTo(out, "IDENTIFICATION");
    this.#utterances.say(out, this.opening.map((id) => phrase(id)), QUESTION);
    return out;
  }

  #onTicketOpened(ticketNumber: number): void {
    if (!this.#ticketRequested) {
      throw new Error(`AI SAV dialog got ticketOpened ${ticketNumber} before asking for a ticket (no start event yet)`);
    }
    if (this.#ticketNumber !== null) {
      throw new Error(`AI SAV dialog got ticketOpened ${ticketNumber} but its ticket is already number ${this.#ticketNumber}: a call has one ticket`);
    }
    if (!Number.isSafeInteger(ticketNumber) || ticketNumber < 0) {
      throw new Error(`AI SAV dialog got ticket number ${ticketNumber}: it must be a non-negative integer`);
    }
    this.#ticketNumber = ticketNumber;
  }

  #onCallerSaid(text: string, at: number): DialogAction[] {
    this.#now = at;
    const said = text.trim();
    // Once the model decided to end or transfer the call, later words do not reopen the conversation.
    if (said === "" || this.#facts.deferring) return [];
    return this.#whileActive((out) => {
      this.#history.addUser(said);
      this.#rounds = 0;
      this.#think(out);
      out.push(this.#facts.askScribe(this.#history.transcript()));
    });
  }

  #onToolCall(replyId: number, call: ToolCall, at: number): DialogAction[] {
    this.#now = at;
    this.#checkReplyId(replyId);
    const out: DialogAction[] = [{ type: "record", kind: "tool", detail: `${call.name} ${call.arguments}` }];
    let result: Record<string, unknown>;
    if (!ACTIVE.has(this.#state)) {
      result = { ok: false, error: "the call is already ending: no more tools" };
    } else {
      const parsed = parseToolCall(call);
      if (!parsed.ok) result = { ok: false, error: parsed.error };
      else if (this.#facts.defer(parsed.call)) {
        // The goodbye or hand-off waits for the scribe; the ticket number, said first in both, need not.
        this.#sayNumberNow(out);
        result = { ok: true };
      }
      else result = this.#apply(out, parsed.call);
    }
    if (result.ok === false) out.push({ type: "record", kind: "tool-error", detail: `${call.name}: ${String(result.error)}` });
    this.#history.addToolResult(replyId, call, JSON.stringify(result), result.ok !== false);
    return out;
  }

  /** Carries out a valid tool call; returns its result for the model. */
  #apply(out: DialogAction[], call: SavToolCall): Record<string, unknown> {
    if (call.name === "request_technician") return this.#technician(out, call.reason);
    this.#endCall(out);
    return { ok: true };
  }

  /** A scribe's answer: its facts go to the ticket, the state follows, a decision that waited for it is carried out. */
  #onScribe(scribeId: number, parsed: ParsedScribeCall): DialogAction[] {
    const out: DialogAction[] = [];
    const deferred = this.#facts.answer(out, scribeId, parsed);
    if (!ACTIVE.has(this.#state)) return out;
    this.#goTo(out, this.#facts.state);
    if (deferred !== null) this.#apply(out, deferred);
    return out;
  }

  /** Transfer during opening hours, else a callback at the next opening; both end the dialog. */
  #technician(out: DialogAction[], reason: string): Record<string, unknown> {
    const ticket = { status: "escalated" as const, ...this.#facts.callbackPhone() };
    const answer = technicianAnswer(this.#options.technicians, this.#now);
    if (answer.transfer) {
      this.#ticketStatus = "escalated";
      out.push({ type: "updateTicket", ...ticket });
      this.#goTo(out, "TRANSFER");
      this.#utterances.say(out, [...this.#number(), phrase("transferring")], FAREWELL);
      out.push({ type: "transfer", reason });
      return { ok: true, availableNow: true };
    }
    this.#finish(out, [answer.lead, ...this.#number(), phrase("goodbye")], "escalated", ticket);
    return { ok: true, availableNow: false, callbackAt: answer.callbackAt };
  }

  /**
   * Solved: resolved. A known problem left unsolved: a technician calls back (escalated). No
   * problem at all: the caller just ended the conversation (abandoned), unless a scribe failed —
   * then the problem may have been said and lost: the ticket is incomplete, for a person to check.
   */
  #endCall(out: DialogAction[]): void {
    const tail = this.#number();
    if (this.#facts.known.solved === true) {
      this.#finish(out, [...tail, phrase("goodbyeResolved")], "resolved", { status: "resolved" });
    } else if (this.#facts.known.problemType !== null) {
      const ticket = { status: "escalated" as const, ...this.#facts.callbackPhone() };
      this.#finish(out, [phrase("escalated"), ...tail, phrase("goodbye")], "escalated", ticket);
    } else {
      this.#finish(out, [...tail, phrase("goodbye")], "caller-hangup", { status: this.#facts.incomplete ? "incomplete" : "abandoned" });
    }
  }

  #onReplyDone(replyId: number, text: string): DialogAction[] {
    this.#checkReplyId(replyId);
    const calls = this.#history.finishReply(replyId, text);
    if (replyId !== this.#currentReplyId) return [];
    this.#currentReplyId = null;
    // Only a reply the caller heard ends a run of failures: a tool-only reply proves nothing about the voice.
    if (text.trim() !== "") this.#failures = 0;
    const out: DialogAction[] = [];
    // Refused calls alone ask the model again (their results say what was wrong); one carried out ends its part.
    const continues = calls.length > 0 && !calls.some((c) => c.ok);
    if (continues && ACTIVE.has(this.#state) && this.#rounds < MAX_ROUNDS) this.#think(out);
    return out;
  }

  #onReplyFailed(replyId: number, error: string): DialogAction[] {
    this.#checkReplyId(replyId);
    // A reply cut by the caller's new words fails too: that is not the model's fault.
    if (replyId !== this.#currentReplyId) return [];
    this.#currentReplyId = null;
    return this.#whileActive((out) => {
      this.#failures++;
      out.push({ type: "record", kind: "ai-error", detail: `${this.#failures}/${MAX_FAILURES} ${error}` });
      if (this.#failures < MAX_FAILURES) {
        this.#utterances.say(out, [phrase("sorryRepeat")], QUESTION);
        return;
      }
      const parts = [phrase("aiErrorGoodbye"), ...this.#number(), phrase("goodbye")];
      this.#finish(out, parts, "ai-error", { status: "incomplete" });
    });
  }

  #onDigit(digit: string): DialogAction[] {
    if (!DTMF_KEY.test(digit)) {
      throw new Error(`AI SAV dialog got DTMF ${JSON.stringify(digit)}: it must be one key of 0-9, *, #, A-D`);
    }
    return this.#whileActive((out) => {
      out.push({ type: "record", kind: "dtmf", detail: digit });
      if (digit !== "0") return;
      this.#currentReplyId = null;
      this.#technician(out, "caller pressed 0 for a technician");
    });
  }

  #onTimeout(timer: string, farewell: PhraseId, reason: DialogEndReason): DialogAction[] {
    return this.#whileActive((out) => {
      out.push({ type: "record", kind: "timer", detail: timer });
      this.#finish(out, [phrase(farewell), ...this.#number(), phrase("goodbye")], reason, { status: "abandoned" });
    });
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
    this.#currentReplyId = null;
    this.#goTo(out, "GOODBYE");
    return out;
  }

  #toKeypad(out: DialogAction[]): void {
    this.#currentReplyId = null;
    const resumed = resumeSavDialog(
      {
        ticketNumber: this.#ticketNumber,
        callerNumber: this.#facts.known.phone ?? this.#facts.known.callerNumber,
        nextUtteranceId: this.#utterances.nextId,
        lead: [phrase("sttLost")],
      },
      { ...this.#options.keypad, technicians: this.#options.technicians },
    );
    this.#goTo(out, "MENU");
    this.#keypad = resumed.dialog;
    out.push(...resumed.actions);
  }

  /** Runs `act` only while the conversation is on (not before start, not once it is ending). */
  #whileActive(act: (out: DialogAction[]) => void): DialogAction[] {
    if (!ACTIVE.has(this.#state)) return [];
    const out: DialogAction[] = [];
    this.#utterances.stop(out);
    act(out);
    return out;
  }

  #think(out: DialogAction[]): void {
    const replyId = this.#nextReplyId++;
    const system: ChatMessage = { role: "system", content: systemPrompt(this.#options.language, this.#state, this.#facts.known) };
    out.push({ type: "think", replyId, messages: [system, ...this.#history.messages()], tools: [...TALKER_TOOLS] });
    this.#history.startReply(replyId);
    this.#currentReplyId = replyId;
    this.#rounds++;
  }

  /** The ticket number's parts for a farewell, unless it was said already. */
  #number(): SpeechPart[] {
    return this.#numberSaid ? [] : ticketNumberParts(this.#ticketNumber);
  }

  #sayNumberNow(out: DialogAction[]): void {
    const parts = this.#number();
    if (parts.length === 0) return;
    this.#numberSaid = true;
    this.#utterances.say(out, parts, FAREWELL);
  }

  #checkReplyId(replyId: number): void {
    if (!Number.isSafeInteger(replyId) || replyId < 1 || replyId >= this.#nextReplyId) {
      throw new Error(`AI SAV dialog got an event for reply ${replyId}, which it never asked for (last is ${this.#nextReplyId - 1})`);
    }
  }

  #finish(out: DialogAction[], parts: SpeechPart[], reason: DialogEndReason, ticket: { status: TicketStatus; phone?: string }): void {
    this.#ticketStatus = ticket.status;
    out.push({ type: "updateTicket", ...ticket });
    this.#goTo(out, "GOODBYE");
    this.#utterances.say(out, parts, FAREWELL);
    out.push({ type: "hangup", reason });
  }

  #goTo(out: DialogAction[], next: DialogState): void {
    if (next === this.#state) return;
    out.push({ type: "record", kind: "state", detail: `${this.#state}->${next}` });
    this.#state = next;
  }

}
