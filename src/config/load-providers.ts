/**
 * Which cloud providers serve: each vendor's key, endpoint and model or voice, the language model
 * and its fallback (LLM_PROVIDER, LLM_FALLBACK), and the voice (TTS_PROVIDER: openai, deepgram, google). Defaults keep what a
 * key alone always chose: Groq before OpenAI for the model, OpenAI's voice when its key is set.
 */
import type { Lookup } from "./load-pbx.ts";
import { ConfigError, LLM_PROVIDERS, type Config, type LlmProviderName, type TtsProviderName } from "./schema.ts";
import { name, oneOf, url } from "./values.ts";

type ProviderConfig = Pick<Config,
  | "groqApiKey" | "openaiApiKey" | "anthropicApiKey" | "groqBaseUrl" | "openaiBaseUrl" | "anthropicBaseUrl"
  | "llmProvider" | "llmFallback" | "groqModel" | "openaiModel" | "anthropicModel"
  | "ttsProvider" | "ttsModel" | "ttsVoice">;

/** Claude's fastest current model: a phone turn cannot wait for a larger one. */
export const DEFAULT_ANTHROPIC_MODEL = "claude-haiku-5-5";
export const DEFAULT_OPENAI_TTS_VOICE = "nova";
/** Aura-2 voices by LANGUAGE; Aura has no Portuguese voice. */
export const DEFAULT_AURA_VOICES: Readonly<Record<string, string>> = { "fr-FR": "aura-2-agathe-fr", "en-US": "aura-2-thalia-en" };
/** Chirp 3 HD voices by LANGUAGE: they stream (StreamingSynthesize) and exist for every supported language. */
export const DEFAULT_GOOGLE_VOICES: Readonly<Record<string, string>> = {
  "fr-FR": "fr-FR-Chirp3-HD-Aoede",
  "en-US": "en-US-Chirp3-HD-Aoede",
  "pt-BR": "pt-BR-Chirp3-HD-Aoede",
};
const TTS_PROVIDERS: readonly TtsProviderName[] = ["openai", "deepgram", "google"];

export function loadProviderChoice(lookup: Lookup, optional: (name: string) => string | null, language: string): ProviderConfig {
  const keys: Record<LlmProviderName, string | null> = {
    groq: optional("GROQ_API_KEY"),
    openai: optional("OPENAI_API_KEY"),
    anthropic: optional("ANTHROPIC_API_KEY"),
  };
  const providerRaw = lookup("LLM_PROVIDER");
  const named = oneOf(providerRaw, LLM_PROVIDERS);
  const llmProvider = named ?? LLM_PROVIDERS.find((p) => keys[p] !== null) ?? null;
  const fallbackRaw = lookup("LLM_FALLBACK");
  const fallbackNamed = oneOf(fallbackRaw, [...LLM_PROVIDERS, "none"]);
  if (fallbackRaw && fallbackNamed !== null && fallbackNamed === llmProvider) {
    throw new ConfigError(fallbackRaw.variable, fallbackRaw.value, fallbackRaw.source, `must differ from LLM_PROVIDER (${llmProvider}): another of ${LLM_PROVIDERS.join(", ")}, or none`);
  }
  if (fallbackRaw && fallbackNamed !== null && fallbackNamed !== "none" && keys[fallbackNamed] === null) {
    throw new ConfigError(fallbackRaw.variable, fallbackRaw.value, fallbackRaw.source, `needs ${fallbackNamed.toUpperCase()}_API_KEY, which is not set`);
  }
  const llmFallback = llmProvider === null || fallbackNamed === "none"
    ? null
    : fallbackNamed ?? LLM_PROVIDERS.find((p) => p !== llmProvider && keys[p] !== null) ?? null;

  const ttsRaw = lookup("TTS_PROVIDER");
  const ttsNamed = oneOf(ttsRaw, [...TTS_PROVIDERS, "offline"]);
  const ttsProvider = ttsNamed === "offline" ? null : ttsNamed ?? (keys.openai !== null ? "openai" : null);
  const voiceRaw = lookup(ttsProvider === "deepgram" ? "DEEPGRAM_TTS_VOICE" : ttsProvider === "google" ? "GOOGLE_TTS_VOICE" : "OPENAI_TTS_VOICE");
  const auraDefault = DEFAULT_AURA_VOICES[language];
  if (ttsProvider === "deepgram" && !voiceRaw?.value.trim() && auraDefault === undefined) {
    throw new ConfigError(ttsRaw?.variable ?? "TTS_PROVIDER", ttsRaw?.value ?? "deepgram", ttsRaw?.source ?? "default",
      `Deepgram Aura has no ${language} voice: set DEEPGRAM_TTS_VOICE to an Aura voice that speaks it, or use openai or offline`);
  }

  return {
    groqApiKey: keys.groq,
    openaiApiKey: keys.openai,
    anthropicApiKey: keys.anthropic,
    groqBaseUrl: url(lookup("GROQ_BASE_URL")),
    openaiBaseUrl: url(lookup("OPENAI_BASE_URL")),
    anthropicBaseUrl: url(lookup("ANTHROPIC_BASE_URL")),
    llmProvider,
    llmFallback,
    groqModel: name(lookup("GROQ_MODEL"), "llama-3.3-70b-versatile"),
    openaiModel: name(lookup("OPENAI_MODEL"), "gpt-4.1-mini"),
    anthropicModel: name(lookup("ANTHROPIC_MODEL"), DEFAULT_ANTHROPIC_MODEL),
    ttsProvider,
    ttsModel: name(lookup("OPENAI_TTS_MODEL"), "gpt-4o-mini-tts"),
    ttsVoice: name(voiceRaw, ttsProvider === "deepgram" ? (auraDefault as string) : ttsProvider === "google" ? googleDefault(language) : DEFAULT_OPENAI_TTS_VOICE),
  };
}

function googleDefault(language: string): string {
  return DEFAULT_GOOGLE_VOICES[language] ?? `${language}-Chirp3-HD-Aoede`;
}
