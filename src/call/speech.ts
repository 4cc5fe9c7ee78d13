import type { PhraseId, SpeechPart } from "../dialog/types.ts";

const DIGIT_PHRASE: Readonly<Record<string, PhraseId>> = {
  "0": "digit0", "1": "digit1", "2": "digit2", "3": "digit3", "4": "digit4",
  "5": "digit5", "6": "digit6", "7": "digit7", "8": "digit8", "9": "digit9",
  "*": "digitStar", "#": "digitHash",
};

/** The phrase-cache keys an utterance is made of: digits are read one by one. */
export function phraseKeys(parts: readonly SpeechPart[]): PhraseId[] {
  const keys: PhraseId[] = [];
  for (const part of parts) {
    if ("phrase" in part) {
      keys.push(part.phrase);
      continue;
    }
    if ("text" in part) continue;
    for (const ch of part.digits) {
      const key = DIGIT_PHRASE[ch];
      if (key) keys.push(key);
    }
  }
  return keys;
}
