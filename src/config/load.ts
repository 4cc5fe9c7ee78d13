import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { parseTechHours } from "../dialog/business-hours.ts";
import { SUPPORTED_LANGUAGES } from "../dialog/phrases.ts";
import { parseAllowList } from "../transports/allowlist.ts";
import { readEnvFile } from "./envfile.ts";
import { loadPbxSettings } from "./load-pbx.ts";
import { loadGoogleSettings } from "./load-google.ts";
import { loadProviderChoice } from "./load-providers.ts";
import { loadStoreSettings } from "./load-store.ts";
import { ConfigError, type Config, type HostPort, type LogLevelName } from "./schema.ts";
import { name, url } from "./values.ts";

/** Flags that map onto configuration (DESIGN.md's table); each command parses its own argv. */
export interface ConfigFlags {
  config?: string;
  dataDir?: string;
  audiosocket?: string;
  audiostream?: string;
  asp?: string;
  websocket?: string;
  http?: string;
  maxCalls?: string;
}

export const DEFAULT_CONFIG_FILE = "/etc/voicebot/voicebot.env";

interface Raw {
  value: string;
  source: string;
  variable: string;
}

/**
 * Precedence: flags > environment (VOICEBOT_<NAME> before the seed's <NAME>) > env file > defaults.
 * `env` is injectable so tests and the simulator never read the real environment by accident.
 */
