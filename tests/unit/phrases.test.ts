import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { phraseTexts, speechText, SUPPORTED_LANGUAGES } from "../../src/dialog/phrases.ts";
import { PHRASE_IDS } from "../../src/dialog/types.ts";

const PHRASES_DIR = join(import.meta.dir, "../../assets/phrases");

describe("phrase files", () => {
  test("one file per supported language, and nothing else", () => {
    const files = readdirSync(PHRASES_DIR).sort();
    expect(files).toEqual(SUPPORTED_LANGUAGES.map((language) => `${language}.json`).sort());
    expect(SUPPORTED_LANGUAGES).toEqual(["fr-FR", "en-US", "pt-BR"]);
  });

  for (const language of ["fr-FR", "en-US", "pt-BR"]) {
    test(`${language} has exactly the PHRASE_IDS keys, each with a non-empty text`, async () => {
      const raw: unknown = await Bun.file(join(PHRASES_DIR, `${language}.json`)).json();
      expect(Object.keys(raw as object).sort()).toEqual([...PHRASE_IDS].sort());
      const texts = phraseTexts(language);
      for (const id of PHRASE_IDS) expect(texts[id].trim().length).toBeGreaterThan(0);
      expect(Object.isFrozen(texts)).toBe(true);
    });

    test(`${language} menus offer the keys the dialog expects`, () => {
      const texts = phraseTexts(language);
      for (const key of ["1", "2", "3"]) expect(texts.problemMenu).toContain(key);
      for (const id of ["solvedQuestion", "confirmPhone"] as const) {
        expect(texts[id]).toContain("1");
        expect(texts[id]).toContain("2");
      }
    });
  }

  test("French texts carry the issue's wording", () => {
    const fr = phraseTexts("fr-FR");
    expect(fr.stillThere).toBe("Allô, vous êtes toujours là ?");
    expect(fr.problemMenu).toBe(
      "Pour un problème d'Internet, tapez 1. Pour un problème de mobile, tapez 2. Pour autre chose, tapez 3.",
    );
    expect(fr.ticketNumberIs).toBe("Votre numéro de dossier est le");
    expect(fr.digitHash).toBe("dièse");
    expect(fr.digitStar).toBe("étoile");
  });

  test("an unknown language is refused, naming it and the supported ones", () => {
    expect(() => phraseTexts("de-DE")).toThrow(
      'unknown phrase language "de-DE": supported languages are fr-FR, en-US, pt-BR',
    );
    expect(() => phraseTexts("toString")).toThrow('unknown phrase language "toString"');
  });
});

describe("speechText", () => {
  const fr = phraseTexts("fr-FR");

  test("renders phrases and digits, closing a digit run that speech follows", () => {
    const text = speechText(
      [{ phrase: "ticketNumberIs" }, { digits: "0612" }, { phrase: "goodbye" }],
      fr,
    );
    expect(text).toBe("Votre numéro de dossier est le 0 6 1 2. Merci de votre appel, au revoir.");
  });

  test("a digit run at the end has no full stop; an empty utterance is empty text", () => {
    expect(speechText([{ phrase: "youTyped" }, { digits: "42*#" }], fr)).toBe("Vous avez tapé le 4 2 * #");
    expect(speechText([], fr)).toBe("");
  });

  test("uses the texts of the language given", () => {
    expect(speechText([{ phrase: "welcome" }, { phrase: "problemMenu" }], phraseTexts("en-US"))).toBe(
      "Hello, you have reached customer support. For an Internet problem, press 1. For a mobile phone problem, press 2. For anything else, press 3.",
    );
  });

  test("a digits part that is not keypad keys is refused", () => {
    expect(() => speechText([{ digits: "06 12" }], fr)).toThrow(
      'speech part digits "06 12" is not a keypad string: allowed are 0-9, * and #, at least one',
    );
    expect(() => speechText([{ digits: "" }], fr)).toThrow("is not a keypad string");
  });
});
