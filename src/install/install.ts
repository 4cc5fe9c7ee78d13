/**
 * `voicebot install`: from a fresh Debian host to a running, firewalled, supervised service,
 * in one run that is safe to repeat. Each step goes through a System (dry-run, staging root).
 */
import { readFileSync } from "node:fs";
import { parseEnvFile } from "../config/envfile.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { loadTenants } from "../config/tenants.ts";
import type { Tenant } from "../config/tenant.ts";
import { speaksWithCloudVoice, voiceIdFor } from "../ai/tts/select.ts";
import { version } from "../version.ts";
import { mergeAnswers, complete, pbxAddress, rederive, validateAnswers, type Answers } from "./answers.ts";
import { installBinary } from "./binary.ts";
import type { CheckResult } from "./doctor-check.ts";
import { allChecks, systemChecks } from "./doctor-checks.ts";
import { llmSettings } from "./doctor-providers.ts";
import { formatResults, runDoctor } from "./doctor.ts";
import { envDiff, renderEnvFile } from "./env-render.ts";
import { isLoopbackHost, type FirewallState } from "./firewall.ts";
import { waitForHealth } from "./health.ts";
import { installGoogleKey } from "./google-key.ts";
import { makeDirs, setUpFirewall, writePbxConfig } from "./install-steps.ts";
import { INSTALL_PATHS, SERVICE_USER } from "./layout.ts";
import { readManifest, writeManifest } from "./manifest.ts";
import { askAnswers, type PromptIo } from "./prompts.ts";
import { ensureServiceUser } from "./service-user.ts";
import { probeStoreUrl } from "./store-probe.ts";
import { createSystem } from "./system-host.ts";
import type { Change } from "./system.ts";
import { enableAndStart, hasSystemd, serviceState, unitPaths, writeUnits } from "./systemd.ts";
import { renderTenantsFile } from "./tenants-render.ts";

export interface InstallOptions {
  root: string;
  dryRun: boolean;
  /** No questions: the existing file, the answers file and the defaults. */
  yes: boolean;
  answersFile: string | null;
  /** The executable to install. */
  binary: string;
  start: boolean;
  /** Builds one tenant's phrase cache (`voicebot cache build`'s work, given by the CLI); null = skip. */
  buildCache: ((config: Config, tenant: Tenant) => Promise<number>) | null;
  /** Go on although the host is below the minimum (too few cores, too little memory). */
  force: boolean;
  env: Record<string, string | undefined>;
  /** Progress and messages for the admin. */
  say: (line: string) => void;
  prompts?: PromptIo;
  detectHost?: () => string;
  /** How long to wait for the started service's /healthz. */
  healthTimeoutMs?: number;
}

export interface InstallReport {
  dryRun: boolean;
  changes: Change[];
  /** What changed in voicebot.env on a re-run (secrets named, never shown). */
  envChanges: string[];
  createdUser: boolean;
  firewall: FirewallState | null;
  systemd: boolean;
  started: boolean;
  pbxFiles: string[];
  pbxSteps: string[];
  /** Where apply-on-pbx.sh is to be run: the PBX's address, or null when the PBX is this host. */
  pbxHost: string | null;
  modes: { stt: string; llm: string; tts: string };
  doctor: CheckResult[];
  testCall: string;
}

/** A reason install stops before changing anything more; the CLI prints it as one line. */
export class InstallError extends Error {
  override name = "InstallError";
}

function modesOf(c: Config): InstallReport["modes"] {
  return {
    stt: c.sttProvider === "google" ? `google (${c.googleSttModel})` : c.sttProvider === "deepgram" ? `deepgram (${c.deepgramModel})` : "offline: keypad",
    llm: c.llmProvider ? `${c.llmProvider} (${llmSettings(c, c.llmProvider).model})` : "offline: scripted SAV",
    tts: speaksWithCloudVoice(c) ? voiceIdFor(c) : "offline: eSpeak-NG",
  };
}

function remotePbx(c: Config): string | null {
  const address = pbxAddress(c.audiosocketAllow.split(",").map((s) => s.trim()));
  return isLoopbackHost(address) ? null : address;
}

