/**
 * The local fakes of every AI vendor, started for an e2e test of the compiled binary, with the
 * caller's sentences pre-rendered as 8 kHz speech: what `startServer` needs for an AI call.
 */
import { createEspeakTts, espeakVoiceFor } from "../../src/ai/tts/espeak.ts";
import { synthesizeAll } from "../../src/ai/tts/synthesize-all.ts";
import { rootLogger } from "../../src/log.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import { createFakeChat, type FakeChat } from "../fakes/chat.ts";
import { startFakeDeepgram, type FakeDeepgram } from "../fakes/deepgram.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { savBrain } from "../fakes/sav-brain.ts";
import { createFakeSpeech, type FakeSpeech } from "../fakes/speech.ts";

export const KEY = "e2e-key";

export interface AiFakes {
  deepgram: FakeDeepgram;
  groq: FakeChat;
  openai: FakeChat;
  speech: FakeSpeech;
  /** The caller's sentences as 8 kHz speech. */
  audio: Map<string, Int16Array>;
  /** What the fake recognizer hears, utterance by utterance, on every connection. */
  words: string[];
  /** serve's environment for these fakes. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The caller's side of the SAV call the AI e2e tests play, as the recognizer hears it. */
export const SAV_CALL = {
  BOX: "Bonjour mon internet ne marche plus.",
  NAME: "Je m'appelle Pierre Dupont, mon numéro est le 06 12 34 56 78.",
  YES: "Oui c'est bien ça.",
  WORKS: "Voilà ça marche maintenant merci.",
} as const;

/** What the callers' audio says where the recognizer's words would make eSpeak pause (commas, digits). */
const SPOKEN: Readonly<Record<string, string>> = { [SAV_CALL.NAME]: "Je m'appelle Pierre Dupont et voici mon numéro de rappel." };

/** The caller's sentences as 8 kHz speech, keyed by the words the fake recognizer is to hear. */
export async function renderCallerAudio(sentences: readonly string[]): Promise<Map<string, Int16Array>> {
  const tts = await createEspeakTts({ voice: espeakVoiceFor("fr-FR"), log: rootLogger });
  const pool = createResamplerPool({ size: 1 });
  const audio = new Map<string, Int16Array>();
  try {
    for (const text of sentences) audio.set(text, await pool.resample(await synthesizeAll(tts, SPOKEN[text] ?? text), tts.sampleRate, 8000));
  } finally {
    await tts.close();
    await pool.close();
  }
  return audio;
}

export async function startAiFakes(sentences: readonly string[]): Promise<AiFakes> {
  const audio = await renderCallerAudio(sentences);

  const fakes = { words: [] as string[] };
  const deepgram = startFakeDeepgram({ apiKey: KEY, script: (_connection, utterance) => fakes.words[utterance] ?? "", endpointingMs: 120, delayMs: 30 });
  const groq = createFakeChat({ apiKey: KEY, brain: savBrain, ttftMs: 50 });
  const openai = createFakeChat({ apiKey: KEY, brain: savBrain, ttftMs: 50 });
  const speech = createFakeSpeech({ apiKey: KEY, ttfbMs: 50 });
  const groqHttp: FakeHttpServer = startFakeHttp([groq]);
  const openaiHttp: FakeHttpServer = startFakeHttp([openai, speech]);
  return {
    deepgram, groq, openai, speech, audio,
    get words() {
      return fakes.words;
    },
    set words(w: string[]) {
      fakes.words = w;
    },
    env: {
      DEEPGRAM_API_KEY: KEY, DEEPGRAM_BASE_URL: deepgram.url,
      GROQ_API_KEY: KEY, GROQ_BASE_URL: groqHttp.url,
      OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${openaiHttp.url}/v1`,
      LLM_PROVIDER: "groq", LLM_TTFT_TIMEOUT: "1", API_TIMEOUT: "3",
    },
    stop: async () => {
      await Promise.all([deepgram.stop(), groqHttp.stop(), openaiHttp.stop()]);
    },
  };
}
