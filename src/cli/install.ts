/** `voicebot install`: the appliance set-up (see src/install/install.ts for the steps). */
import { resolve } from "node:path";
import { setLogLevel } from "../log.ts";
import { install, InstallError, type InstallReport } from "../install/install.ts";
import { InstallCancelled, sayCancelled, sayDone, type KeyCheck, type KeyKind, type PromptIo } from "../install/prompts.ts";
import { probeDeepgram, probeLlm, probeTts } from "../install/provider-probe.ts";
import type { Answers } from "../install/answers.ts";
import { buildTenantCache } from "./cache.ts";
import { DEFAULT_GOOGLE_STT_MODEL, readCredentials } from "../config/load-google.ts";
import { DEFAULT_ANTHROPIC_MODEL } from "../config/load-providers.ts";
import { probeGoogleStt } from "../install/provider-probe-google.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";

const USAGE = `Usage: sudo voicebot install [--yes --answers FILE] [--dry-run] [--root DIR] [options]

Installs this voicebot as a service: the voicebot system user, /usr/local/bin/voicebot (the one
before kept as voicebot.previous), /etc/voicebot/voicebot.env (0640 root:voicebot) and tenants.toml,
/var/lib/voicebot, a hardened systemd unit and a nightly recordings timer, firewall rules (ufw
when active, else an nftables table of its own) opening the call ports to the PBX only, the PBX
configuration in /etc/voicebot/pbx/ with what to paste where, the phrase cache; then starts the
service and runs \`voicebot doctor\`. Re-running keeps every value and secret unless changed, shows
what changed, and adds nothing twice.

Options:
  --yes            no questions: the existing env file, --answers and the defaults
  --answers FILE   KEY=VALUE lines with the env file's names (PBX, AUDIOSOCKET_ALLOW, DEEPGRAM_API_KEY, …)
  --dry-run        print every file it would write and command it would run; change nothing
  --root DIR       install into a staging root (packagers, tests); owners are not set there
  --binary FILE    the executable to install (default: this one)
  --no-start       do not enable and start the service
  --skip-cache     do not build the phrase cache now (serve renders it at its first start)
  --force          install on a host below the minimum (cores, memory, disk)
  --json           a summary as JSON on stdout at the end
  --help           this text`;

function compiledBinary(): string | null {
  return import.meta.path.startsWith("/$bunfs/") ? process.execPath : null;
}

async function checkKey(kind: KeyKind, key: string, answers: Answers): Promise<KeyCheck> {
  const signal = AbortSignal.timeout(8000);
  const base = (name: string) => answers.get(name) || null;
  const p = kind === "google"
    ? await probeGoogleStt({
      credentials: readCredentials({ variable: "GOOGLE_APPLICATION_CREDENTIALS", value: key, source: "answer" }), endpoint: base("GOOGLE_SPEECH_ENDPOINT"),
      model: answers.get("GOOGLE_STT_MODEL") || DEFAULT_GOOGLE_STT_MODEL, language: answers.get("LANGUAGE") || "fr-FR", signal,
    })
    : kind === "deepgram"
    ? await probeDeepgram({ key, baseUrl: base("DEEPGRAM_BASE_URL"), model: answers.get("DEEPGRAM_MODEL") || "nova-3", language: answers.get("LANGUAGE") || "fr-FR", signal })
    : kind === "groq"
      ? await probeLlm({ provider: "groq", key, baseUrl: base("GROQ_BASE_URL"), model: answers.get("GROQ_MODEL") || "llama-3.3-70b-versatile", signal })
      : kind === "anthropic"
        ? await probeLlm({ provider: "anthropic", key, baseUrl: base("ANTHROPIC_BASE_URL"), model: answers.get("ANTHROPIC_MODEL") || DEFAULT_ANTHROPIC_MODEL, signal })
        : await probeTts({ key, baseUrl: base("OPENAI_BASE_URL"), model: answers.get("OPENAI_TTS_MODEL") || "gpt-4o-mini-tts", voice: answers.get("OPENAI_TTS_VOICE") || "nova", signal });
  return { ok: p.ok, detail: p.detail };
}

