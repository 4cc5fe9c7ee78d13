/**
 * tenants.toml (or .json): one table per company this appliance answers for. Read and checked
 * once at start-up; a bad entry stops start-up with one line naming the key, its value and the rule.
 */
import { readFileSync } from "node:fs";
import { parseTechHours } from "../dialog/business-hours.ts";
import { SUPPORTED_LANGUAGES } from "../dialog/phrases.ts";
import { PHRASE_IDS, type PhraseId } from "../dialog/types.ts";
import { transferTargetProblem } from "./load-pbx.ts";
import { ConfigError, type Config } from "./schema.ts";
import { DEFAULT_TENANT_ID, type Tenant, type Tenants } from "./tenant.ts";

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const KEYS = ["company_name", "aliases", "language", "tts_voice", "greeting", "prompts", "tech_hours", "timezone", "transfer_target"];

/** The default tenant from the env settings, then the file's tenants (a `default` table amends it). */
export function loadTenants(config: Config): Tenants {
  const base: Tenant = {
    id: DEFAULT_TENANT_ID,
    aliases: [],
    companyName: config.companyName,
    language: config.language,
    ttsVoice: config.ttsVoice,
    phrases: {},
    techHours: config.techHours,
    timezone: config.timezone,
    transferTarget: config.transferTarget,
  };
  const file = config.tenantsFile;
  if (file === null) return tenantTable([base]);
  const doc = parseFile(file);
  const tables = doc.tenants ?? {};
  if (!isRecord(tables)) throw new ConfigError("tenants", describe(tables), file, "must be a table of tenants: [tenants.<id>]");
  let defaultTenant = base;
  const others: Tenant[] = [];
  for (const [id, entry] of Object.entries(tables)) {
    if (!ID_PATTERN.test(id)) throw new ConfigError(`tenants.${id}`, id, file, "a tenant id is 1 to 128 of A-Z a-z 0-9 . _ -");
    if (!isRecord(entry)) throw new ConfigError(`tenants.${id}`, describe(entry), file, "must be a table");
    const tenant = readTenant(id, entry, id === DEFAULT_TENANT_ID ? base : { ...base, aliases: [], phrases: {}, transferTarget: null, id }, file);
    if (id === DEFAULT_TENANT_ID) defaultTenant = tenant;
    else others.push(tenant);
  }
  const table = [defaultTenant, ...others];
  const seen = new Map<string, string>();
  for (const t of table) {
    for (const key of [t.id, ...t.aliases]) {
      const owner = seen.get(key);
      if (owner !== undefined) throw new ConfigError(`tenants.${t.id}.aliases`, key, file, `already names tenant ${owner}: each id and alias must be unique`);
      seen.set(key, t.id);
    }
  }
  return tenantTable(table);
}

function tenantTable(all: Tenant[]): Tenants {
  const byKey = new Map<string, Tenant>();
  for (const t of all) for (const key of [t.id, ...t.aliases]) byKey.set(key, t);
  return { default: all[0] as Tenant, all, find: (id) => byKey.get(id) ?? null };
}

function parseFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError("TENANTS_FILE", file, "tenants file", `cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const doc: unknown = file.endsWith(".json") ? JSON.parse(text) : Bun.TOML.parse(text);
    if (!isRecord(doc)) throw new Error("the document is not a table");
    return doc;
  } catch (err) {
    throw new ConfigError("TENANTS_FILE", file, "tenants file", `is not valid ${file.endsWith(".json") ? "JSON" : "TOML"}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readTenant(id: string, entry: Record<string, unknown>, fallback: Tenant, file: string): Tenant {
  const at = (key: string): string => `tenants.${id}.${key}`;
  for (const key of Object.keys(entry)) {
    if (!KEYS.includes(key)) throw new ConfigError(at(key), describe(entry[key]), file, `is not a tenant setting: allowed are ${KEYS.join(", ")}`);
  }
  const text = (key: string): string | undefined => {
    const v = entry[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v.trim() === "") throw new ConfigError(at(key), describe(v), file, "must be a non-empty string");
    return v.trim();
  };
  const language = text("language") ?? fallback.language;
  if (!SUPPORTED_LANGUAGES.includes(language)) throw new ConfigError(at("language"), language, file, `must be one of ${SUPPORTED_LANGUAGES.join(", ")}`);
  const ttsVoice = text("tts_voice") ?? fallback.ttsVoice;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(ttsVoice)) throw new ConfigError(at("tts_voice"), ttsVoice, file, "must be a voice name: letters, digits and . _ -");
  const techHours = text("tech_hours") ?? fallback.techHours;
  try {
    parseTechHours(techHours);
  } catch (err) {
    throw new ConfigError(at("tech_hours"), techHours, file, err instanceof Error ? err.message : String(err));
  }
  const timezone = text("timezone") ?? fallback.timezone;
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
  } catch {
    throw new ConfigError(at("timezone"), timezone, file, "must be an IANA time zone, e.g. Europe/Paris");
  }
  const transferTarget = text("transfer_target") ?? fallback.transferTarget;
  const targetProblem = transferTarget === null ? null : transferTargetProblem(transferTarget);
  if (targetProblem !== null) throw new ConfigError(at("transfer_target"), transferTarget ?? "", file, targetProblem);
  const aliasesRaw = entry.aliases ?? [];
  if (!Array.isArray(aliasesRaw) || !aliasesRaw.every((a) => typeof a === "string" && ID_PATTERN.test(a))) {
    throw new ConfigError(at("aliases"), describe(aliasesRaw), file, "must be a list of ids (1 to 128 of A-Z a-z 0-9 . _ -)");
  }
  return {
    id,
    aliases: aliasesRaw as string[],
    companyName: text("company_name") ?? fallback.companyName,
    language,
    ttsVoice,
    phrases: { ...fallback.phrases, ...prompts(entry, at, file, text("greeting")) },
    techHours,
    timezone,
    transferTarget,
  };
}

/** `greeting` is both welcomes (keypad and AI); `prompts` replaces any other fixed phrase by id. */
function prompts(entry: Record<string, unknown>, at: (key: string) => string, file: string, greeting: string | undefined): Partial<Record<PhraseId, string>> {
  const out: Partial<Record<PhraseId, string>> = {};
  if (greeting !== undefined) {
    out.welcome = greeting;
    out.welcomeAi = greeting;
  }
  const table = entry.prompts ?? {};
  if (!isRecord(table)) throw new ConfigError(at("prompts"), describe(table), file, "must be a table of phrase id = text");
  const known = new Set<string>(PHRASE_IDS);
  for (const [key, value] of Object.entries(table)) {
    if (!known.has(key)) throw new ConfigError(at(`prompts.${key}`), describe(value), file, `is not a phrase id: allowed are ${PHRASE_IDS.filter((p) => !p.startsWith("digit")).join(", ")}`);
    if (typeof value !== "string" || value.trim() === "") throw new ConfigError(at(`prompts.${key}`), describe(value), file, "must be a non-empty string");
    out[key as PhraseId] = value.trim();
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
}
