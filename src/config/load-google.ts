/**
 * Google Cloud speech settings: the service-account file (GOOGLE_APPLICATION_CREDENTIALS, read and
 * checked here so a bad file stops start-up, not the first call), the endpoints (one per service:
 * Google's regional hosts differ), the recognizer's
 * model (the voice, GOOGLE_TTS_VOICE, is load-providers'). STT_PROVIDER picks the recognizer: deepgram (the default with its key),
 * google, or offline (the keypad).
 */
import { readFileSync } from "node:fs";
import type { Lookup, RawValue } from "./load-pbx.ts";
import { ConfigError, type Config, type GoogleCredentials, type SttProviderName } from "./schema.ts";
import { name, oneOf } from "./values.ts";

/** Google's model tuned for phone audio (v1 StreamingRecognize). */
export const DEFAULT_GOOGLE_STT_MODEL = "telephony";
const STT_PROVIDERS: readonly SttProviderName[] = ["deepgram", "google"];

type GoogleConfig = Pick<Config, "sttProvider" | "googleCredentials" | "googleSpeechEndpoint" | "googleTtsEndpoint" | "googleSttModel">;

export function loadGoogleSettings(lookup: Lookup, optional: (name: string) => string | null): GoogleConfig {
  const credentialsRaw = lookup("GOOGLE_APPLICATION_CREDENTIALS");
  const googleCredentials = credentialsRaw?.value.trim() ? readCredentials(credentialsRaw) : null;
  const sttRaw = lookup("STT_PROVIDER");
  const sttNamed = oneOf(sttRaw, [...STT_PROVIDERS, "offline"]);
  const sttProvider = sttNamed === "offline" ? null : sttNamed ?? (optional("DEEPGRAM_API_KEY") !== null ? "deepgram" : null);
  if (sttProvider === "google" && googleCredentials === null) {
    throw new ConfigError(sttRaw?.variable ?? "STT_PROVIDER", sttRaw?.value ?? "google", sttRaw?.source ?? "default", "needs GOOGLE_APPLICATION_CREDENTIALS (a service-account JSON file), which is not set");
  }
  if (sttProvider === "deepgram" && optional("DEEPGRAM_API_KEY") === null) {
    throw new ConfigError(sttRaw?.variable ?? "STT_PROVIDER", sttRaw?.value ?? "deepgram", sttRaw?.source ?? "default", "needs DEEPGRAM_API_KEY, which is not set");
  }
  const ttsRaw = lookup("TTS_PROVIDER");
  if (ttsRaw?.value.trim().toLowerCase() === "google" && googleCredentials === null) {
    throw new ConfigError(ttsRaw.variable, ttsRaw.value, ttsRaw.source, "needs GOOGLE_APPLICATION_CREDENTIALS (a service-account JSON file), which is not set");
  }
  return {
    sttProvider,
    googleCredentials,
    googleSpeechEndpoint: endpoint(lookup("GOOGLE_SPEECH_ENDPOINT"), "eu-speech.googleapis.com"),
    googleTtsEndpoint: endpoint(lookup("GOOGLE_TTS_ENDPOINT"), "eu-texttospeech.googleapis.com"),
    googleSttModel: name(lookup("GOOGLE_STT_MODEL"), DEFAULT_GOOGLE_STT_MODEL),
  };
}

/** A readable JSON service-account key with client_email and private_key (install checks a typed path with it). */
export function readCredentials(raw: RawValue): GoogleCredentials {
  const path = raw.value.trim();
  const fail = (why: string): never => {
    throw new ConfigError(raw.variable, raw.value, raw.source, why);
  };
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    fail(`must be a readable service-account JSON file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail("must be a service-account JSON file; this one is not JSON");
  }
  const fields = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const { client_email: clientEmail, private_key: privateKey, project_id: projectId } = fields;
  if (typeof clientEmail !== "string" || !clientEmail.includes("@")) fail("must be a service-account JSON file with client_email (this one has none)");
  if (typeof privateKey !== "string" || !privateKey.includes("PRIVATE KEY")) fail("must be a service-account JSON file with private_key (a PEM key; this one has none)");
  return { path, clientEmail: clientEmail as string, privateKey: privateKey as string, projectId: typeof projectId === "string" ? projectId : null };
}

/** host or host:port, e.g. eu-speech.googleapis.com, or 127.0.0.1:50051 for a local fake. */
function endpoint(raw: RawValue | undefined, example: string): string | null {
  const v = raw?.value.trim();
  if (!raw || !v) return null;
  const match = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(v);
  const port = match?.[2] === undefined ? 443 : Number(match[2]);
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError(raw.variable, raw.value, raw.source, `must be host or host:port, e.g. ${example}`);
  }
  return v;
}