function readAnswersFile(path: string): Map<string, string> {
  try {
    return parseEnvFile(readFileSync(path, "utf8"), path);
  } catch (err) {
    throw new InstallError(`--answers ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function install(o: InstallOptions): Promise<InstallReport> {
  if (o.root === "/" && !o.dryRun && process.getuid?.() !== 0) {
    throw new InstallError("install changes the system (a user, /etc, systemd, the firewall): run it with sudo, or see what it would do with --dry-run");
  }
  const sys = createSystem({ root: o.root, dryRun: o.dryRun, say: o.say, env: o.env });

  const preflight = await runDoctor(systemChecks(), { config: null, configError: null, root: o.root, env: o.env });
  o.say(formatResults(preflight));
  if (preflight.some((r) => r.status === "FAIL") && !o.force) {
    throw new InstallError("this host is below voicebot's minimum (see the FAIL lines above); --force installs anyway");
  }

  const existingText = sys.read(INSTALL_PATHS.envFile);
  const existing = existingText === null ? null : parseEnvFile(existingText, sys.path(INSTALL_PATHS.envFile));
  const layers = [existing, o.answersFile ? readAnswersFile(o.answersFile) : null];
  let answers: Answers = mergeAnswers(layers, o.detectHost);
  if (!o.yes) {
    if (!o.prompts) throw new InstallError("no terminal to ask on: give --yes with --answers FILE");
    const before = answers;
    const derive = (asked: Answers) => complete(rederive(new Map(asked), before, layers), o.detectHost);
    answers = derive(await askAnswers(new Map(answers), { ...o.prompts, derive }));
  }
  const tenantsStaged = sys.exists(INSTALL_PATHS.tenantsFile) ? sys.path(INSTALL_PATHS.tenantsFile) : null;
  const config = validateAnswers(answers, { dataDir: sys.path(INSTALL_PATHS.dataDir), tenantsFile: tenantsStaged, googleKey: sys.path(INSTALL_PATHS.googleKey) });
  // A new PostgreSQL store is written only once this host reached it with those credentials.
  if (config.store.kind === "postgres" && !o.dryRun && existing?.get("STORE_URL") !== config.store.url) {
    const reached = await probeStoreUrl(config.store.url);
    if (!reached.ok) throw new InstallError(`STORE_URL: ${reached.detail}`);
    o.say(`STORE_URL: ${reached.detail}`);
  }
  const envChanges = existing ? envDiff(existing, answers) : [];
  if (existing) o.say(envChanges.length === 0 ? "voicebot.env: no change" : `voicebot.env changes:\n  ${envChanges.join("\n  ")}`);

  const previous = readManifest(sys);
  const before = hasSystemd(sys) ? serviceState(sys) : null;
  const { created } = ensureServiceUser(sys);
  const dirs = makeDirs(sys);
  const binary = installBinary(sys, o.binary);
  const googleKey = installGoogleKey(sys, answers);
  const envChanged = sys.write(INSTALL_PATHS.envFile, renderEnvFile(answers, `voicebot ${version} settings, written by \`voicebot install\``), { mode: 0o640, owner: "root", group: SERVICE_USER }, true);
  const files: string[] = [INSTALL_PATHS.binary, INSTALL_PATHS.envFile, INSTALL_PATHS.manifest, ...(googleKey ? [INSTALL_PATHS.googleKey] : [])];
  if (binary.previous || previous?.files.includes(INSTALL_PATHS.previousBinary)) files.push(INSTALL_PATHS.previousBinary);
  if (!sys.exists(INSTALL_PATHS.tenantsFile)) sys.write(INSTALL_PATHS.tenantsFile, renderTenantsFile({ companyName: config.companyName }), { mode: 0o640, owner: "root", group: SERVICE_USER });
  if (!tenantsStaged || previous?.files.includes(INSTALL_PATHS.tenantsFile)) files.push(INSTALL_PATHS.tenantsFile);

  const host = answers.get("PUBLIC_HOST") ?? "127.0.0.1";
  const pbx = writePbxConfig(sys, config, host);
  for (const w of pbx.warnings) o.say(`warning: ${w}`);
  const firewall = setUpFirewall(sys, config, previous?.firewall ?? null);
  if (firewall?.backend === "nft") files.push(INSTALL_PATHS.nftFile);
  const unitsChanged = writeUnits(sys, {
    binary: INSTALL_PATHS.binary, configFile: INSTALL_PATHS.envFile, dataDir: INSTALL_PATHS.dataDir,
    drainSec: config.stopDrainSeconds, nftFile: firewall?.backend === "nft" ? INSTALL_PATHS.nftFile : undefined,
  });
  files.push(...unitPaths(), ...pbx.files);

  // From here on, the files as written (doctor reads the env file's permissions, serve's paths).
  const staged = {
    ...(sys.exists(INSTALL_PATHS.tenantsFile) ? { TENANTS_FILE: sys.path(INSTALL_PATHS.tenantsFile) } : {}),
    ...(googleKey ? { GOOGLE_APPLICATION_CREDENTIALS: googleKey } : {}),
  };
  const live = o.dryRun ? config : loadConfig({ config: sys.path(INSTALL_PATHS.envFile), dataDir: sys.path(INSTALL_PATHS.dataDir) }, staged);
  if (o.buildCache && !o.dryRun) {
    for (const tenant of loadTenants(live).all) {
      if (await o.buildCache(live, tenant) !== 0) o.say(`warning: the phrase cache of tenant ${tenant.id} could not be built; serve renders what is missing at start`);
    }
  }
  if (o.root === "/" && !o.dryRun && process.getuid?.() === 0) sys.run(["chown", "-R", `${SERVICE_USER}:${SERVICE_USER}`, INSTALL_PATHS.dataDir]);

  const now = new Date().toISOString();
  writeManifest(sys, {
    version, installedAt: previous?.installedAt || now, updatedAt: now, createdUser: created || previous?.createdUser === true,
    files: [...new Set(files)], dirs: [...new Set([...(previous?.dirs ?? []), ...dirs, ...pbx.files.map((f) => f.slice(0, f.lastIndexOf("/")))])],
    firewall, binary: INSTALL_PATHS.binary,
  });

  const systemd = hasSystemd(sys);
  let started = false;
  if (!systemd) {
    o.say(`systemd is not running as PID 1 here (a container?): the service is not enabled. Run it with:\n  ${INSTALL_PATHS.binary} serve --config ${INSTALL_PATHS.envFile} --data-dir ${INSTALL_PATHS.dataDir}`);
  } else if (o.start) {
    const changed = unitsChanged || envChanged || binary.changed;
    enableAndStart(sys, { restart: changed && before?.active === "active" });
    if (!o.dryRun) {
      const health = await waitForHealth(live, o.healthTimeoutMs ?? 20_000);
      if (!health) throw new InstallError("the service did not answer /healthz after starting: see `journalctl -u voicebot -n 50`, fix, then re-run install");
      started = true;
    }
  }

  const doctor = o.dryRun ? [] : await runDoctor(allChecks({ syntheticCall: started }), { config: live, configError: null, root: o.root, env: o.env });
  if (doctor.length > 0) o.say(formatResults(doctor));
  const port = config.audiosocket.port;
  return {
    dryRun: o.dryRun, changes: [...sys.changes], envChanges, createdUser: created, firewall, systemd, started,
    pbxFiles: pbx.files, pbxSteps: pbx.steps, pbxHost: remotePbx(config), modes: modesOf(config), doctor,
    testCall: config.pbx === "freeswitch"
      ? `${INSTALL_PATHS.binary} simulate --audiostream "ws://127.0.0.1:${config.audiostream.port}/stream/default/test-call?token=<AUDIOSTREAM_TOKEN of voicebot.env>" --playback ${config.audiostreamPlayback}`
      : `${INSTALL_PATHS.binary} simulate --audiosocket 127.0.0.1:${port} --dtmf 1 --dtmf 1`,
  };
}
