/** The validated configuration every part of voicebot reads. Built once, at the edge, by load.ts. */
import type { StoreTarget } from "./store-url.ts";

export interface HostPort {
  host: string;
  port: number;
}

export type LogLevelName = "debug" | "info" | "warn" | "error";

export interface Config {
  /** The env file that was read, if any. */
  configFile: string | null;
  dataDir: string;
  audiosocket: HostPort;
  /** Empty string = allow every peer (start-up warns). */
  audiosocketAllow: string;
  audiostream: HostPort;
  /** The ASP listener the PABX Docker media server connects to (ASP_HOST, ASP_PORT). */
  asp: HostPort;
  /** WEBSOCKET_HOST/PORT: the Asterisk chan_websocket listener. */
  websocket: HostPort;
  /** WEBSOCKET_TOKEN: required from Asterisk (websocket_client.conf password, or ?token=); null = none. */
  websocketToken: string | null;
  http: HostPort;
  maxCalls: number;
  language: string;
  silenceWarningSeconds: number;
  silenceHangupSeconds: number;
  maxCallDurationSeconds: number;
  audiostreamToken: string | null;
  /** ASP_TOKEN: required as `?token=` in the media server's WEBSOCKET_URL when set. */
  aspToken: string | null;
  adminToken: string | null;
  /** PBX_TOKEN: accepted by the admin API only to register calls and answer /next (the dialplan carries it); null = ADMIN_TOKEN. */
  pbxToken: string | null;
  deepgramApiKey: string | null;
  groqApiKey: string | null;
  openaiApiKey: string | null;
  anthropicApiKey: string | null;
  deepgramBaseUrl: string | null;
  groqBaseUrl: string | null;
  openaiBaseUrl: string | null;
  anthropicBaseUrl: string | null;
  logLevel: LogLevelName;
  /** Deepgram live model (DEEPGRAM_MODEL). */
  deepgramModel: string;
  /** STT_PROVIDER, or deepgram when DEEPGRAM_API_KEY is set; null = no recognizer (the keypad). */
  sttProvider: SttProviderName | null;
  /** GOOGLE_APPLICATION_CREDENTIALS, read at start-up; null = unset. */
  googleCredentials: GoogleCredentials | null;
  /** GOOGLE_SPEECH_ENDPOINT, the recognizer's host[:port]; null = Google's global endpoint. 127.0.0.1 = a local fake, no TLS. */
  googleSpeechEndpoint: string | null;
  /** GOOGLE_TTS_ENDPOINT, the voice's host[:port] (regions differ: eu-texttospeech.googleapis.com); null = Google's global endpoint. */
  googleTtsEndpoint: string | null;
  /** GOOGLE_STT_MODEL, e.g. telephony. */
  googleSttModel: string;
  /** Words for the recognizer: COMPANY_NAME first, then DEEPGRAM_KEYTERMS. */
  keyterms: string[];
  companyName: string;
  /** LLM_PROVIDER, or the first with a key (groq, openai, anthropic); null = no key at all. */
  llmProvider: LlmProviderName | null;
  /** LLM_FALLBACK, or the next other provider with a key in the same order; null = none. */
  llmFallback: LlmProviderName | null;
  groqModel: string;
  openaiModel: string;
  anthropicModel: string;
  /** LLM_TTFT_TIMEOUT: no first token by then => the turn moves to the other provider. */
  llmTtftTimeoutMs: number;
  /** TTS_FIRST_BYTE_TIMEOUT: no audio by then (or a longer gap mid-sentence) => the offline voice says it. */
  ttsFirstByteTimeoutMs: number;
  /** PROVIDER_BREAKER_FAILURES: failures in a row (missed deadlines included) that open a provider's circuit. */
  providerBreakerFailures: number;
  /** PROVIDER_BREAKER_COOLDOWN: how long an open circuit skips its provider before one trial request. */
  providerBreakerCooldownMs: number;
  /** TTS_PROVIDER, or openai when OPENAI_API_KEY is set; null = the offline voice. */
  ttsProvider: TtsProviderName | null;
  /** OPENAI_TTS_MODEL. */
  ttsModel: string;
  /** The voice of ttsProvider: OPENAI_TTS_VOICE, DEEPGRAM_TTS_VOICE (an Aura model such as aura-2-agathe-fr) or GOOGLE_TTS_VOICE. */
  ttsVoice: string;
  /** API_RETRY_ATTEMPTS: retries after a failed LLM or TTS request. */
  apiRetryAttempts: number;
  /** API_TIMEOUT: the longest any provider request may take. */
  apiTimeoutMs: number;
  /** TECH_HOURS, e.g. "mon-fri 09:00-18:00; sat 09:00-12:00" (validated by dialog/business-hours.ts). */
  techHours: string;
  /** TZ: the IANA zone TECH_HOURS is in. */
  timezone: string;
  /** BARGE_IN_MIN_SPEECH: caller speech needed to cut the bot off. */
  bargeInMinSpeechMs: number;
  /** RESAMPLER: the converter the worker pool runs. */
  resampler: "libsamplerate" | "speex";
  /** PBX: which PBX streams calls here; the installer's firewall and `doctor` open and check only its ports. */
  pbx: "asterisk" | "freeswitch" | "both";
  /** STOP_DRAIN_TIMEOUT: on SIGTERM, live calls may go on this long (new ones hear "all lines busy"); 0 = hang up at once. */
  stopDrainSeconds: number;
  /** RECORDINGS_RETENTION_DAYS: recordings older than this are deleted by `recordings convert`; 0 = kept forever. */
  recordingsRetentionDays: number;
  /** Asterisk Manager (AMI_HOST…) for transfers; null = the shipped dialplan asks /api/calls/{uuid}/next. */
  ami: AmiSettings | null;
  /** FreeSWITCH Event Socket (ESL_HOST…): DTMF, file playback, hang-up and transfer; null = none. */
  esl: EslSettings | null;
  /** AUDIOSTREAM_PLAYBACK: `stream` for voxcom-us / commercial builds, `file` for the community module. */
  audiostreamPlayback: "stream" | "file";
  /** AUDIOSTREAM_RATE: the rate of a stream whose URL has no ?rate= (the module does not say). */
  audiostreamRate: number;
  /** AUDIOSTREAM_MIX: the mix type of a stream whose URL has no ?mix=. */
  audiostreamMix: "mono" | "stereo" | "mixed";
  /** DTMF_INBAND: keypad tones heard in the caller's audio: `auto` where the wire has no DTMF events, `on` always, `off` never. */
  dtmfInband: "auto" | "on" | "off";
  /** UNKNOWN_TENANT: a call for a tenant not in tenants.toml goes to the default tenant, or is refused. */
  unknownTenant: "default" | "reject";
  /** TENANTS_FILE, else /etc/voicebot/tenants.toml (or .json) when present; null = default tenant only. */
  tenantsFile: string | null;
  /** TRANSFER_TARGET: the default tenant's technician line, `exten@context[:priority]`; null = callbacks. */
  transferTarget: string | null;
  /** PUBLIC_HOST: the address the PBX reaches this appliance at (pbx-config); null = detect. */
  publicHost: string | null;
  /** STORE_URL: the data dir's SQLite file (default), or a PostgreSQL shared by several appliances. */
  store: StoreTarget;
  /** NODE_ID: this appliance among those sharing a store (default: the host name), stamped on each call. */
  nodeId: string;
  /** NODE_URL: this appliance's admin base URL as the others reach it (for its recordings). */
  nodeUrl: string;
  /** WHEN_FULL: at MAX_CONCURRENT_CALLS (or stopping), `busy` answers and says all lines are busy, `refuse` refuses the new connection so the PBX tries the next appliance. */
  whenFull: "busy" | "refuse";
  /** PBX_NODES: the appliances pbx-config's dialplan tries, in order; empty = this appliance only. */
  pbxNodes: PbxNode[];
  /** PBX_NODE_ORDER: `in-turn` tries the list from the first every call, `round-robin` starts each call one further. */
  pbxNodeOrder: PbxNodeOrder;
}

/** One appliance behind the PBX: its address and, when not this appliance's, the port of the kind's media listener. */
export interface PbxNode {
  host: string;
  port: number | null;
}

export type PbxNodeOrder = "in-turn" | "round-robin";

export interface AmiSettings {
  host: string;
  port: number;
  username: string;
  secret: string;
}

export interface EslSettings {
  host: string;
  port: number;
  password: string;
}

/** In the order a key alone chooses them. */
export const LLM_PROVIDERS = ["groq", "openai", "anthropic"] as const;
export type LlmProviderName = (typeof LLM_PROVIDERS)[number];
export type TtsProviderName = "openai" | "deepgram" | "google";
export type SttProviderName = "deepgram" | "google";

/** A service-account key file, read and checked at start-up. */
export interface GoogleCredentials {
  path: string;
  clientEmail: string;
  privateKey: string;
  projectId: string | null;
}

/**
 * A bad value: start-up stops with this one line, naming the variable (or flag), its value,
 * where it came from, and what is allowed.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly source: string,
    readonly allowed: string,
  ) {
    super(`invalid configuration: ${variable}=${JSON.stringify(value)} (${source}): ${allowed}`);
    this.name = "ConfigError";
  }
}
