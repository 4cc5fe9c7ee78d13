/**
 * `voicebot cache build|status`: the fixed phrases rendered ahead of time with the configured voice,
 * so serve's first call never waits for a TTS, and a check of whether what is on disk still fits.
 */
import { mkdir } from "node:fs/promises";
import { selectTts } from "../ai/tts/select.ts";
import type { TextToSpeech } from "../ai/tts/types.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Tenant } from "../config/tenant.ts";
import { loadTenants } from "../config/tenants.ts";
import { phraseTexts } from "../dialog/phrases.ts";
import { rootLogger, setLogLevel, type Logger } from "../log.ts";
import { COMMON_RATES } from "../media/pcm.ts";
import { PhraseCache, type PhraseDiskState, type PrepareReport } from "../media/phrase-cache.ts";
import { createResamplerPool, defaultPoolSize } from "../media/resampler-pool.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { facts, formatBytes } from "./format.ts";
import { createProgress } from "./progress.ts";
import { phraseCacheDir } from "../config/tenant.ts";

const LOWEST_RATE = 8000;
const HIGHEST_RATE = 48000;

const USAGE = `Usage: voicebot cache build [--tenant ID] [--rates 8000,16000] [--prune] [--json]
       voicebot cache status [--tenant ID] [--rates 8000,16000] [--json]

The phrase cache: every fixed phrase of LANGUAGE, synthesized with the configured voice (TTS_PROVIDER's
cloud voice, OpenAI TTS or Deepgram Aura, when its key is set, else the offline eSpeak-NG voice) at
each rate, in <data-dir>/cache/phrases
(each other tenant: its own language, voice and texts, in <data-dir>/cache/phrases-<id>).
serve loads it at start; phrases missing there are rendered by serve itself, and a cache built for
another voice, language or texts is reported as stale.

Subcommands:
  build             render what is missing (what is already on disk is reused); exit 1 if the voice fails
  status            fresh (all there), stale (built for another voice, language or texts: says what
                    differs) or missing; exit 0 when fresh, 1 otherwise

Options:
  --config FILE     env file to read    VOICEBOT_CONFIG   (default /etc/voicebot/voicebot.env if present)
  --data-dir DIR    where the cache is  VOICEBOT_DATA_DIR (default ./data from source)
  --tenant ID       a tenant of tenants.toml (its language, voice and prompt texts, in
                    <data-dir>/cache/phrases-<ID>); default: the default tenant
  --rates LIST      comma-separated sample rates, ${LOWEST_RATE} to ${HIGHEST_RATE} Hz (default ${COMMON_RATES.join(",")})
  --prune           build only: delete other voices' phrases (kept otherwise, so switching back is instant)
  --json            one JSON document on stdout (progress still goes to stderr)
  --help            this text`;

interface Session {
  config: Config;
  tts: TextToSpeech;
  mode: string;
  phrases: PhraseCache;
  cacheDir: string;
  close(): Promise<void>;
}