/** The PBX's side is one file to copy and run; by hand, pbx-config lists each step. */
function pbxScriptLines(script: string, pbxHost: string | null): string[] {
  const kind = script.split("/").at(-2) ?? "asterisk";
  const name = script.slice(script.lastIndexOf("/") + 1);
  const run = pbxHost === null
    ? [`  On this host (the PBX is here), run as root:`, `      sudo sh ${script}`]
    : [`  On the PBX (${pbxHost}): copy this one file there and run it as root:`, `      scp ${script} root@${pbxHost}: && ssh root@${pbxHost} sh ${name}`];
  return [
    ...run,
    `    It backs up what it changes, installs the ${kind} files, reloads, checks, and ends with a test call through the PBX.`,
    `    Again is safe; \`sh ${name} --undo\` reverts. By hand instead: \`voicebot pbx-config ${kind}\` lists each step.`,
  ];
}

export function installSummary(r: InstallReport): string {
  const lines = [
    "",
    r.dryRun ? `Dry run: ${r.changes.length} changes listed above, nothing was changed.` : `Installed (${r.changes.length} changes).`,
    `  modes: ears ${r.modes.stt}; mind ${r.modes.llm}; voice ${r.modes.tts}`,
    `  firewall: ${r.firewall ? r.firewall.backend : "none applied"}`,
    `  service: ${!r.systemd ? "not supervised (no systemd)" : r.started ? "running" : "not started"}`,
  ];
  const scripts = r.pbxFiles.filter((f) => f.endsWith("/apply-on-pbx.sh"));
  if (scripts.length > 0) lines.push(...scripts.flatMap((script) => pbxScriptLines(script, r.pbxHost)));
  else if (r.pbxFiles.length > 0) lines.push(`  PBX configuration in /etc/voicebot/pbx/ — what to paste where:`, ...r.pbxSteps.map((s, i) => `    ${i + 1}. ${s}`));
  lines.push(`  test call: ${r.testCall}`);
  const blocking = r.doctor.filter((d) => d.status === "FAIL");
  if (blocking.length > 0) {
    lines.push(`  still blocking calls (doctor FAIL; fix, then run voicebot doctor):`, ...blocking.map((d) => `    - ${d.id}: ${d.detail}${d.fix ? ` — ${d.fix}` : ""}`));
  }
  return lines.join("\n");
}

export const installCommand: Command = {
  name: "install",
  summary: "install voicebot as a service on this host (user, files, systemd, firewall, PBX config)",
  async run(argv) {
    const parsed = parseCommandArgs(argv, {
      yes: { type: "boolean", short: "y" },
      answers: { type: "string" },
      "dry-run": { type: "boolean" },
      root: { type: "string" },
      binary: { type: "string" },
      "no-start": { type: "boolean" },
      "skip-cache": { type: "boolean" },
      force: { type: "boolean" },
      json: { type: "boolean" },
    }, USAGE);
    if (!parsed) return 0;
    const v = parsed.values;
    const binary = v.binary !== undefined ? resolve(v.binary) : compiledBinary();
    if (binary === null) throw new UsageError("from source there is no executable to install: `npm run build`, then run dist/voicebot install (or give --binary FILE)");
    const interactive = v.yes !== true;
    if (interactive && !process.stdin.isTTY) throw new UsageError("no terminal to ask on: use --yes --answers FILE");
    setLogLevel("warn");
    const io: PromptIo = { checkKey };
    const say = (line: string) => process.stderr.write(`${line}\n`);
    try {
      const report = await install({
        root: v.root !== undefined ? resolve(v.root) : "/", dryRun: v["dry-run"] === true, yes: !interactive,
        answersFile: v.answers !== undefined ? resolve(v.answers) : null, binary, start: v["no-start"] !== true,
        buildCache: v["skip-cache"] === true ? null : buildTenantCache, force: v.force === true, env: process.env, say, prompts: interactive ? io : undefined,
      });
      if (v.json) printJson(report);
      else process.stdout.write(`${installSummary(report)}\n`);
      const blocked = report.doctor.some((d) => d.status === "FAIL");
      if (interactive) sayDone(io, blocked ? "voicebot is installed, but calls are blocked: see \"still blocking calls\" above" : report.dryRun ? "dry run: nothing was changed" : "voicebot is installed");
      return blocked ? 1 : 0;
    } catch (err) {
      if (err instanceof InstallCancelled) {
        sayCancelled(io, err.message);
        return 130;
      }
      if (err instanceof InstallError) {
        process.stderr.write(`voicebot install: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
