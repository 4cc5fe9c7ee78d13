/**
 * One CallProfile per tenant: its phrase texts (the language's, with its overrides), its voice
 * (shared between tenants that speak alike), its phrase cache and its dialog.
 */
import type { ProviderEvents } from "../ai/provider-error.ts";
import type { ProviderBreakers } from "../ai/circuit-breaker.ts";
import { selectTts, speaksWithCloudVoice, type TtsSelection } from "../ai/tts/select.ts";
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { CallProfile } from "../call/call-profile.ts";
import type { ConversationParts } from "../call/conversation.ts";
import type { Config } from "../config/schema.ts";
import { DEFAULT_TENANT_ID, phraseCacheDir, type Tenant, type Tenants } from "../config/tenant.ts";
import { parseTechHours } from "../dialog/business-hours.ts";
import { phraseTexts } from "../dialog/phrases.ts";
import type { PhraseId } from "../dialog/types.ts";
import { createSavDialog } from "../dialog/sav.ts";
import { createAiSavDialog } from "../dialog/sav-ai.ts";
import type { Logger } from "../log.ts";
import { PhraseCache } from "../media/phrase-cache.ts";
import type { ResamplerPool } from "../media/resampler.ts";

export interface TenantProfiles {
  readonly all: readonly CallProfile[];
  /** Every voice in use (closed at shutdown). */
  readonly voices: readonly TextToSpeech[];
  profile(tenant: string): CallProfile;
}

export interface ProfileDeps {
  config: Config;
  tenants: Tenants;
  /** The default tenant's voice, already started. */
  voice: TtsSelection;
  breakers: ProviderBreakers;
  conversation: ConversationParts | null;
  resampler: ResamplerPool;
  log: Logger;
  events: ProviderEvents;
}

/** The first words of each dialog (dialog/sav.ts, dialog/sav-ai.ts start with them). */
const KEYPAD_GREETING: readonly PhraseId[] = ["welcome", "problemMenu"];
const AI_GREETING: readonly PhraseId[] = ["welcomeAi"];

export function buildProfiles(deps: ProfileDeps): TenantProfiles {
  const { config } = deps;
  const voices = new Map<string, TtsSelection>([[`${config.language}|${config.ttsVoice}`, deps.voice]]);
  const voiceFor = (t: Tenant): TtsSelection => {
    const key = `${t.language}|${t.ttsVoice}`;
    let voice = voices.get(key);
    if (!voice) {
      const live = { resampler: deps.resampler, breakers: deps.breakers };
      voice = selectTts({ ...config, language: t.language, ttsVoice: t.ttsVoice }, deps.log.child("tts", { tenant: t.id }), deps.events, live);
      voices.set(key, voice);
    }
    return voice;
  };
  const byId = new Map<string, CallProfile>();
  for (const tenant of deps.tenants.all) {
    const texts = { ...phraseTexts(tenant.language), ...tenant.phrases };
    const { tts, render } = voiceFor(tenant);
    const conversation = deps.conversation === null ? null : conversationFor(deps.conversation, tenant, config);
    const greetings = conversation ? AI_GREETING : KEYPAD_GREETING;
    const phrases = new PhraseCache({
      texts, tts: render, resampler: deps.resampler, language: tenant.language,
      cacheDir: phraseCacheDir(config.dataDir, tenant.id), log: deps.log.child("phrases", { tenant: tenant.id }),
      // The other dialog's greeting next: an AI call whose recognizer fails goes on with the keypad.
      first: [...greetings, ...(conversation ? KEYPAD_GREETING : AI_GREETING), "busy"],
      // eSpeak's one worker says one thing at a time: with one render in flight, a call's live speech waits behind one phrase, not four.
      parallel: speaksWithCloudVoice(config) ? undefined : 1,
    });
    const techHours = parseTechHours(tenant.techHours);
    const profile: CallProfile = {
      tenant, texts, phrases, greetings, tts, conversation,
      newDialog: conversation
        ? (canTransfer) => createAiSavDialog({ language: tenant.language, companyName: tenant.companyName, techHours, timezone: tenant.timezone, canTransfer })
        : (canTransfer) => createSavDialog({ technicians: { hours: techHours, timezone: tenant.timezone, language: tenant.language, canTransfer } }),
    };
    byId.set(tenant.id, profile);
  }
  const fallback = byId.get(deps.tenants.default.id) as CallProfile;
  return {
    all: [...byId.values()],
    voices: [...voices.values()].map((v) => v.tts),
    profile: (id) => byId.get(deps.tenants.find(id)?.id ?? "") ?? fallback,
  };
}

/**
 * The tenant's language and company name for the recognizer. Built on the shared parts (as its
 * prototype) because their voice detector arrives later, once its WASM module has loaded.
 */
function conversationFor(base: ConversationParts, tenant: Tenant, config: Config): ConversationParts {
  if (tenant.id === DEFAULT_TENANT_ID && tenant.language === base.language) return base;
  const extra = base.keyterms.filter((t) => t !== config.companyName);
  const keyterms = [tenant.companyName, ...extra].filter((t) => t !== "");
  return Object.assign(Object.create(base) as ConversationParts, { language: tenant.language, keyterms });
}
