/**
 * Which voice speaks: TTS_PROVIDER's cloud voice when its key is set — OpenAI TTS, or Deepgram Aura
 * with DEEPGRAM_API_KEY, or Google's with GOOGLE_APPLICATION_CREDENTIALS — with retries and, for calls, the offline voice behind it; else the
 * embedded eSpeak-NG voice for LANGUAGE. Never blocks: eSpeak's worker loads behind a deferred
 * TextToSpeech.
 */
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../log.ts";
import type { ProviderBreakers } from "../circuit-breaker.ts";
import { createDeepgramTts, deepgramVoiceId } from "./deepgram.ts";
import { createEspeakTts, espeakVoiceFor } from "./espeak.ts";
import { createGoogleTts, googleVoiceId, streamsVoice } from "./google.ts";
import { withOfflineFallback, type PcmResampling } from "./offline-fallback.ts";
import { createOpenAiTts, openAiVoiceId } from "./openai.ts";
import { providerErrorKind, type ProviderEvents } from "../provider-error.ts";
import { withTtsRetries } from "./retrying.ts";
import type { TextToSpeech } from "./types.ts";

/** eSpeak-NG's output rate, reported until the worker has said its own. */
const ESPEAK_RATE = 22050;

const LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  "fr-FR": "French (France)",
  "en-US": "American English",
  "pt-BR": "Brazilian Portuguese",
};

/** Only the gpt-4o* speech models take instructions; tts-1 and tts-1-hd reject them. */
function phoneSupportTone(model: string, language: string): string | undefined {
  if (!model.startsWith("gpt-4o")) return undefined;
  const spoken = LANGUAGE_NAMES[language] ?? language;
  return `Speak ${spoken} as a warm, calm and professional after-sales phone agent: natural pace, clear `
    + "articulation, friendly but not over-excited. Say numbers and ticket references slowly and distinctly.";
}

/**
 * A TextToSpeech whose engine is still starting: lets the listeners come up at once while eSpeak
 * loads, and lets the phrase cache key its files on the voice before it exists. A start failure
 * surfaces on the first synthesize().
 */
export function deferredTts(voiceId: string, pending: Promise<TextToSpeech>): TextToSpeech {
  let started: TextToSpeech | null = null;
  pending.then((tts) => (started = tts), () => undefined);
  return {
    voiceId,
    get sampleRate() {
      return started?.sampleRate ?? ESPEAK_RATE;
    },
    async *synthesize(text, signal) {
      yield* (await pending).synthesize(text, signal);
    },
    close: async () => {
      const tts = await pending.catch(() => null);
      await tts?.close();
    },
  };
}

export interface TtsSelection {
  /** The voice calls speak with. */
  tts: TextToSpeech;
  /** The voice the phrase cache renders with: the configured one alone, never its fallback. */
  render: TextToSpeech;
  /** How start-up describes it, e.g. "openai (gpt-4o-mini-tts, nova)" or "offline (espeak-ng:fr)". */
  mode: string;
}

/** What a running service adds: the offline voice behind the cloud one, and the breakers. */
export interface LiveVoiceParts {
  resampler: PcmResampling;
  breakers: ProviderBreakers;
}

/**
 * The configured voice. With `live` (serve) a cloud voice gets the offline voice behind it, started
 * now so its ~100s of ms cold start is paid before the first call needs it; without (cache build)
 * the cloud voice alone.
 */
