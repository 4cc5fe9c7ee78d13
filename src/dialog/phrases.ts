/**
 * The fixed phrases' texts per language. The JSON files are imported statically so that
 * `bun build --compile` embeds them: the binary needs no assets directory beside it.
 */
import enUS from "../../assets/phrases/en-US.json";
import frFR from "../../assets/phrases/fr-FR.json";
import ptBR from "../../assets/phrases/pt-BR.json";
import { PHRASE_IDS, type PhraseId, type SpeechPart } from "./types.ts";

type PhraseTexts = Readonly<Record<PhraseId, string>>;

// Typed assignments make tsc reject a file that lacks a phrase; the run-time check below also
// catches extra keys and empty texts, which the type system cannot see in imported JSON.
const catalog: Readonly<Record<string, PhraseTexts>> = {
  "fr-FR": frFR,
  "en-US": enUS,
  "pt-BR": ptBR,
};

export const SUPPORTED_LANGUAGES: readonly string[] = Object.freeze(Object.keys(catalog));

const checked = new Map<string, PhraseTexts>();

/** The texts of every phrase in `language` (one of SUPPORTED_LANGUAGES, spelled exactly). */
export function phraseTexts(language: string): PhraseTexts {
  const cached = checked.get(language);
  if (cached) return cached;
  const texts = Object.hasOwn(catalog, language) ? catalog[language] : undefined;
  if (!texts) {
    throw new Error(
      `unknown phrase language ${JSON.stringify(language)}: supported languages are ${SUPPORTED_LANGUAGES.join(", ")}`,
    );
  }
  const valid = Object.freeze(validated(language, texts));
  checked.set(language, valid);
  return valid;
}

function validated(language: string, texts: PhraseTexts): PhraseTexts {
  const file = `assets/phrases/${language}.json`;
  const known = new Set<string>(PHRASE_IDS);
  const extra = Object.keys(texts).filter((key) => !known.has(key));
  if (extra.length > 0) {
    throw new Error(`${file} has unknown phrase ids ${extra.join(", ")}: allowed ids are those of PHRASE_IDS`);
  }
  const result = {} as Record<PhraseId, string>;
  for (const id of PHRASE_IDS) {
    const text: unknown = texts[id];
    if (typeof text !== "string" || text.trim() === "") {
      throw new Error(`${file} phrase ${id} is ${JSON.stringify(text)}: it must be a non-empty string`);
    }
    result[id] = text;
  }
  return result;
}

const KEYPAD = /^[0-9*#]+$/;

/**
 * What the bot said, as one line of text for the turns table. A digits part is written as the
 * keys themselves, space-separated ("0 6 1 2"), and closed by a full stop when speech follows it.
 */
export function speechText(parts: readonly SpeechPart[], texts: PhraseTexts): string {
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    let piece: string;
    if ("phrase" in part) {
      piece = texts[part.phrase];
    } else if ("text" in part) {
      piece = part.text.trim();
    } else {
      if (!KEYPAD.test(part.digits)) {
        throw new Error(
          `speech part digits ${JSON.stringify(part.digits)} is not a keypad string: allowed are 0-9, * and #, at least one`,
        );
      }
      piece = part.digits.split("").join(" ");
      if (i < parts.length - 1) piece += ".";
    }
    out = out === "" ? piece : `${out} ${piece}`;
  }
  return out;
}
