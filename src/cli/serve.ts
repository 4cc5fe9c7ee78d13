import { loadConfig } from "../config/load.ts";
import { ConfigError } from "../config/schema.ts";
import { batchLogWrites, rootLogger, setLogLevel } from "../log.ts";
import { parseCommandArgs, type Command } from "./command.ts";
import { startRuntime, type Runtime } from "./serve-runtime.ts";
import { version } from "../version.ts";

const USAGE = `Usage: voicebot serve [options]

Answers calls: Asterisk AudioSocket on TCP, /healthz and /metrics on the admin port.
With no provider key it runs offline: embedded French voice, keypad-driven SAV flow.

Options (each overrides its environment variable, which overrides the config file):
  --config FILE            env file to read      VOICEBOT_CONFIG   (default /etc/voicebot/voicebot.env if present)
  --data-dir DIR           database, recordings, phrase cache
                                                 VOICEBOT_DATA_DIR (default ./data from source)
  --audiosocket HOST:PORT  AudioSocket listener  AUDIOSOCKET_HOST, AUDIOSOCKET_PORT (default 0.0.0.0:9090)
  --audiostream HOST:PORT  mod_audio_stream WebSocket listener
                                                 AUDIOSTREAM_HOST, AUDIOSTREAM_PORT (default 127.0.0.1:8085)
  --asp HOST:PORT          ASP WebSocket listener (PABX Docker media server)
                                                 ASP_HOST, ASP_PORT (default 127.0.0.1:8765)
  --websocket HOST:PORT    Asterisk chan_websocket listener
                                                 WEBSOCKET_HOST, WEBSOCKET_PORT (default 127.0.0.1:8086)
  --http HOST:PORT         admin HTTP listener   HTTP_HOST, HTTP_PORT (default 127.0.0.1:9091)
  --max-calls N            concurrent calls      MAX_CONCURRENT_CALLS (default 20)
  --help                   this text

Other settings (environment or config file): LANGUAGE (fr-FR, en-US, pt-BR), AUDIOSOCKET_ALLOW,
SILENCE_WARNING_TIMEOUT, SILENCE_HANGUP_TIMEOUT, MAX_CALL_DURATION, LOG_LEVEL; for AI mode
DEEPGRAM_API_KEY, GROQ_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY (each missing key keeps its part
offline), their *_BASE_URL, DEEPGRAM_MODEL, LLM_PROVIDER, LLM_FALLBACK, GROQ_MODEL, OPENAI_MODEL,
ANTHROPIC_MODEL, LLM_TTFT_TIMEOUT, TTS_PROVIDER, OPENAI_TTS_MODEL, OPENAI_TTS_VOICE,
DEEPGRAM_TTS_VOICE, API_RETRY_ATTEMPTS, API_TIMEOUT, TECH_HOURS, TZ,
COMPANY_NAME, DEEPGRAM_KEYTERMS, BARGE_IN_MIN_SPEECH, RESAMPLER; for the PBX side
WEBSOCKET_TOKEN, AUDIOSTREAM_TOKEN, ASP_TOKEN, AUDIOSTREAM_PLAYBACK (file, stream), AUDIOSTREAM_RATE, AUDIOSTREAM_MIX,
ESL_HOST, ESL_PORT, ESL_PASSWORD, AMI_HOST, AMI_PORT, AMI_USER, AMI_SECRET, TRANSFER_TARGET,
TENANTS_FILE, UNKNOWN_TENANT, ADMIN_TOKEN, PBX_TOKEN, WHEN_FULL (busy, refuse: a full appliance
refuses new calls so the PBX tries its next one). See README.md.`;

export const serveCommand: Command = {
  name: "serve",
  summary: "answer calls (the service)",
  async run(argv) {
    const args = parseCommandArgs(argv, {
      config: { type: "string" },
      "data-dir": { type: "string" },
      audiosocket: { type: "string" },
      audiostream: { type: "string" },
      asp: { type: "string" },
      websocket: { type: "string" },
      http: { type: "string" },
      "max-calls": { type: "string" },
    }, USAGE);
    if (!args) return 0;
    const v = args.values;
    const config = loadConfig({
      config: v.config, dataDir: v["data-dir"], audiosocket: v.audiosocket,
      audiostream: v.audiostream, asp: v.asp, websocket: v.websocket, http: v.http, maxCalls: v["max-calls"],
    });
    setLogLevel(config.logLevel);
    batchLogWrites();
    const log = rootLogger.child("serve");
    let runtime: Runtime;
    try {
      runtime = await startRuntime(config, log);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      log.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    log.info("listening", {
      version,
      audiosocket: `${runtime.audiosocket.hostname}:${runtime.audiosocket.port}`,
      audiostream: `${runtime.audiostream.hostname}:${runtime.audiostream.port}`,
      asp: `${runtime.asp.hostname}:${runtime.asp.port}`,
      websocket: `${runtime.websocket.hostname}:${runtime.websocket.port}`,
      http: `${runtime.admin.hostname}:${runtime.admin.port}`,
      dataDir: config.dataDir,
      config: config.configFile,
      maxCalls: config.maxCalls,
      language: config.language,
    });

    return await new Promise<number>((resolve) => {
      let signals = 0;
      const onSignal = (signal: string) => {
        if (++signals > 2) {
          log.warn("third signal: exiting without waiting for calls", { signal });
          resolve(1);
          return;
        }
        if (signals === 2) {
          log.warn("second signal: hanging up the live calls now", { signal, activeCalls: runtime.activeCalls });
          runtime.stop().then(() => resolve(0), () => resolve(1));
          return;
        }
        const drainMs = config.stopDrainSeconds * 1000;
        const drained = drainMs > 0 && runtime.activeCalls > 0
          ? (log.info("stopping: taking no new calls, letting live ones finish", { signal, activeCalls: runtime.activeCalls, drainSeconds: config.stopDrainSeconds }), runtime.drain(drainMs))
          : Promise.resolve(true);
        drained.then((all) => {
          log.info(all ? "stopping: flushing recordings" : "stopping: drain time is up, hanging up the remaining calls", { signal, activeCalls: runtime.activeCalls });
          return runtime.stop();
        }).then(() => resolve(0), (err: unknown) => {
          log.error("stop failed", { error: String(err) });
          resolve(1);
        });
      };
      process.on("unhandledRejection", (reason) => log.error("unhandled rejection", { error: reason instanceof Error ? reason.stack ?? reason.message : String(reason) }));
      process.on("SIGTERM", () => onSignal("SIGTERM"));
      process.on("SIGINT", () => onSignal("SIGINT"));
    });
  },
};
