import { join } from "node:path";
import type { PhraseId } from "../dialog/types.ts";

/**
 * One company answered by this appliance. The default tenant is built from the env file; the
 * others come from tenants.toml (or .json), each field falling back to the default tenant's.
 */
export interface Tenant {
  /** The id the PBX sends: a name, or a FusionPBX domain uuid. */
  id: string;
  /** Other ids that reach the same tenant (a FusionPBX domain's name and its uuid, say). */
  aliases: string[];
  companyName: string;
  language: string;
  /** The OpenAI TTS voice (the offline voice has one per language). */
  ttsVoice: string;
  /** Texts that replace fixed phrases for this company; `greeting` in the file sets the welcomes. */
  phrases: Partial<Record<PhraseId, string>>;
  techHours: string;
  timezone: string;
  /**
   * Where a transfer sends the caller, `exten@context` (Asterisk Redirect, FreeSWITCH
   * `uuid_transfer <uuid> <exten> XML <context>`); null = no transfer, a technician calls back.
   */
  transferTarget: string | null;
}

export interface Tenants {
  readonly default: Tenant;
  /** Every tenant, the default first. */
  readonly all: readonly Tenant[];
  /** By id or alias; null when unknown. */
  find(id: string): Tenant | null;
}

export const DEFAULT_TENANT_ID = "default";

/** Where a tenant's phrases live: the default tenant keeps `cache/phrases`, each other one its own directory. */
export function phraseCacheDir(dataDir: string, tenant: string): string {
  return join(dataDir, "cache", tenant === DEFAULT_TENANT_ID ? "phrases" : `phrases-${tenant}`);
}
