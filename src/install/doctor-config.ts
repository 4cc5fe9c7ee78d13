/** The configuration and what it points at: env file, tenants, data dir, database, phrase cache, modes. */
import { Database } from "bun:sqlite";
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { speaksWithCloudVoice, voiceIdFor } from "../ai/tts/select.ts";
import type { TextToSpeech } from "../ai/tts/types.ts";
import { loadTenants } from "../config/tenants.ts";
import type { Config } from "../config/schema.ts";
import { phraseTexts } from "../dialog/phrases.ts";
import { rootLogger } from "../log.ts";
import { COMMON_RATES } from "../media/pcm.ts";
import { PhraseCache } from "../media/phrase-cache.ts";
import { createResamplerPool } from "../media/resampler-pool.ts";
import { databasePath, schemaVersion } from "../store/db.ts";
import { MIGRATIONS } from "../store/migrations.ts";
import { phraseCacheDir } from "../config/tenant.ts";
import type { Check, CheckResult } from "./doctor-check.ts";
import { llmSettings } from "./doctor-providers.ts";
import { pgStoreResults } from "./doctor-store.ts";
import { fail, pass, warn } from "./doctor.ts";

const NO_CONFIG = "fix the configuration first (see the config line)";

export const configCheck: Check = {
  id: "config",
  async run(ctx) {
    if (!ctx.config) return fail("config", ctx.configError ?? "the configuration does not load", "correct that variable in the env file, then run `voicebot doctor` again");
    try {
      const tenants = loadTenants(ctx.config);
      const file = ctx.config.configFile ?? "no env file (defaults and environment)";
      return pass("config", `${file} is valid; ${tenants.all.length} tenant${tenants.all.length === 1 ? "" : "s"} (${tenants.all.map((t) => t.id).join(", ")})`);
    } catch (err) {
      return fail("config", err instanceof Error ? err.message : String(err), "correct tenants.toml as the message says");
    }
  },
};

export const envFileCheck: Check = {
  id: "env-file",
  async run(ctx) {
    const file = ctx.config?.configFile;
    if (!file) return warn("env-file", "no env file: running on defaults and the environment", "sudo voicebot install writes /etc/voicebot/voicebot.env");
    const st = statSync(file);
    const mode = st.mode & 0o777;
    const shown = `${file} is ${mode.toString(8).padStart(4, "0")} uid ${st.uid} gid ${st.gid}`;
    const holdsSecret = ctx.config ? hasSecret(ctx.config) : true;
    if (holdsSecret && (mode & 0o006) !== 0) return fail("env-file", `${shown}: other users can read the API keys`, `sudo chmod 0640 ${file} && sudo chown root:voicebot ${file}`);
    if ((mode & 0o022) !== 0) return fail("env-file", `${shown}: writable by others`, `sudo chmod 0640 ${file}`);
    if (file.startsWith("/etc/voicebot/") && (st.uid !== 0 || mode !== 0o640)) return warn("env-file", `${shown}; expected 0640 root:voicebot`, `sudo chown root:voicebot ${file} && sudo chmod 0640 ${file}`);
    return pass("env-file", shown);
  },
};

function hasSecret(c: Config): boolean {
  return [c.deepgramApiKey, c.groqApiKey, c.openaiApiKey, c.adminToken, c.pbxToken, c.audiostreamToken, c.ami?.secret, c.esl?.password].some((v) => v);
}

