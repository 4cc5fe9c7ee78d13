/** What both SAV dialogs do with their own prompts: number them, and remember which a key may cut. */
import type { DialogAction, PhraseId, SpeechPart } from "./types.ts";

export type Prompt = { interruptible: boolean; awaitInput: boolean; patienceMs?: number };
/** The caller is expected to answer; a key (or their voice) cuts it short. */
export const QUESTION: Prompt = { interruptible: true, awaitInput: true };
/** The last words of a call: nothing cuts them, nothing is awaited after them. */
export const FAREWELL: Prompt = { interruptible: false, awaitInput: false };

export const phrase = (id: PhraseId): SpeechPart => ({ phrase: id });

/** Empty while the store has not yet answered openTicket: better silence than a wrong number. */
export function ticketNumberParts(ticketNumber: number | null): SpeechPart[] {
  if (ticketNumber === null) return [];
  return [phrase("ticketNumberIs"), { digits: String(ticketNumber) }];
}

export class Utterances {
  #next: number;
  /** Interruptible utterances sent and not yet reported as played to their end. */
  readonly #interruptible = new Set<number>();

  constructor(firstId = 1) {
    this.#next = firstId;
  }

  /** The id the next `say` will get (a dialog taking over goes on from there). */
  get nextId(): number {
    return this.#next;
  }

  say(out: DialogAction[], parts: SpeechPart[], prompt: Prompt): void {
    const utteranceId = this.#next++;
    if (prompt.interruptible) this.#interruptible.add(utteranceId);
    out.push({ type: "say", utteranceId, parts, ...prompt });
  }

  /** The utterance was played to its end. */
  spoken(utteranceId: number): void {
    this.#interruptible.delete(utteranceId);
  }

  /** Stops what a key may cut short, if anything is playing. */
  stop(out: DialogAction[]): void {
    if (this.#interruptible.size === 0) return;
    this.#interruptible.clear();
    out.push({ type: "stopSpeaking" });
  }

  /** The call is over: nothing is playing any more. */
  forget(): void {
    this.#interruptible.clear();
  }
}
