/** `voicebot doctor`: is this host ready to answer calls, and if not, what to do about it. */
import { resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { ConfigError, type Config } from "../config/schema.ts";
import { setLogLevel } from "../log.ts";
import { allChecks } from "../install/doctor-checks.ts";
import { DOCTOR_TIMEOUT_MS, doctorExitCode, formatResults, runDoctor, summarize } from "../install/doctor.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";

const USAGE = `Usage: voicebot doctor [--json] [--config FILE] [--data-dir DIR] [--root DIR] [--no-call] [--timeout S]

Checks this host and voicebot's setup, one line per check: PASS, WARN or FAIL, with a one-line fix
for anything not PASS. Exit status 1 when any check FAILs.

Checks: OS, cores, RAM, disk free, clock sync; the config, env file permissions, data dir,
database integrity and migration level, phrase cache, each part's mode; ports (free, or held by
the running voicebot), the systemd unit, the firewall rules; provider keys, models and latency
(Deepgram first result, LLM first token, TTS first byte) against the 1 s turn budget; AMI login
and ESL auth when configured; and a synthetic call to the running service over AudioSocket (and
mod_audio_stream): greeting within 300 ms, at the right rate, paced at real time; with AMI or ESL
configured, a call from the PBX itself into voicebot's extension (registration, greeting, clean end).

Options:
  --config FILE    env file to read    VOICEBOT_CONFIG   (default /etc/voicebot/voicebot.env if present)
  --data-dir DIR   data dir to check   VOICEBOT_DATA_DIR
  --root DIR       a staging root install wrote into (its os-release, manifest, units, firewall file)
  --no-call        skip the synthetic call and the call through the PBX
  --timeout S      overall limit in seconds (default ${DOCTOR_TIMEOUT_MS / 1000}, 13 with a call through the PBX)
  --json           {results: [{id, status, detail, fix?, ms?}], summary} on stdout
  --help           this text`;

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check this host and the setup: PASS/WARN/FAIL per check, with fixes",
  async run(argv) {
    const parsed = parseCommandArgs(argv, {
      config: { type: "string" },
      "data-dir": { type: "string" },
      "no-call": { type: "boolean" },
      root: { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean" },
    }, USAGE);
    if (!parsed) return 0;
    const { values } = parsed;
    let timeoutMs: number | undefined;
    if (values.timeout !== undefined) {
      const s = Number(values.timeout);
      if (!(s >= 1 && s <= 120)) throw new UsageError(`--timeout ${JSON.stringify(values.timeout)}: give seconds from 1 to 120`);
      timeoutMs = s * 1000;
    }
    setLogLevel("error");
    let config: Config | null = null;
    let configError: string | null = null;
    try {
      config = loadConfig({ config: values.config, dataDir: values["data-dir"] });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      configError = err.message;
    }
    const started = performance.now();
    const results = await runDoctor(allChecks({ syntheticCall: values["no-call"] !== true }), { config, configError, root: values.root !== undefined ? resolve(values.root) : "/", env: process.env }, timeoutMs === undefined ? {} : { timeoutMs });
    const seconds = (performance.now() - started) / 1000;
    if (values.json) printJson({ results, summary: { ...summarize(results), seconds: Math.round(seconds * 10) / 10 } });
    else process.stdout.write(`${formatResults(results)} (${seconds.toFixed(1)} s)\n`);
    return doctorExitCode(results);
  },
};