export const dataDirCheck: Check = {
  id: "data-dir",
  async run(ctx) {
    if (!ctx.config) return fail("data-dir", "unknown: the configuration does not load", NO_CONFIG);
    const dir = ctx.config.dataDir;
    try {
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      const probe = join(dir, `.doctor-${process.pid}`);
      writeFileSync(probe, "ok");
      rmSync(probe);
      accessSync(dir, constants.W_OK);
      return pass("data-dir", `${dir} is writable`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      return fail("data-dir", `${dir} is not writable (${code}: ${err instanceof Error ? err.message : String(err)})`, `sudo chown -R voicebot:voicebot ${dir} (or set VOICEBOT_DATA_DIR to a writable directory)`);
    }
  },
};

export const databaseCheck: Check = {
  id: "database",
  // A PostgreSQL store: a 2 s connection limit, then a few round trips and one query.
  timeoutMs: 4000,
  async run(ctx) {
    if (!ctx.config) return fail("database", "unknown: the configuration does not load", NO_CONFIG);
    if (ctx.config.store.kind === "postgres") return pgStoreResults(ctx.config, ctx.config.store);
    const path = databasePath(ctx.config.dataDir);
    if (!existsSync(path)) return warn("database", `no database yet at ${path}`, "`voicebot serve` creates it at its first start");
    const latest = MIGRATIONS.length;
    let db: Database | null = null;
    try {
      db = new Database(path, { readonly: true });
      db.run("PRAGMA busy_timeout = 2000");
      const check = db.query<{ quick_check: string }, []>("PRAGMA quick_check").all().map((r) => r.quick_check);
      if (check.length !== 1 || check[0] !== "ok") return fail("database", `${path}: quick_check found ${check.slice(0, 3).join("; ")}`, `stop the service, keep a copy, then try: sqlite3 ${path} ".recover" | sqlite3 recovered.db`);
      const version = schemaVersion(db);
      if (version > latest) return fail("database", `${path} is at schema ${version}, newer than this voicebot (${latest})`, "this binary is older than the data: `sudo voicebot upgrade` to the newer binary, or restore /usr/local/bin/voicebot.previous");
      if (version < latest) return warn("database", `${path}: integrity ok, schema ${version} of ${latest}`, "`voicebot serve` migrates it at its next start (sudo systemctl restart voicebot)");
      return pass("database", `${path}: integrity ok, schema ${version} (latest)`);
    } catch (err) {
      return fail("database", `${path} cannot be read: ${err instanceof Error ? err.message : String(err)}`, "the file is not a voicebot database or is damaged: move it aside and let serve create a new one");
    } finally {
      db?.close();
    }
  },
};

/** The voice the phrases were rendered with, without starting it: doctor must not load eSpeak or call OpenAI. */
function voiceOnly(config: Config, language: string, voice: string): TextToSpeech {
  return {
    voiceId: voiceIdFor({ ...config, language, ttsVoice: voice }),
    sampleRate: 24000,
    synthesize() {
      throw new Error("doctor never synthesizes");
    },
    close: async () => undefined,
  };
}

const phraseCacheCheck: Check = {
  id: "phrase-cache",
  timeoutMs: 5000,
  async run(ctx) {
    const config = ctx.config;
    if (!config) return fail("phrase-cache", "unknown: the configuration does not load", NO_CONFIG);
    const tenants = loadTenants(config).all;
    const resampler = createResamplerPool({ size: 1 });
    const results: CheckResult[] = [];
    try {
      for (const tenant of tenants) {
        const id = tenants.length === 1 ? "phrase-cache" : `phrase-cache.${tenant.id}`;
        const tts = voiceOnly(config, tenant.language, tenant.ttsVoice);
        const cache = new PhraseCache({
          texts: { ...phraseTexts(tenant.language), ...tenant.phrases }, tts, resampler,
          cacheDir: phraseCacheDir(config.dataDir, tenant.id), log: rootLogger.child("doctor"), language: tenant.language,
        });
        const disk = await cache.diskState(COMMON_RATES);
        const fix = `sudo -u voicebot voicebot cache build${tenant.id === "default" ? "" : ` --tenant ${tenant.id}`} (else serve renders them at start, the greetings first; until then calls hear the live voice for what is missing)`;
        results.push(disk.state === "fresh" ? pass(id, disk.reason) : warn(id, `${disk.state}: ${disk.reason}`, fix));
      }
    } finally {
      await resampler.close();
    }
    return results;
  },
};

const modesCheck: Check = {
  id: "modes",
  async run(ctx) {
    const c = ctx.config;
    if (!c) return fail("modes", "unknown: the configuration does not load", NO_CONFIG);
    const stt = c.sttProvider === "google" ? `google (${c.googleSttModel})` : c.sttProvider === "deepgram" ? `deepgram (${c.deepgramModel})` : c.deepgramApiKey ? "keypad (STT_PROVIDER=offline)" : "keypad (no DEEPGRAM_API_KEY)";
    const llm = c.llmProvider ? `${c.llmProvider} (${llmSettings(c, c.llmProvider).model})` : "scripted SAV (no GROQ, OPENAI or ANTHROPIC key)";
    const missingKey = c.ttsProvider === "deepgram" ? "DEEPGRAM_API_KEY" : c.ttsProvider === "google" ? "GOOGLE_APPLICATION_CREDENTIALS" : "OPENAI_API_KEY";
    const tts = speaksWithCloudVoice(c) ? voiceIdFor(c) : `${voiceIdFor(c)} (no ${missingKey})`;
    const conversational = c.sttProvider !== null && c.llmProvider !== null;
    return pass("modes", `ears: ${stt}; mind: ${conversational ? llm : "keypad dialog"}; voice: ${tts}`);
  },
};

export function configChecks(): Check[] {
  return [configCheck, envFileCheck, dataDirCheck, databaseCheck, phraseCacheCheck, modesCheck];
}
