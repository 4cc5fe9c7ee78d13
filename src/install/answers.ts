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
import { INSTALL_PATHS } from "./layout.ts";

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
  ANTHROPIC_API_KEY: "",
  GOOGLE_APPLICATION_CREDENTIALS: "",
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
  const pbx = a.get("PBX") ?? "asterisk";
  if (!a.get("AUDIOSTREAM_HOST")) {
    const sources = (a.get("AUDIOSOCKET_ALLOW") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    const remote = pbx !== "asterisk" && (sources.length === 0 || sources.some((s) => !isLoopbackHost(s)));
    a.set("AUDIOSTREAM_HOST", remote ? "0.0.0.0" : "127.0.0.1");
  }
  const allow = (a.get("AUDIOSOCKET_ALLOW") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  // A PBX on this host reaches voicebot, and the admin port it needs, over loopback.
  if (!a.get("PUBLIC_HOST")) a.set("PUBLIC_HOST", allow.length > 0 && allow.every(isLoopbackHost) ? "127.0.0.1" : detectHost());
  // The doctor's test call comes from this host: the allow-list always lets loopback in.
  if (allow.length > 0 && !allow.some((s) => s === "127.0.0.1" || s.startsWith("127.0.0.") || s === "127.0.0.0/8")) a.set("AUDIOSOCKET_ALLOW", [...allow, "127.0.0.1"].join(","));
  // A PBX on another host reaches the admin port: Asterisk's dialplan registers each call (and asks
  // what comes next) there, and apply-on-pbx.sh asks for the test call through the PBX. It listens
  // on every address then, and the firewall lets only the PBX addresses in. Otherwise: localhost.
  if (!a.get("HTTP_HOST")) a.set("HTTP_HOST", allow.some((s) => !isLoopbackHost(s)) ? "0.0.0.0" : "127.0.0.1");
  // The rendered chan_websocket files go to a remote Asterisk too (apply-on-pbx.sh installs them):
  // their listener must be reachable as well, firewalled like the others.
  if (!a.get("WEBSOCKET_HOST")) a.set("WEBSOCKET_HOST", pbx !== "freeswitch" && allow.some((s) => !isLoopbackHost(s)) ? "0.0.0.0" : "127.0.0.1");
  for (const key of ["AUDIOSTREAM_TOKEN", "WEBSOCKET_TOKEN", "ADMIN_TOKEN", "PBX_TOKEN"]) if (!a.get(key)) a.set(key, newToken());
  pbxControlDefaults(a, pbx, allow);
  for (const [k, v] of a) if (v === "" && !(k in ANSWER_DEFAULTS) && !OFF_WHEN_EMPTY.has(k)) a.delete(k);
  return a;
}

/** An AMI_HOST or ESL_HOST given empty (answers file, or a kept env file) means "no PBX control": it is written so, and kept. */
const OFF_WHEN_EMPTY = new Set(["AMI_HOST", "ESL_HOST"]);

/** Settings complete() derives from the others when nobody gave them. */
const DERIVED = ["PUBLIC_HOST", "AUDIOSTREAM_HOST", "WEBSOCKET_HOST", "HTTP_HOST", "AMI_HOST", "ESL_HOST"] as const;

/**
 * After the prompts: a derived setting that came from neither the env file nor the answers file,
 * and that no prompt changed, is derived again from the final answers (a PBX address typed at the
 * prompt makes the admin port listen where that PBX reaches it, and AMI point at it).
 */
export function rederive(asked: Answers, before: ReadonlyMap<string, string>, layers: readonly (ReadonlyMap<string, string> | null)[]): Answers {
  for (const key of DERIVED) {
    if (layers.some((l) => l?.has(key)) || asked.get(key) !== before.get(key)) continue;
    asked.delete(key);
  }
  return asked;
}

/** The address the PBX's manager / event socket listens on: the first PBX address given, else this host. */
export function pbxAddress(allow: readonly string[]): string {
  return allow.find((s) => !isLoopbackHost(s) && !s.includes("/")) ?? "127.0.0.1";
}

/**
 * AMI (Asterisk) and ESL (FreeSWITCH) on by default, at the PBX's address and standard port, with a
 * secret generated here: the rendered manager_voicebot.conf / event_socket.conf.xml carry the same
 * one, so no placeholder is ever written and a re-run keeps it.
 */
function pbxControlDefaults(a: Answers, pbx: string, allow: readonly string[]): void {
  const set = (key: string, value: () => string) => {
    if (!a.get(key)) a.set(key, value());
  };
  if (pbx !== "freeswitch" && !a.has("AMI_HOST")) a.set("AMI_HOST", pbxAddress(allow));
  if (a.get("AMI_HOST")) {
    set("AMI_PORT", () => "5038");
    set("AMI_USER", () => "voicebot");
    set("AMI_SECRET", newToken);
  }
  if (pbx !== "asterisk" && !a.has("ESL_HOST")) a.set("ESL_HOST", pbxAddress(allow));
  if (a.get("ESL_HOST")) {
    set("ESL_PORT", () => "8021");
    set("ESL_PASSWORD", newToken);
  }
}

/**
 * The answers as serve will read them: a bad one throws the ConfigError line (variable, value,
 * what is allowed) before install has touched anything.
 */
export function validateAnswers(a: Answers, overrides: { dataDir: string; tenantsFile: string | null; googleKey?: string | null }): Config {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-answers-"));
  try {
    const file = join(dir, "voicebot.env");
    writeFileSync(file, renderEnvFile(a, "validation copy"), { mode: 0o600 });
    const env: Record<string, string> = {};
    if (overrides.tenantsFile !== null) env.TENANTS_FILE = overrides.tenantsFile;
    // The installed key copy, as the staged system sees it (a re-run names the copy).
    if (overrides.googleKey && a.get("GOOGLE_APPLICATION_CREDENTIALS") === INSTALL_PATHS.googleKey) env.GOOGLE_APPLICATION_CREDENTIALS = overrides.googleKey;
    return loadConfig({ config: file, dataDir: overrides.dataDir }, env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