/** "8000,16000" → [8000, 16000], sorted and without repeats. */
export function parseRates(raw: string | undefined): number[] {
  if (raw === undefined) return [...COMMON_RATES];
  const parts = raw.split(",").map((part) => part.trim());
  const rates = parts.map((part) => {
    const rate = /^\d+$/.test(part) ? Number(part) : Number.NaN;
    if (!(rate >= LOWEST_RATE && rate <= HIGHEST_RATE)) {
      throw new UsageError(`--rates ${JSON.stringify(raw)}: ${JSON.stringify(part)} is not a sample rate; give integers from ${LOWEST_RATE} to ${HIGHEST_RATE} Hz separated by commas, e.g. 8000,16000`);
    }
    return rate;
  });
  return [...new Set(rates)].sort((a, b) => a - b);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Info lines would tear the progress bar apart; warnings and errors still show, and debug when asked for. */
function quietLogger(config: Config): Logger {
  setLogLevel(config.logLevel === "info" ? "warn" : config.logLevel);
  return rootLogger.child("cache");
}

/** The tenant's voice and texts, exactly as serve builds them (serve-tenants.ts). */
function openSession(base: Config, tenant: Tenant, log: Logger, poolSize: number): Session {
  const config = { ...base, language: tenant.language, ttsVoice: tenant.ttsVoice };
  const { tts, mode } = selectTts(config, log.child("tts"));
  const resampler = createResamplerPool({ size: poolSize });
  const cacheDir = phraseCacheDir(config.dataDir, tenant.id);
  const phrases = new PhraseCache({
    texts: { ...phraseTexts(tenant.language), ...tenant.phrases }, tts, resampler, cacheDir, log: log.child("phrases"), language: tenant.language,
  });
  return {
    config, tts, mode, phrases, cacheDir,
    close: async () => {
      await tts.close().catch(() => undefined);
      await resampler.close();
    },
  };
}

async function build(session: Session, rates: number[], prune: boolean, json: boolean, out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { config, tts, mode, phrases, cacheDir } = session;
  const started = performance.now();
  try {
    await mkdir(cacheDir, { recursive: true });
  } catch (error) {
    process.stderr.write(`voicebot cache build: cannot create the cache directory ${cacheDir}: ${messageOf(error)}\n`);
    return 1;
  }
  const before = await phrases.diskState(rates);
  process.stderr.write(`cache build: ${phrases.phraseCount} phrases with ${mode}, ${config.language}, at ${rates.join(", ")} Hz `
    + `into ${cacheDir} (was ${before.state}: ${before.reason})\n`);
  const progress = createProgress({
    total: phrases.phraseCount * rates.length, unit: "phrases", detail: `${rates.join(", ")} Hz`, out: process.stderr,
  });
  let report: PrepareReport;
  try {
    report = await phrases.prepare(rates, { onProgress: (done) => progress.update(done) });
  } catch (error) {
    const message = messageOf(error);
    progress.finish();
    process.stderr.write(`voicebot cache build: ${message.includes(tts.voiceId) ? message : `voice ${tts.voiceId}: ${message}`}\n`);
    return 1;
  }
  progress.finish();
  const after = await phrases.diskState(rates);
  if (after.state !== "fresh") {
    process.stderr.write(`voicebot cache build: the phrases were rendered but not all saved in ${cacheDir} (${after.reason}); see the warnings above\n`);
    return 1;
  }
  // Only once this voice is safely on disk: the old voice stays usable if the build fails.
  const pruned = prune ? await phrases.pruneOtherVoices() : [];
  const seconds = Math.round(performance.now() - started) / 1000;
  if (json) {
    printJson({
      voice: tts.voiceId, mode, language: config.language, rates, phrases: phrases.phraseCount,
      rendered: report.rendered, reused: report.reused, files: after.present, bytes: after.bytes,
      dir: cacheDir, pruned, state: after.state, seconds,
    });
    return 0;
  }
  const lines = facts([
    ["voice", `${mode} [${tts.voiceId}]`],
    ["language", config.language],
    ["rates", `${rates.join(", ")} Hz`],
    ["phrases", `${phrases.phraseCount} × ${rates.length} rate${rates.length === 1 ? "" : "s"}: ${report.rendered} rendered, ${report.reused} reused`],
    ["files", `${after.present} (${formatBytes(after.bytes)}) in ${cacheDir}`],
    ...(prune ? [["pruned", pruned.length > 0 ? pruned.join(", ") : "no other voices"] as const] : []),
    ["time", `${seconds.toFixed(1)} s`],
  ]);
  out(lines.join("\n") + "\n");
  return 0;
}

function status(session: Session, rates: number[], state: PhraseDiskState, json: boolean): number {
  const { config, tts, mode, cacheDir } = session;
  if (json) {
    printJson({
      state: state.state, reason: state.reason, voice: tts.voiceId, mode, language: config.language, rates,
      present: state.present, expected: state.expected, bytes: state.bytes, dir: cacheDir, manifest: state.manifest,
    });
  } else {
    const built = state.manifest
      ? `${state.manifest.voiceId}, ${state.manifest.language ?? "language not recorded"}, ${state.manifest.rates.join(", ")} Hz, at ${state.manifest.builtAt} by voicebot ${state.manifest.version}`
      : "nothing recorded";
    const lines = facts([
      ["state", `${state.state}: ${state.reason}`],
      ["voice", `${mode} [${tts.voiceId}]`],
      ["language", config.language],
      ["rates", `${rates.join(", ")} Hz`],
      ["files", `${state.present} of ${state.expected} (${formatBytes(state.bytes)}) in ${cacheDir}`],
      ["last build", built],
    ]);
    process.stdout.write(lines.join("\n") + "\n");
    if (state.state !== "fresh") process.stdout.write("run `voicebot cache build` to render what is missing\n");
  }
  return state.state === "fresh" ? 0 : 1;
}

/** What `cache build` does for one tenant, with its progress bar: install runs it for each tenant. */
export async function buildTenantCache(config: Config, tenant: Tenant, rates: number[] = [...COMMON_RATES]): Promise<number> {
  const session = openSession(config, tenant, quietLogger(config), defaultPoolSize());
  try {
    // stdout stays for install's --json: the summary goes with the progress bar, to stderr.
    return await build(session, rates, false, false, (t) => process.stderr.write(t));
  } finally {
    await session.close();
  }
}

export const cacheCommand: Command = {
  name: "cache",
  summary: "build the phrase cache with the configured voice, or check it (build | status)",
  async run(argv) {
    const parsed = parseCommandArgs(argv, {
      config: { type: "string" },
      "data-dir": { type: "string" },
      rates: { type: "string" },
      tenant: { type: "string" },
      prune: { type: "boolean" },
      json: { type: "boolean" },
    }, USAGE, true);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError("missing subcommand: build or status (see --help)");
    if (sub !== "build" && sub !== "status") throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: build or status (see --help)`);
    if (rest.length > 0) throw new UsageError(`cache ${sub} takes no arguments, got ${JSON.stringify(rest[0])} (see --help)`);
    if (sub === "status" && values.prune) throw new UsageError("--prune applies to `cache build` only (see --help)");
    const rates = parseRates(values.rates);
    const config = loadConfig({ config: values.config, dataDir: values["data-dir"] });
    const log = quietLogger(config);
    const tenants = loadTenants(config);
    const tenant = values.tenant === undefined ? tenants.default : tenants.find(values.tenant);
    if (tenant === null) throw new UsageError(`--tenant ${JSON.stringify(values.tenant)} is not in ${config.tenantsFile ?? "tenants.toml (there is none)"}: known are ${tenants.all.map((t) => t.id).join(", ")}`);
    const session = openSession(config, tenant, log, sub === "build" ? defaultPoolSize() : 1);
    try {
      if (sub === "build") return await build(session, rates, values.prune === true, values.json === true);
      return status(session, rates, await session.phrases.diskState(rates), values.json === true);
    } finally {
      await session.close();
    }
  },
};
