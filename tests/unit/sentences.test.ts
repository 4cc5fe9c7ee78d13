import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SentenceSplitter } from "../../src/dialog/sentences.ts";

/** Feeds `chunks` one by one, as a streamed reply; returns every sentence, the rest last. */
function split(chunks: readonly string[]): string[] {
  const splitter = new SentenceSplitter();
  const out = chunks.flatMap((c) => splitter.push(c));
  const rest = splitter.end();
  return rest === null ? out : [...out, rest];
}

/** The same text cut into pieces of every size from 1 character up. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const noSpace = (s: string): string => s.replace(/\s+/g, "");

describe("SentenceSplitter", () => {
  test("splits on . ! ? … and newlines, whatever the chunking", () => {
    const text = "Bonjour ! Votre box est-elle allumée ? Très bien. Attendez… Voilà.\nMerci";
    const expected = ["Bonjour !", "Votre box est-elle allumée ?", "Très bien.", "Attendez…", "Voilà.", "Merci"];
    for (const size of [1, 2, 3, 7, 100]) expect(split(pieces(text, size))).toEqual(expected);
  });

  test("emits a sentence as soon as the space after its end arrives", () => {
    const splitter = new SentenceSplitter();
    expect(splitter.push("Très bien.")).toEqual([]);
    expect(splitter.push(" Débranchez")).toEqual(["Très bien."]);
    expect(splitter.push(" la box.")).toEqual([]);
    expect(splitter.end()).toBe("Débranchez la box.");
    expect(splitter.end()).toBeNull();
  });

  test("does not split decimals, abbreviations, initials, list numbers, URLs or times", () => {
    expect(split(["Il faut 3.5 secondes. Ensuite c'est bon."])).toEqual(["Il faut 3.5 secondes.", "Ensuite c'est bon."]);
    expect(split(["Bonjour M. Dupont et Mme. Durand, p. ex. demain. Merci."])).toEqual([
      "Bonjour M. Dupont et Mme. Durand, p. ex. demain.",
      "Merci.",
    ]);
    expect(split(["J. Dupont vous rappellera. Au revoir."])).toEqual(["J. Dupont vous rappellera.", "Au revoir."]);
    expect(split(["1. Débranchez la box. 2. Attendez."])).toEqual(["1. Débranchez la box.", "2. Attendez."]);
    expect(split(["J'ai 3 box. Aucune ne marche."])).toEqual(["J'ai 3 box.", "Aucune ne marche."]);
    expect(split(["Allez sur www.exemple.fr/aide. Puis connectez-vous."])).toEqual(["Allez sur www.exemple.fr/aide.", "Puis connectez-vous."]);
    expect(split(["Rappel à 9 h 30. Merci."])).toEqual(["Rappel à 9 h 30.", "Merci."]);
    expect(split(["Câbles, prises, etc. et le reste. Puis etc. Bien."])).toEqual(["Câbles, prises, etc. et le reste.", "Puis etc.", "Bien."]);
    expect(split(["« Ça marche ? » Oui."])).toEqual(["« Ça marche ? »", "Oui."]);
  });

  test("a long clause is flushed at a comma once it passes 120 characters; short ones are not", () => {
    const long = `${"mot ".repeat(32)}toujours, puis la suite`;
    expect(split(pieces(long, 5))).toEqual([`${"mot ".repeat(32)}toujours,`, "puis la suite"]);
    expect(split(["Bien, très bien; d'accord: oui."])).toEqual(["Bien, très bien; d'accord: oui."]);
    expect(split([`${"a".repeat(130)} 3,5 litres`])).toEqual([`${"a".repeat(130)} 3,5 litres`]);
  });

  test("the first piece: at its first comma however short, else after its third word, as soon as the next word starts", () => {
    const first = (text: string, size: number): string[] => {
      const splitter = new SentenceSplitter({ firstClause: 2, firstWords: 3 });
      const out = pieces(text, size).flatMap((c) => splitter.push(c));
      const rest = splitter.end();
      return rest === null ? out : [...out, rest];
    };
    for (const size of [1, 3, 4, 7, 100]) {
      expect(first("Débranchez votre box pendant trente secondes, puis rebranchez-la.", size))
        .toEqual(["Débranchez votre box", "pendant trente secondes, puis rebranchez-la."]);
      expect(first("Oui, c'est noté. Autre chose ?", size)).toEqual(["Oui,", "c'est noté.", "Autre chose ?"]);
      // French spaces its question mark: it stays with its words.
      expect(first("Est-ce bien cela ? Merci.", size)).toEqual(["Est-ce bien cela ?", "Merci."]);
      expect(first("Merci Pierre Dupont. Je relis votre numéro.", size)).toEqual(["Merci Pierre Dupont.", "Je relis votre numéro."]);
      expect(first("Très bien merci", size)).toEqual(["Très bien merci"]);
    }
    const splitter = new SentenceSplitter({ firstWords: 3 });
    expect(splitter.push("Un deux trois ")).toEqual([]); // the next word has not started: "?" may still come
    expect(splitter.push("quatre cinq six sept huit")).toEqual(["Un deux trois"]);
  });

  test("never emits empty strings; blank input gives nothing", () => {
    expect(split(["  \n\n . \n  "])).toEqual(["."]);
    expect(split(["", "   "])).toEqual([]);
  });

  test("property: outputs are trimmed, non-empty, and join back to the input modulo white space", () => {
    const alphabet = fc.constantFrom(..."ab3 .!?…,;:\n\t M1«»é".split(""));
    fc.assert(
      fc.property(fc.array(fc.string({ unit: alphabet, maxLength: 30 }), { maxLength: 12 }), (chunks) => {
        const out = split(chunks);
        for (const sentence of out) {
          expect(sentence).not.toBe("");
          expect(sentence).toBe(sentence.trim());
        }
        expect(noSpace(out.join(""))).toBe(noSpace(chunks.join("")));
      }),
      { numRuns: 500 },
    );
  });

  test("property: never splits inside a decimal like 3.5, however the text is chunked", () => {
    const words = fc.constantFrom("Il", "faut", "3.5", "12.75", "secondes.", "Ok!", "oui", "\n", "0.5");
    fc.assert(
      fc.property(fc.array(words, { maxLength: 20 }), fc.integer({ min: 1, max: 9 }), (list, size) => {
        const out = split(pieces(list.join(" "), size));
        for (const sentence of out) expect(sentence).not.toMatch(/^\.\d|\d\.$/);
      }),
      { numRuns: 500 },
    );
  });
});
