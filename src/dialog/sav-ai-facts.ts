/**
 * What an AI SAV call knows for its ticket, and the scribes that learn it: each caller turn asks a
 * new scribe; an answer newer than the last one applied goes to the ticket (an older one is stale),
 * and the dialog's state follows the facts. A decision to end or transfer the call that comes while
 * the turn's scribe is still writing waits here for it.
 */
import type { ChatMessage } from "../ai/llm/types.ts";
import type { PromptFacts } from "./sav-ai-prompts.ts";
import { SCRIBE_TOOL, scribeMessages, type ParsedScribeCall, type ScribeFacts } from "./sav-ai-scribe.ts";
import type { SavToolCall } from "./sav-ai-tools.ts";
import type { DialogAction, DialogState } from "./types.ts";

type TicketUpdate = Extract<DialogAction, { type: "updateTicket" }>;

export class SavFacts {
  readonly known: PromptFacts;
  #nextScribeId = 1;
  /** The newest scribe asked for and not answered yet. */
  #pending: number | null = null;
  #applied = 0;
  #deferred: SavToolCall | null = null;
  /** A scribe failed during the call: facts the ticket lacks may have been said. */
  #scribeFailed = false;

  constructor(companyName: string) {
    this.known = { companyName, callerNumber: null, customer: null, phone: null, problemType: null, description: null, solved: null };
  }

  /** The state the facts put the conversation in. */
  get state(): DialogState {
    const facts = this.known;
    if (facts.solved !== null) return "VERIFICATION";
    if (facts.problemType !== null) return "SOLUTION";
    return facts.phone !== null ? "DIAGNOSTIC" : "IDENTIFICATION";
  }

  /** A decision to end or transfer the call is waiting for the pending scribe. */
  get deferring(): boolean {
    return this.#deferred !== null;
  }

  get incomplete(): boolean {
    return this.#scribeFailed;
  }

  /** The number a technician calls back, when the ticket lacks one: the caller's own. */
  callbackPhone(): { phone?: string } {
    if (this.known.phone !== null) return {};
    return this.known.callerNumber === null ? {} : { phone: this.known.callerNumber };
  }

  /** A new caller turn: the scribe to ask, over the conversation's words so far. */
  askScribe(transcript: readonly ChatMessage[]): DialogAction {
    const scribeId = this.#nextScribeId++;
    this.#pending = scribeId;
    return { type: "scribe", scribeId, messages: scribeMessages(this.known, transcript), tool: SCRIBE_TOOL };
  }

  /** Keeps `call` until the pending scribe answers; false when none is pending (carry it out now). */
  defer(call: SavToolCall): boolean {
    if (this.#pending === null) return false;
    this.#deferred = call;
    return true;
  }

  /**
   * Scribe `scribeId` answered (or failed): its facts, when newer, are recorded and sent to the
   * ticket. Returns the decision that waited for it, if this was the pending scribe.
   */
  answer(out: DialogAction[], scribeId: number, parsed: ParsedScribeCall): SavToolCall | null {
    if (!Number.isSafeInteger(scribeId) || scribeId < 1 || scribeId >= this.#nextScribeId) {
      throw new Error(`AI SAV dialog got a scribe answer ${scribeId}, which it never asked for (last is ${this.#nextScribeId - 1})`);
    }
    if (scribeId > this.#applied) {
      this.#applied = scribeId;
      if (parsed.ok) this.#learn(out, parsed.facts);
      else {
        this.#scribeFailed = true;
        out.push({ type: "record", kind: "scribe-error", detail: parsed.error });
      }
    }
    if (scribeId !== this.#pending) return null;
    this.#pending = null;
    const deferred = this.#deferred;
    this.#deferred = null;
    return deferred;
  }

  #learn(out: DialogAction[], found: ScribeFacts): void {
    const facts = this.known;
    const changed: TicketUpdate = { type: "updateTicket" };
    if (found.customer !== undefined && found.customer !== facts.customer) changed.customer = facts.customer = found.customer;
    if (found.phone !== undefined && found.phone !== facts.phone) changed.phone = facts.phone = found.phone;
    if (found.problemType !== undefined && found.problemType !== facts.problemType) changed.problemType = facts.problemType = found.problemType;
    if (found.description !== undefined && found.description !== facts.description) changed.description = facts.description = found.description;
    if (found.solved !== undefined) facts.solved = found.solved;
    out.push({ type: "record", kind: "facts", detail: JSON.stringify(found) });
    if (Object.keys(changed).length > 1) out.push(changed);
  }
}