export function loadConfig(flags: ConfigFlags = {}, env: Record<string, string | undefined> = process.env): Config {
  const configFile = pickConfigFile(flags, env);
  let file = new Map<string, string>();
  if (configFile) {
    try {
      file = readEnvFile(configFile);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigError(flags.config ? "--config" : "VOICEBOT_CONFIG", configFile, "config file", `cannot be read: ${why}`);
    }
  }

  const lookup = (name: string): Raw | undefined => {
    const prefixed = name.startsWith("VOICEBOT_") ? undefined : `VOICEBOT_${name}`;
    if (prefixed && env[prefixed] !== undefined) return { value: env[prefixed], source: "environment", variable: prefixed };
    if (env[name] !== undefined) return { value: env[name], source: "environment", variable: name };
    const fromFile = (prefixed && file.get(prefixed)) ?? file.get(name);
    if (fromFile !== undefined) return { value: fromFile, source: configFile ?? "config file", variable: name };
    return undefined;
  };
  const optional = (name: string): string | null => {
    const v = lookup(name)?.value.trim();
    return v ? v : null;
  };

  const audiosocket = endpoint(flags.audiosocket, "--audiosocket", lookup("AUDIOSOCKET_HOST"), lookup("AUDIOSOCKET_PORT"), { host: "0.0.0.0", port: 9090 });
  const audiostream = endpoint(flags.audiostream, "--audiostream", lookup("AUDIOSTREAM_HOST"), lookup("AUDIOSTREAM_PORT"), { host: "127.0.0.1", port: 8085 });
  const asp = endpoint(flags.asp, "--asp", lookup("ASP_HOST"), lookup("ASP_PORT"), { host: "127.0.0.1", port: 8765 });
  const websocket = endpoint(flags.websocket, "--websocket", lookup("WEBSOCKET_HOST"), lookup("WEBSOCKET_PORT"), { host: "127.0.0.1", port: 8086 });
  const http = endpoint(flags.http, "--http", lookup("HTTP_HOST"), lookup("HTTP_PORT"), { host: "127.0.0.1", port: 9091 });

  const maxCalls = flags.maxCalls !== undefined
    ? integer({ value: flags.maxCalls, source: "command line", variable: "--max-calls" }, 1, 10000)
    : intOr(lookup("MAX_CONCURRENT_CALLS"), 20, 1, 10000);

  const languageRaw = lookup("LANGUAGE");
  const language = languageRaw?.value.trim() || "fr-FR";
  if (!SUPPORTED_LANGUAGES.includes(language)) {
    throw new ConfigError(languageRaw?.variable ?? "LANGUAGE", language, languageRaw?.source ?? "default", `must be one of ${SUPPORTED_LANGUAGES.join(", ")}`);
  }

  const silenceWarningSeconds = secondsOr(lookup("SILENCE_WARNING_TIMEOUT"), 8);
  const hangupRaw = lookup("SILENCE_HANGUP_TIMEOUT");
  const silenceHangupSeconds = secondsOr(hangupRaw, 15);
  if (silenceHangupSeconds <= silenceWarningSeconds) {
    throw new ConfigError(hangupRaw?.variable ?? "SILENCE_HANGUP_TIMEOUT", String(silenceHangupSeconds), hangupRaw?.source ?? "default",
      `must be greater than SILENCE_WARNING_TIMEOUT (${silenceWarningSeconds} s)`);
  }
  const maxCallDurationSeconds = secondsOr(lookup("MAX_CALL_DURATION"), 600);

  const allowRaw = lookup("AUDIOSOCKET_ALLOW");
  const audiosocketAllow = allowRaw?.value.trim() ?? "";
  try {
    parseAllowList(audiosocketAllow);
  } catch (err) {
    throw new ConfigError(allowRaw?.variable ?? "AUDIOSOCKET_ALLOW", audiosocketAllow, allowRaw?.source ?? "default",
      `${err instanceof Error ? err.message : String(err)}; a comma-separated list of IP addresses and CIDRs`);
  }

  const logRaw = lookup("LOG_LEVEL");
  const logLevel = (logRaw?.value.trim().toLowerCase() || "info") as LogLevelName;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError(logRaw?.variable ?? "LOG_LEVEL", logRaw?.value ?? "", logRaw?.source ?? "default", "must be one of debug, info, warn, error");
  }

  const dataDirRaw: Raw | undefined = flags.dataDir !== undefined
    ? { value: flags.dataDir, source: "command line", variable: "--data-dir" }
    : lookup("VOICEBOT_DATA_DIR");
  if (dataDirRaw && dataDirRaw.value.trim() === "") {
    throw new ConfigError(dataDirRaw.variable, dataDirRaw.value, dataDirRaw.source, "must be a directory path");
  }
  const dataDir = resolve(dataDirRaw?.value ?? defaultDataDir());

  const tzRaw = lookup("TZ");
  const timezone = tzRaw?.value.trim() || "Europe/Paris";
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
  } catch {
    throw new ConfigError(tzRaw?.variable ?? "TZ", timezone, tzRaw?.source ?? "default", "must be an IANA time zone, e.g. Europe/Paris");
  }
  const hoursRaw = lookup("TECH_HOURS");
  const techHours = hoursRaw?.value.trim() || "mon-fri 09:00-18:00";
  try {
    parseTechHours(techHours);
  } catch (err) {
    throw new ConfigError(hoursRaw?.variable ?? "TECH_HOURS", techHours, hoursRaw?.source ?? "default", err instanceof Error ? err.message : String(err));
  }
  const resamplerRaw = lookup("RESAMPLER");
  const resampler = resamplerRaw?.value.trim().toLowerCase() || "speex";
  if (resampler !== "speex" && resampler !== "libsamplerate") {
    throw new ConfigError(resamplerRaw?.variable ?? "RESAMPLER", resamplerRaw?.value ?? "", resamplerRaw?.source ?? "default", "must be speex or libsamplerate");
  }
  const companyName = lookup("COMPANY_NAME")?.value.trim() ?? "";
  const keyterms = [companyName, ...(lookup("DEEPGRAM_KEYTERMS")?.value.split(",") ?? [])].map((t) => t.trim()).filter((t) => t !== "");

  return {
    configFile,
    dataDir,
    audiosocket,
    audiosocketAllow,
    audiostream,
    asp,
    websocket,
    websocketToken: token(lookup("WEBSOCKET_TOKEN")),
    http,
    maxCalls,
    language,
    silenceWarningSeconds,
    silenceHangupSeconds,
    maxCallDurationSeconds,
    audiostreamToken: optional("AUDIOSTREAM_TOKEN"),
    aspToken: optional("ASP_TOKEN"),
    adminToken: optional("ADMIN_TOKEN"),
    deepgramApiKey: optional("DEEPGRAM_API_KEY"),
    deepgramBaseUrl: url(lookup("DEEPGRAM_BASE_URL")),
    logLevel,
    deepgramModel: name(lookup("DEEPGRAM_MODEL"), "nova-3"),
    keyterms,
    companyName,
    ...loadProviderChoice(lookup, optional, language),
    ...loadGoogleSettings(lookup, optional),
    llmTtftTimeoutMs: Math.round(secondsOr(lookup("LLM_TTFT_TIMEOUT"), 1.5) * 1000),
    ttsFirstByteTimeoutMs: Math.round(secondsOr(lookup("TTS_FIRST_BYTE_TIMEOUT"), 1) * 1000),
    providerBreakerFailures: intOr(lookup("PROVIDER_BREAKER_FAILURES"), 3, 1, 100),
    providerBreakerCooldownMs: Math.round(secondsOr(lookup("PROVIDER_BREAKER_COOLDOWN"), 30) * 1000),
    apiRetryAttempts: intOr(lookup("API_RETRY_ATTEMPTS"), 2, 0, 10),
    apiTimeoutMs: Math.round(secondsOr(lookup("API_TIMEOUT"), 10) * 1000),
    techHours,
    timezone,
    bargeInMinSpeechMs: intOr(lookup("BARGE_IN_MIN_SPEECH"), 200, 20, 2000),
    resampler,
    recordingsRetentionDays: intOr(lookup("RECORDINGS_RETENTION_DAYS"), 0, 0, 36500),
    stopDrainSeconds: intOr(lookup("STOP_DRAIN_TIMEOUT"), 0, 0, 3600),
    ...loadPbxSettings(lookup),
    ...loadStoreSettings(lookup, http),
  };
}

