/** The PBX-side settings: hand-off control planes, the mod_audio_stream defaults, tenants. */
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { parseDialplanTarget } from "../transports/dialplan-target.ts";
import { parsePbxNodes } from "./pbx-nodes.ts";
import { ConfigError, type AmiSettings, type Config, type EslSettings, type PbxNode } from "./schema.ts";
import { oneOf } from "./values.ts";

export interface RawValue {
  value: string;
  source: string;
  variable: string;
}

export type Lookup = (name: string) => RawValue | undefined;

type PbxConfig = Pick<Config,
  "pbx" | "ami" | "esl" | "audiostreamPlayback" | "audiostreamRate" | "audiostreamMix" | "dtmfInband" | "unknownTenant" | "tenantsFile" | "transferTarget" | "publicHost" | "pbxToken"
  | "whenFull" | "pbxNodes" | "pbxNodeOrder">;

export const DEFAULT_TENANTS_FILES = ["/etc/voicebot/tenants.toml", "/etc/voicebot/tenants.json"];
export const AUDIOSTREAM_RATES = [8000, 16000, 24000, 32000, 48000] as const;
/** TRANSFER_TARGET and tenants' transfer_target: the error says what is wrong, or null. */
export function transferTargetProblem(target: string): string | null {
  try {
    parseDialplanTarget(target);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function loadPbxSettings(lookup: Lookup): PbxConfig {
  const rateRaw = lookup("AUDIOSTREAM_RATE");
  const audiostreamRate = rateRaw ? Number(rateRaw.value.trim()) : 16000;
  if (!(AUDIOSTREAM_RATES as readonly number[]).includes(audiostreamRate)) {
    throw new ConfigError(rateRaw?.variable ?? "AUDIOSTREAM_RATE", rateRaw?.value ?? "", rateRaw?.source ?? "default", `must be one of ${AUDIOSTREAM_RATES.join(", ")}`);
  }
  const targetRaw = lookup("TRANSFER_TARGET");
  const transferTarget = targetRaw?.value.trim() || null;
  const targetProblem = transferTarget === null ? null : transferTargetProblem(transferTarget);
  if (targetRaw && targetProblem !== null) throw new ConfigError(targetRaw.variable, targetRaw.value, targetRaw.source, targetProblem);
  const publicRaw = lookup("PUBLIC_HOST");
  const publicHost = publicRaw?.value.trim() || null;
  if (publicRaw && publicHost !== null && isIP(publicHost) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(publicHost)) {
    throw new ConfigError(publicRaw.variable, publicRaw.value, publicRaw.source, "must be an IP address or a host name");
  }
  return {
    pbxToken: pbxToken(lookup),
    pbx: oneOf(lookup("PBX"), ["asterisk", "freeswitch", "both"] as const) ?? "both",
    ami: amiSettings(lookup),
    esl: eslSettings(lookup),
    audiostreamPlayback: oneOf(lookup("AUDIOSTREAM_PLAYBACK"), ["file", "stream"] as const) ?? "file",
    audiostreamRate,
    audiostreamMix: oneOf(lookup("AUDIOSTREAM_MIX"), ["mono", "stereo", "mixed"] as const) ?? "mono",
    dtmfInband: oneOf(lookup("DTMF_INBAND"), ["auto", "on", "off"] as const) ?? "auto",
    unknownTenant: oneOf(lookup("UNKNOWN_TENANT"), ["default", "reject"] as const) ?? "default",
    tenantsFile: tenantsFile(lookup("TENANTS_FILE")),
    transferTarget,
    publicHost,
    whenFull: oneOf(lookup("WHEN_FULL"), ["busy", "refuse"] as const) ?? "busy",
    pbxNodes: pbxNodes(lookup("PBX_NODES")),
    pbxNodeOrder: oneOf(lookup("PBX_NODE_ORDER"), ["in-turn", "round-robin"] as const) ?? "in-turn",
  };
}

function pbxNodes(raw: RawValue | undefined): PbxNode[] {
  if (!raw) return [];
  const nodes = parsePbxNodes(raw.value);
  if (typeof nodes === "string") throw new ConfigError(raw.variable, raw.value, raw.source, `must be a comma-separated list of host or host:port: ${nodes}`);
  return nodes;
}

/**
 * PBX_TOKEN: what the rendered dialplan carries instead of ADMIN_TOKEN, good only for registering
 * calls and asking /next. Without ADMIN_TOKEN the rest of the API would be open, and the same value
 * as ADMIN_TOKEN would give the PBX (and `dialplan show`) every right again: both are refused.
 */
function pbxToken(lookup: Lookup): string | null {
  const raw = lookup("PBX_TOKEN");
  const token = raw?.value.trim() || null;
  if (!raw || token === null) return null;
  const admin = lookup("ADMIN_TOKEN")?.value.trim() || null;
  if (admin === null) throw new ConfigError(raw.variable, "<set>", raw.source, "needs ADMIN_TOKEN set too (the admin API would otherwise be open to anyone)");
  if (admin === token) throw new ConfigError(raw.variable, "<same as ADMIN_TOKEN>", raw.source, "must differ from ADMIN_TOKEN (the dialplan would carry full admin rights)");
  return token;
}

function port(raw: RawValue | undefined, fallback: number): number {
  if (!raw) return fallback;
  const n = /^\d+$/.test(raw.value.trim()) ? Number(raw.value.trim()) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new ConfigError(raw.variable, raw.value, raw.source, "must be a whole number from 1 to 65535");
  return n;
}

/** Configured as soon as AMI_HOST is set; then AMI_USER and AMI_SECRET are required. */
function amiSettings(lookup: Lookup): AmiSettings | null {
  const host = lookup("AMI_HOST");
  if (!host || host.value.trim() === "") return null;
  const username = required(lookup, "AMI_USER", "AMI_HOST is set: the manager.conf user voicebot logs in as");
  const secret = required(lookup, "AMI_SECRET", "AMI_HOST is set: that user's secret");
  return { host: host.value.trim(), port: port(lookup("AMI_PORT"), 5038), username, secret };
}

/** Configured as soon as ESL_HOST is set; the password defaults to FreeSWITCH's own default. */
function eslSettings(lookup: Lookup): EslSettings | null {
  const host = lookup("ESL_HOST");
  if (!host || host.value.trim() === "") return null;
  const password = lookup("ESL_PASSWORD")?.value.trim() || "ClueCon";
  return { host: host.value.trim(), port: port(lookup("ESL_PORT"), 8021), password };
}

function required(lookup: Lookup, name: string, why: string): string {
  const raw = lookup(name);
  const v = raw?.value.trim() ?? "";
  if (v === "") throw new ConfigError(raw?.variable ?? name, raw?.value ?? "", raw?.source ?? "unset", `is required: ${why}`);
  if (/[\r\n]/.test(v)) throw new ConfigError(raw?.variable ?? name, "(hidden)", raw?.source ?? "unset", "must be one line");
  return v;
}

function tenantsFile(raw: RawValue | undefined): string | null {
  const v = raw?.value.trim();
  if (raw && v) {
    if (!existsSync(v)) throw new ConfigError(raw.variable, raw.value, raw.source, "must name an existing tenants.toml or tenants.json file");
    return resolve(v);
  }
  return DEFAULT_TENANTS_FILES.find((f) => existsSync(f)) ?? null;
}