export function selectTts(config: Config, log: Logger, events?: ProviderEvents, live?: LiveVoiceParts): TtsSelection {
  const offlineVoice = espeakVoiceFor(config.language);
  const offlineId = espeakVoiceId(config.language);
  const offline = (): TextToSpeech => deferredTts(offlineId, createEspeakTts({ voice: offlineVoice, log }));
  const chosen = cloudVoice(config, log);
  if (chosen === null) {
    const tts = offline();
    return { tts, render: tts, mode: `offline (${tts.voiceId})` };
  }
  const cloud = withTtsRetries(chosen.tts, { attempts: config.apiRetryAttempts, log, onError: (provider, error) => events?.error(provider, providerErrorKind(error)) });
  if (!live) return { tts: cloud, render: cloud, mode: chosen.mode };
  const tts = withOfflineFallback({
    cloud, offline: offline(), resampler: live.resampler, deadlineMs: config.ttsFirstByteTimeoutMs,
    breaker: live.breakers.for(chosen.breakerId), log,
    onFallback: (from, to, reason) => events?.fallback(from, to, reason),
    onError: (provider, error) => events?.error(provider, providerErrorKind(error)),
  });
  return { tts, render: cloud, mode: `${chosen.mode}, offline ${offlineId} behind it` };
}

/** TTS_PROVIDER's voice when its key is set; null = the offline voice speaks. */
function cloudVoice(config: Config, log: Logger): { tts: TextToSpeech; mode: string; breakerId: string } | null {
  if (config.ttsProvider === "deepgram" && config.deepgramApiKey) {
    const tts = createDeepgramTts({ apiKey: config.deepgramApiKey, baseUrl: config.deepgramBaseUrl, voice: config.ttsVoice, timeoutMs: config.apiTimeoutMs, log });
    // One breaker per Aura model, which is the voice.
    return { tts, mode: `deepgram (${config.ttsVoice}, linear16 at the call's rate)`, breakerId: tts.voiceId };
  }
  if (config.ttsProvider === "google" && config.googleCredentials) {
    const tts = createGoogleTts({ credentials: config.googleCredentials, endpoint: config.googleTtsEndpoint, voice: config.ttsVoice, timeoutMs: config.apiTimeoutMs, log });
    const how = streamsVoice(config.ttsVoice) ? "streamed" : "sentence by sentence";
    // One breaker per voice.
    return { tts, mode: `google (${config.ttsVoice}, linear16 at the call's rate, ${how})`, breakerId: tts.voiceId };
  }
  if (config.ttsProvider === "openai" && config.openaiApiKey) {
    const tts = createOpenAiTts({
      apiKey: config.openaiApiKey,
      baseUrl: config.openaiBaseUrl,
      model: config.ttsModel,
      voice: config.ttsVoice,
      instructions: phoneSupportTone(config.ttsModel, config.language),
      timeoutMs: config.apiTimeoutMs,
      log,
    });
    // One breaker per model, whatever the voice.
    return { tts, mode: `openai (${config.ttsModel}, ${config.ttsVoice})`, breakerId: `openai:${config.ttsModel}` };
  }
  return null;
}

type VoiceChoice = Pick<Config, "ttsProvider" | "openaiApiKey" | "deepgramApiKey" | "googleCredentials" | "ttsModel" | "ttsVoice" | "language">;

/** A cloud voice speaks (TTS_PROVIDER with its key), not the offline one. */
export function speaksWithCloudVoice(config: VoiceChoice): boolean {
  return (config.ttsProvider === "openai" && config.openaiApiKey !== null) || (config.ttsProvider === "deepgram" && config.deepgramApiKey !== null)
    || (config.ttsProvider === "google" && config.googleCredentials !== null);
}

/** The id of the voice selectTts picks (what the phrase cache keys its files on), without starting it. */
export function voiceIdFor(config: VoiceChoice): string {
  if (!speaksWithCloudVoice(config)) return espeakVoiceId(config.language);
  if (config.ttsProvider === "google") return googleVoiceId(config.ttsVoice);
  return config.ttsProvider === "deepgram" ? deepgramVoiceId(config.ttsVoice) : openAiVoiceId(config.ttsModel, config.ttsVoice);
}

/** The offline voice's id for a language: one place, since the phrase cache keys its files on it. */
function espeakVoiceId(language: string): string {
  return `espeak-ng:${espeakVoiceFor(language)}`;
}