/** A token Asterisk sends from websocket_client.conf: printable, no spaces and no ';' (a comment there). */
function token(raw: Raw | undefined): string | null {
  const v = raw?.value.trim();
  if (!raw || !v) return null;
  if (!/^[\x21-\x3a\x3c-\x7e]{1,200}$/.test(v)) throw new ConfigError(raw.variable, raw.value, raw.source, "must be 1-200 printable ASCII characters without spaces or ';'");
  return v;
}

function pickConfigFile(flags: ConfigFlags, env: Record<string, string | undefined>): string | null {
  if (flags.config !== undefined) return resolve(flags.config);
  if (env.VOICEBOT_CONFIG) return resolve(env.VOICEBOT_CONFIG);
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null;
}

/** Installed binaries keep their data in /var/lib; a checkout keeps it beside the sources. */
function defaultDataDir(): string {
  const compiled = import.meta.path.startsWith("/$bunfs/");
  return compiled && process.execPath.startsWith("/usr/") ? "/var/lib/voicebot" : "./data";
}

function endpoint(flag: string | undefined, flagName: string, hostRaw: Raw | undefined, portRaw: Raw | undefined, fallback: HostPort): HostPort {
  if (flag !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(flag.trim());
    if (!m) throw new ConfigError(flagName, flag, "command line", "must be HOST:PORT, e.g. 0.0.0.0:9090 or [::]:9090");
    const host = (m[1] ?? m[2] ?? "").trim() || fallback.host;
    checkHost(host, { value: flag, source: "command line", variable: flagName });
    return { host, port: integer({ value: m[3] as string, source: "command line", variable: flagName }, 0, 65535) };
  }
  const host = hostRaw?.value.trim() || fallback.host;
  if (hostRaw) checkHost(host, hostRaw);
  return { host, port: portRaw ? integer(portRaw, 0, 65535) : fallback.port };
}

function checkHost(host: string, raw: Raw): void {
  if (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
    throw new ConfigError(raw.variable, raw.value, raw.source, "must be an IP address or a host name");
  }
}

function integer(raw: Raw, min: number, max: number): number {
  const v = raw.value.trim();
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(raw.variable, raw.value, raw.source, `must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function intOr(raw: Raw | undefined, fallback: number, min: number, max: number): number {
  return raw ? integer(raw, min, max) : fallback;
}

function secondsOr(raw: Raw | undefined, fallback: number): number {
  if (!raw) return fallback;
  const v = raw.value.trim();
  const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n > 0 && n <= 86400)) throw new ConfigError(raw.variable, raw.value, raw.source, "must be a number of seconds greater than 0 and at most 86400");
  return n;
}
