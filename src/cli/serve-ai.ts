/**
 * The AI parts `serve` runs with, chosen from the keys present: each missing key keeps only its
 * own part offline (DESIGN › Offline mode), and start-up says which mode each part is in.
 * A conversation needs both ears and a mind: without a Deepgram key or without any LLM key the
 * calls use the keypad dialog, still spoken with the configured voice.
 */
import { ProviderBreakers } from "../ai/circuit-breaker.ts";
import { createAnthropicLlm } from "../ai/llm/anthropic.ts";
import { createGroqLlm } from "../ai/llm/groq.ts";
import { createOpenAiLlm } from "../ai/llm/openai.ts";
import { createResilientLlm } from "../ai/llm/resilient.ts";
import { providerErrorKind, type ProviderEvents } from "../ai/provider-error.ts";
import type { LanguageModel } from "../ai/llm/types.ts";
import { createDeepgramStt } from "../ai/stt/deepgram.ts";
import { createGoogleStt } from "../ai/stt/google.ts";
import type { SpeechToText } from "../ai/stt/types.ts";
import { selectTts, type TtsSelection } from "../ai/tts/select.ts";
import type { PcmResampling } from "../ai/tts/offline-fallback.ts";
import type { ConversationParts } from "../call/conversation.ts";
import type { Config, LlmProviderName } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { loadVadModule } from "../media/vad.ts";

export interface AiSetup {
  /** The default tenant's voice. */
  voice: TtsSelection;
  /** AI mode's parts; null = keypad mode. Its `vad` arrives once the WASM module is loaded. */
  conversation: ConversationParts | null;
  modes: { stt: string; llm: string; tts: string };
  llmStats: { switches: number; retries: number; failures: number } | null;
  /**
   * Every provider's circuit breaker, by provider id, for /healthz, /metrics and doctor. The
   * recognizer's is `breakers.for(stt.id)` (also `conversation.sttBreaker`): whoever sees it fail
   * or miss a deadline calls its failure(), a usable final result its success().
   */
  breakers: ProviderBreakers;
}

function llmFor(provider: LlmProviderName, config: Config, log: Logger): LanguageModel | null {
  const common = { timeoutMs: config.apiTimeoutMs, log: log.child(provider) };
  switch (provider) {
    case "groq":
      return config.groqApiKey ? createGroqLlm({ ...common, apiKey: config.groqApiKey, baseUrl: config.groqBaseUrl, model: config.groqModel }) : null;
    case "openai":
      return config.openaiApiKey ? createOpenAiLlm({ ...common, apiKey: config.openaiApiKey, baseUrl: config.openaiBaseUrl, model: config.openaiModel }) : null;
    case "anthropic":
      return config.anthropicApiKey ? createAnthropicLlm({ ...common, apiKey: config.anthropicApiKey, baseUrl: config.anthropicBaseUrl, model: config.anthropicModel }) : null;
  }
}

/** Why the LLM moved to the other provider, as a label: the resilient model's reason text starts with it. */
function switchReason(why: string): string {
  if (why.startsWith("error")) return "error";
  if (why.startsWith("retry")) return "retry";
  if (why.startsWith("circuit")) return "circuit-open";
  return "slow-first-token";
}

/** STT_PROVIDER's recognizer; null = no recognizer, the keypad dialog. */
function selectStt(config: Config, log: Logger): SpeechToText | null {
  if (config.sttProvider === "google" && config.googleCredentials) {
    return createGoogleStt({ credentials: config.googleCredentials, endpoint: config.googleSpeechEndpoint, model: config.googleSttModel, log });
  }
  if (config.sttProvider === "deepgram" && config.deepgramApiKey) {
    return createDeepgramStt({ apiKey: config.deepgramApiKey, baseUrl: config.deepgramBaseUrl, model: config.deepgramModel, timeoutMs: config.apiTimeoutMs, log });
  }
  return null;
}

function sttMode(config: Config): string {
  return config.sttProvider === "google" ? `google (${config.googleSttModel}, streaming v1)` : `deepgram (${config.deepgramModel})`;
}

export function setupAi(config: Config, log: Logger, events: ProviderEvents, resampler: PcmResampling): AiSetup {
  const breakers = new ProviderBreakers({ failures: config.providerBreakerFailures, cooldownMs: config.providerBreakerCooldownMs, log: log.child("breaker") });
  const voice = selectTts(config, log.child("tts"), events, { resampler, breakers });
  const stt = selectStt(config, log.child("stt"));

  const primaryName = config.llmProvider;
  const primary = primaryName ? llmFor(primaryName, config, log) : null;
  const fallback = config.llmFallback ? llmFor(config.llmFallback, config, log) : null;
  const llm = primary
    ? createResilientLlm({
        primary, fallback, ttftTimeoutMs: config.llmTtftTimeoutMs, retryAttempts: config.apiRetryAttempts, log: log.child("llm"), breakers,
        onError: (provider, error) => events.error(provider, providerErrorKind(error)),
        onSwitch: (from, to, why) => events.fallback(from, to, switchReason(why)),
      })
    : null;

  const modes = {
    stt: stt ? sttMode(config) : "offline (keypad)",
    llm: llm && primary ? `${primary.id}${fallback ? `, falls back to ${fallback.id}` : ""}` : "offline (scripted SAV)",
    tts: voice.mode,
  };
  if (!stt || !llm) {
    return { voice, conversation: null, modes: { ...modes, llm: llm ? `${modes.llm} (unused: no speech recognition)` : modes.llm }, llmStats: null, breakers };
  }
  // Made now, so /healthz lists every provider in use before the first call.
  for (const model of [primary, fallback]) if (model) breakers.for(model.id);
  const conversation: ConversationParts = {
    stt, llm, vad: null, sttBreaker: breakers.for(stt.id),
    language: config.language, keyterms: config.keyterms, bargeInMinSpeechMs: config.bargeInMinSpeechMs,
  };
  loadVadModule().then(
    (vad) => (conversation.vad = vad),
    (err: unknown) => log.warn("voice-activity detector unavailable: barge-in uses energy alone", { error: String(err) }),
  );
  return { voice, conversation, modes, llmStats: llm.stats, breakers };
}
