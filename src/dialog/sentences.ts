/**
 * Cuts a streamed reply into sentences so speech synthesis can start on the first one while the
 * model is still writing the rest. A sentence ends at . ! ? … (or a run of them, with any closing
 * quote or bracket) followed by white space, or at a newline. Not sentence ends: decimals and
 * URLs ("3.5", "site.fr/x": no space after the dot), abbreviations ("M.", "Mme.", "p. ex.",
 * initials "J."), a list number opening a sentence ("1. Débranchez"), and "etc." unless a capital
 * follows. A clause longer than LONG_CLAUSE characters is also cut at a comma, colon or semicolon
 * followed by a space, so a long first sentence does not delay the first audio; with
 * `firstClause`, the first piece of a reply is cut that way once it is that long, and with
 * `firstWords` it is also cut at the end of its that-many-th word when no mark came by then (the
 * caller hears the bot as soon as a few words can be spoken; later pieces are synthesized while it
 * speaks, so they can wait for whole sentences). A word cut waits for the next word's first letter:
 * French spaces its "?" and "!", which must stay with their words.
 */

const LONG_CLAUSE = 120;
const TERMINATORS = ".!?…";
const CLOSERS = "\"'»)]”’";
const SPACED_CLOSERS = "»”";
const INLINE_SPACES = " \t\u00a0\u202f";
const CLAUSE_MARKS = ",;:";
const ABBREVIATIONS = new Set([
  "m", "mm", "mme", "mmes", "mlle", "mlles", "dr", "pr", "me", "st", "ste", "p", "ex", "cf", "env", "av", "bd",
  "mr", "mrs", "ms", "vs", "n°", "tél", "sr", "sra", "jr",
]);

export class SentenceSplitter {
  #buffer = "";
  #clauseLimit: number;
  /** Words after which the first piece is cut; null once it is out. */
  #firstWords: number | null;

  constructor(options: { firstClause?: number; firstWords?: number } = {}) {
    this.#clauseLimit = options.firstClause ?? LONG_CLAUSE;
    this.#firstWords = options.firstWords ?? null;
  }

  /** Adds streamed text; returns the sentences completed so far (trimmed, never empty). */
  push(text: string): string[] {
    this.#buffer += text;
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const cut = this.#cutAfter(start, i);
      if (cut === "wait") break;
      if (cut === null) continue;
      if (emit(out, this.#buffer.slice(start, cut))) {
        this.#clauseLimit = LONG_CLAUSE;
        this.#firstWords = null;
      }
      start = cut;
      i = cut - 1;
    }
    this.#buffer = this.#buffer.slice(start);
    return out;
  }

  /** The reply is complete: returns what is left (trimmed), or null when nothing is. */
  end(): string | null {
    const rest = this.#buffer.trim();
    this.#buffer = "";
    return rest === "" ? null : rest;
  }

  /**
   * Where the sentence starting at `start` ends if character `i` closes it: the index after the
   * cut, null when it does not, "wait" when the text so far cannot tell yet.
   */
  #cutAfter(start: number, i: number): number | "wait" | null {
    const text = this.#buffer;
    const char = text[i] ?? "";
    if (char === "\n") return i + 1;
    if (this.#firstWords !== null && INLINE_SPACES.includes(char) && i > start && !isSpace(text[i - 1] ?? "")) {
      if (countWords(text.slice(start, i)) >= this.#firstWords) {
        const next = nextVisible(text, i);
        if (next === undefined) return "wait";
        if (/[\p{L}\p{N}]/u.test(next)) return i;
      }
    }
    if (CLAUSE_MARKS.includes(char)) {
      if (i - start < this.#clauseLimit) return null;
      const after = text[i + 1];
      if (after === undefined) return "wait";
      return isSpace(after) ? i + 1 : null;
    }
    if (!TERMINATORS.includes(char)) return null;
    let end = i + 1;
    for (;;) {
      while (end < text.length && (TERMINATORS.includes(text[end] ?? "") || CLOSERS.includes(text[end] ?? ""))) end++;
      if (end === text.length) return "wait";
      if (!isSpace(text[end] ?? "")) return null;
      // French typography spaces a closing guillemet: « Ça marche ? » belongs to its sentence.
      let next = end;
      while (next < text.length && INLINE_SPACES.includes(text[next] ?? "")) next++;
      if (next === text.length) return "wait";
      if (!SPACED_CLOSERS.includes(text[next] ?? "")) break;
      end = next + 1;
    }
    if (char !== ".") return end;
    const word = wordBefore(text, start, i);
    const lower = word.toLowerCase();
    if (ABBREVIATIONS.has(lower) || /^\p{Lu}$/u.test(word)) return null;
    if (/^\d+$/.test(word) && text.slice(start, i).trim() === word) return null;
    if (lower === "etc") {
      const next = nextVisible(text, end);
      if (next === undefined) return "wait";
      return /\p{Lu}/u.test(next) ? end : null;
    }
    return end;
  }
}

/** Adds the trimmed sentence unless it is empty; true when added. */
function emit(out: string[], sentence: string): boolean {
  const trimmed = sentence.trim();
  if (trimmed !== "") out.push(trimmed);
  return trimmed !== "";
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w !== "").length;
}

function isSpace(char: string): boolean {
  return /\s/.test(char);
}

/** The letters, digits and ° just before position `dot`, within the current sentence. */
function wordBefore(text: string, start: number, dot: number): string {
  let from = dot;
  while (from > start && /[\p{L}\p{N}°]/u.test(text[from - 1] ?? "")) from--;
  return text.slice(from, dot);
}

function nextVisible(text: string, from: number): string | undefined {
  for (let i = from; i < text.length; i++) {
    const char = text[i] ?? "";
    if (!isSpace(char)) return char;
  }
  return undefined;
}
