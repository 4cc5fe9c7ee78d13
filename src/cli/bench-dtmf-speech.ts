/**
 * Speech that must never be taken for a keypad digit, for `voicebot bench --dtmf` and the
 * detector's tests: the embedded French voice (eSpeak-NG) reading the bot's own phrases, the
 * fake model's replies and generated after-sales sentences, at the call's rate, through μ-law.
 * Each sentence is read at one of three pitches (resampled as if the voice ran 10 % slower or
 * faster), so the corpus has lower and higher voices than eSpeak's own.
 */
import { createEspeakTts, espeakVoiceFor } from "../ai/tts/espeak.ts";
import { synthesizeAll } from "../ai/tts/synthesize-all.ts";
import { phraseTexts, SUPPORTED_LANGUAGES } from "../dialog/phrases.ts";
import { rootLogger } from "../log.ts";
import { createResamplerPool } from "../media/resampler-pool.ts";
import { seededRandom, throughMulaw } from "./bench-dtmf-set.ts";

/** What the model says in the fake stack's conversations (tests/fakes/sav-brain.ts). */
const MODEL_REPLIES = [
  "Je fais appel à un technicien.", "Parfait, je suis ravi que cela fonctionne.", "Très bien.", "Merci, au revoir.",
  "Pardon, pouvez-vous répéter ?", "Merci, c'est bien noté.", "Merci Jean Dupont. Je relis votre numéro : 06 12 34 56 78. Est-ce bien cela ?",
  "Débranchez votre box trente secondes puis rebranchez-la. Est-ce que cela fonctionne maintenant ?",
  "Redémarrez votre téléphone, puis dites-moi si le réseau revient.", "Quel est votre problème ?",
];
const OPENINGS = ["Bonjour", "Oui", "Alors", "Écoutez", "Bon", "Euh", "Voilà", "D'accord", "Excusez-moi", "Eh bien", "Ah oui", "Non"];
const SUBJECTS = ["ma box", "mon téléphone", "la connexion", "le wifi", "ma ligne fixe", "la télévision", "mon forfait", "le décodeur", "internet", "mon portable", "la fibre", "le modem"];
const TROUBLES = [
  "ne marche plus depuis ce matin", "coupe toutes les dix minutes", "clignote en rouge", "est très lent le soir", "ne capte plus rien",
  "redémarre tout seul", "affiche un message d'erreur", "fait un bruit bizarre", "ne s'allume plus", "marche une fois sur deux",
  "a arrêté de fonctionner après l'orage", "sonne mais personne ne répond",
];
const DETAILS = [
  "j'ai déjà tout débranché", "mon fils a essayé de le réparer", "le voyant est orange", "ça fait trois jours que ça dure",
  "j'ai appelé la semaine dernière", "je travaille à la maison", "les voisins n'ont pas de problème", "c'est la deuxième fois ce mois-ci",
  "j'ai changé le câble", "je ne suis pas très douée avec ces choses-là", "il faut que ce soit réparé avant lundi",
];
const NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel"];
const FIRST = ["Jean", "Marie", "Pierre", "Sophie", "Michel", "Nathalie", "Philippe", "Isabelle", "Alain", "Catherine", "Nicolas", "Camille"];

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

function digitsSpoken(random: () => number): string {
  return Array.from({ length: 5 }, () => String(10 + Math.floor(random() * 90))).join(" ");
}

/** An after-sales caller's sentence, different each time (seeded). */
export function callerSentence(random: () => number): string {
  switch (Math.floor(random() * 5)) {
    case 0: return `${pick(random, OPENINGS)}, ${pick(random, SUBJECTS)} ${pick(random, TROUBLES)}.`;
    case 1: return `${pick(random, OPENINGS)}, je m'appelle ${pick(random, FIRST)} ${pick(random, NAMES)}, mon numéro est le 0${Math.floor(1 + random() * 7)} ${digitsSpoken(random)}.`;
    case 2: return `${pick(random, SUBJECTS)} ${pick(random, TROUBLES)}, et ${pick(random, DETAILS)}.`;
    case 3: return `Est-ce que vous pouvez m'envoyer un technicien ${pick(random, ["demain", "lundi", "cet après-midi", "jeudi matin", "samedi"])} ? ${pick(random, DETAILS)}.`;
    default: return `${pick(random, OPENINGS)}, j'ai essayé, mais ${pick(random, SUBJECTS)} ${pick(random, TROUBLES)}. ${pick(random, ["Qu'est-ce que je fais ?", "C'est normal ?", "Vous pouvez m'aider ?", "Merci beaucoup."])}`;
  }
}

/** Every fixed phrase the bot says, in every language it speaks. */
export function botPhraseTexts(): string[] {
  return SUPPORTED_LANGUAGES.flatMap((language) => Object.values(phraseTexts(language)));
}

export interface SpeechCorpus {
  /** Seconds of speech (the same at each rate). */
  seconds: number;
  /** Sentences read. */
  sentences: number;
  /** The speech at each rate, through μ-law, sentences separated by 200 ms of silence. */
  audio: Map<number, Int16Array>;
}

const PITCHES = [0.9, 1, 1.1] as const;

/**
 * Reads `texts` (French voice for the generated and model lines; `botPhrases` in the bot's voice
 * too) until `targetSeconds` of speech exist, then renders it at each of `rates`.
 */
export async function speechCorpus(o: { texts: () => string; targetSeconds: number; rates: readonly number[]; maxSentences?: number }): Promise<SpeechCorpus> {
  const tts = await createEspeakTts({ voice: espeakVoiceFor("fr-FR"), log: rootLogger.child("bench") });
  const pool = createResamplerPool({ size: 1, engine: "speex" });
  const chunks = new Map<number, Int16Array[]>(o.rates.map((r) => [r, []]));
  let seconds = 0;
  let sentences = 0;
  try {
    while (seconds < o.targetSeconds && sentences < (o.maxSentences ?? Infinity)) {
      const text = o.texts();
      const voice = await synthesizeAll(tts, text);
      const pitch = PITCHES[sentences++ % PITCHES.length]!;
      if (voice.length === 0) continue;
      for (const rate of o.rates) {
        const pcm = await pool.resample(voice.slice(), Math.round(tts.sampleRate * pitch), rate);
        chunks.get(rate)!.push(pcm, new Int16Array(rate / 5));
      }
      seconds += voice.length / (tts.sampleRate * pitch) + 0.2;
    }
  } finally {
    await tts.close();
    await pool.close();
  }
  const audio = new Map<number, Int16Array>();
  for (const [rate, parts] of chunks) {
    const joined = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    audio.set(rate, throughMulaw(joined));
  }
  return { seconds, sentences, audio };
}

/** French texts in turn: the bot's phrases and the model's replies first, then generated sentences. */
export function frenchTexts(seed: number): () => string {
  const random = seededRandom(seed);
  const fixed = [...Object.values(phraseTexts("fr-FR")), ...MODEL_REPLIES];
  let i = 0;
  return () => (i < fixed.length ? fixed[i++]! : callerSentence(random));
}
