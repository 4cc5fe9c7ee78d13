/**
 * The install answers: env-file names and values (the same names as /etc/voicebot/voicebot.env).
 * They come, weakest first, from the defaults, the existing env file (a re-run keeps every value
 * and secret), the `--answers FILE`, and the prompts; then they must load as a valid config.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { isLoopbackHost } from "./firewall.ts";
import { detectHostAddress } from "./host-address.ts";
import { renderEnvFile } from "./env-render.ts";

export type Answers = Map<string, string>;

const ANSWER_DEFAULTS: Readonly<Record<string, string>> = {
  PBX: "asterisk",
  AUDIOSOCKET_ALLOW: "",
  AUDIOSOCKET_HOST: "0.0.0.0",
  AUDIOSOCKET_PORT: "9090",
  AUDIOSTREAM_PORT: "8085",
  AUDIOSTREAM_PLAYBACK: "file",
  HTTP_PORT: "9091",
  MAX_CONCURRENT_CALLS: "20",
  DEEPGRAM_API_KEY: "",
  GROQ_API_KEY: "",
  OPENAI_API_KEY: "",
  COMPANY_NAME: "",
  LANGUAGE: "fr-FR",
  TECH_HOURS: "mon-fri 09:00-18:00",
  TZ: "Europe/Paris",
  TRANSFER_TARGET: "",
  RECORDINGS_RETENTION_DAYS: "90",
  // Live calls may finish for 5 minutes when the service stops (an upgrade, a reboot).
  STOP_DRAIN_TIMEOUT: "300",
};

/** 32 random bytes, base64url: what the PBX must present (mod_audio_stream ?token=, chan_websocket's password, the dialplan's API calls) and the admin's API token. */
function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Layers the sources, then fills what follows from the others (this host's address, the audiostream listener, tokens). */
export function mergeAnswers(layers: readonly (ReadonlyMap<string, string> | null)[], detectHost: () => string = detectHostAddress): Answers {
  const out: Answers = new Map(Object.entries(ANSWER_DEFAULTS));
  for (const layer of layers) for (const [k, v] of layer ?? []) out.set(k, v.trim());
  return complete(out, detectHost);
}

export function complete(a: Answers, detectHost: () => string = detectHostAddress): Answers {
  if (!a.get("PUBLIC_HOST")) a.set("PUBLIC_HOST", detectHost());
  const pbx = a.get("PBX") ?? "asterisk";
  if (!a.get("AUDIOSTREAM_HOST")) {
    const sources = (a.get("AUDIOSOCKET_ALLOW") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    const remote = pbx !== "asterisk" && (sources.length === 0 || sources.some((s) => !isLoopbackHost(s)));
    a.set("AUDIOSTREAM_HOST", remote ? "0.0.0.0" : "127.0.0.1");
  }
  // The doctor's test call comes from this host: the allow-list always lets loopback in.
  const allow = (a.get("AUDIOSOCKET_ALLOW") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (allow.length > 0 && !allow.some((s) => s === "127.0.0.1" || s.startsWith("127.0.0.") || s === "127.0.0.0/8")) a.set("AUDIOSOCKET_ALLOW", [...allow, "127.0.0.1"].join(","));
  // A remote Asterisk registers each call (and asks what comes next) on the admin port: it listens
  // on every address then, and the firewall lets only the PBX addresses in. Otherwise: localhost.
  if (!a.get("HTTP_HOST")) {
    const remoteAsterisk = pbx !== "freeswitch" && allow.some((s) => !isLoopbackHost(s));
    a.set("HTTP_HOST", remoteAsterisk ? "0.0.0.0" : "127.0.0.1");
  }
  for (const key of ["AUDIOSTREAM_TOKEN", "WEBSOCKET_TOKEN", "ADMIN_TOKEN", "PBX_TOKEN"]) if (!a.get(key)) a.set(key, newToken());
  for (const [k, v] of a) if (v === "" && !(k in ANSWER_DEFAULTS)) a.delete(k);
  return a;
}

/**
 * The answers as serve will read them: a bad one throws the ConfigError line (variable, value,
 * what is allowed) before install has touched anything.
 */
export function validateAnswers(a: Answers, overrides: { dataDir: string; tenantsFile: string | null }): Config {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-answers-"));
  try {
    const file = join(dir, "voicebot.env");
    writeFileSync(file, renderEnvFile(a, "validation copy"), { mode: 0o600 });
    const env: Record<string, string> = {};
    if (overrides.tenantsFile !== null) env.TENANTS_FILE = overrides.tenantsFile;
    return loadConfig({ config: file, dataDir: overrides.dataDir }, env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
