import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallResult, CallSetup, ScriptStep } from "../simulate/caller.ts";
import type { FakeFreeswitch } from "../simulate/fake-freeswitch.ts";
import { failedCount, newOutcomes, redialCallers, type Outcomes } from "../simulate/redial.ts";
import { metricValue, ServerProcess, type Endpoint } from "../simulate/server-process.ts";
import { concatSamples, roundMs, summarize, type Summary } from "../simulate/stats.ts";
import { benchMp3 } from "./bench-mp3.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { runAiBench } from "./bench-ai.ts";
import { parseFault } from "./bench-faults.ts";
import { parsePositiveSeconds, parseRate, parseTarget } from "./simulate.ts";
import { STARTED_ESL_WAIT_MS, defaultStreamPath, parsePlayback, parseStreamRate, startFreeswitch, streamUrlAt, type Playback } from "./simulate-stream.ts";

const USAGE = `Usage: voicebot bench [options]

Keeps N simulated Asterisk calls (or, with --audiostream, FreeSWITCH mod_audio_stream calls) up at
once for S seconds and reports what a caller would notice (greeting delay, frame jitter, pacing
lead) and what the server spent (CPU, memory, underruns). Each virtual caller waits for the menu,
presses 1, waits for the question, presses 1, hears the ticket number and goodbye, is hung up on by
the server, and redials at once.

Options:
  --calls N                simultaneous calls (default 200)
  --seconds S              length of the run (default 60); calls still up then are hung up
  --rate HZ                call rate, 8000 (default) or 16000, ...; with --audiostream 16000
                           (default), 8000, 24000, 32000 or 48000
  --audiostream            FreeSWITCH calls instead: the bench runs a fake FreeSWITCH Event Socket,
                           starts serve with AUDIOSTREAM_PLAYBACK and ESL_* pointing at it, and each
                           caller streams to ws://…/stream/default/<uuid> as mod_audio_stream does
                           (DTMF as ESL events, hung up on by uuid_kill); the report adds the
                           streamAudio arrival jitter, the underruns callers heard and, in file
                           mode, uuid_break after the caller's onset
  --playback MODE          with --audiostream: stream (voxcom-us fork, default) or file (community
                           module: temp files played by uuid_broadcast)
  --audiosocket HOST:PORT  bench a running server instead of starting one (no CPU/RSS figures)
  --http HOST:PORT         that server's admin port, for its underrun count
  --fake-providers         AI conversations instead: serve runs against local fakes of Deepgram,
                           Groq and OpenAI, and the report adds speech end → bot audio,
                           server-added latency and barge-in figures (no key, no internet)
  --stt-delay MS           the fake recognizer's delay, speech end → final (default 150)
  --llm-ttft MS            the fake model's time to first token (default 250)
  --tts-ttfb MS            the fake speech API's time to first byte (default 150)
  --resampler ENGINE       with --fake-providers: the server's RESAMPLER, speex or libsamplerate
  --fault KIND             with --fake-providers: every request to one provider fails, KIND one of
                           stt-stall, stt-500, stt-drop, tts-stall, tts-500, llm-stall (both
                           models), llm-500; each of --calls N (default 10) calls once (hung up
                           after --seconds), speaking or using the keypad as the fallback asks, and
                           the report gives per call the longest silence the caller did not cause,
                           speech end → bot audio and the ticket's status (checked)
  --mp3                    recordings instead: stereo MP3 encoding speed, one worker and the pool
                           (--seconds = length of each test recording)
  --json                   print the figures as one JSON document
  --help                   this text

Without --audiosocket the bench starts \`voicebot serve\` itself on 127.0.0.1 (random ports, a fresh
temporary data dir, an empty config file, --max-calls N+10) and stops it at the end, Ctrl-C included.
Exit status: 0 when every call succeeded, 1 when any failed, 130 after Ctrl-C (figures so far are printed).`;

const OPTIONS = {
  calls: { type: "string" },
  seconds: { type: "string" },
  rate: { type: "string" },
  audiosocket: { type: "string" },
  http: { type: "string" },
  json: { type: "boolean" },
  "fake-providers": { type: "boolean" },
  "stt-delay": { type: "string" },
  "llm-ttft": { type: "string" },
  "tts-ttfb": { type: "string" },
  resampler: { type: "string" },
  fault: { type: "string" },
  audiostream: { type: "boolean" },
  playback: { type: "string" },
  mp3: { type: "boolean" },
} as const;

function delayMs(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 60_000)) throw new UsageError(`${flag} "${value}" is not allowed; give whole milliseconds from 0 to 60000`);
  return n;
}

/** The SAV flow's resolved path: internet problem, the fix works. */
const SCRIPT: readonly ScriptStep[] = [{ dtmf: "1" }, { dtmf: "1" }];
const GREETING_TIMEOUT_MS = 3000;
/** Keys in the shell's environment must not turn the offline bench into a paid cloud run. */
const OFFLINE = { VOICEBOT_DEEPGRAM_API_KEY: "", VOICEBOT_GROQ_API_KEY: "", VOICEBOT_OPENAI_API_KEY: "" };
const RAMP_MS = 2000;
const RSS_SAMPLE_MS = 500;

interface Tally extends Outcomes {
  greetingMs: number[];
  jitter: number[][];
  maxLeadMs: number;
  worstLeadP99Ms: number;
  /** mod_audio_stream stream mode: holes the callers' FreeSWITCH playout had. */
  heardUnderruns: number;
}

/** Why a finished call counts as failed, or null when it went the whole way. */
function failureOf(r: CallResult): string | null {
  if (r.error !== null) return r.error;
  if (r.hungUpBy !== "server") return "the caller hung up";
  if (!r.serverSentHangup) return r.audiostream ? "the server ended the stream without uuid_kill" : "the server closed the connection without 00 00 00";
  const lastDigit = r.actions.findLast((a) => "dtmf" in a);
  if (r.digitsSent !== "11" || lastDigit === undefined) return `the server hung up before the goodbye (digits sent: "${r.digitsSent}")`;
  if (!r.utterances.some((u) => u.startMs > lastDigit.atMs)) return "the server hung up without speaking after the last digit";
  return null;
}

function record(tally: Tally, r: CallResult): void {
  if (r.greetingDelayMs !== null) tally.greetingMs.push(r.greetingDelayMs);
  // Over mod_audio_stream FreeSWITCH plays on its own clock: the server's pacing shows on arrival.
  const paced = r.audiostream ?? r;
  tally.jitter.push(r.audiostream?.arrivalJitterMs ?? r.jitterMs);
  tally.maxLeadMs = Math.max(tally.maxLeadMs, paced.maxLeadMs);
  tally.worstLeadP99Ms = Math.max(tally.worstLeadP99Ms, paced.leadP99Ms);
  tally.heardUnderruns += r.audiostream?.underruns ?? 0;
}

function percent(cpuSeconds: number, wallMs: number): number {
  return Math.round((cpuSeconds / (wallMs / 1000)) * 1000) / 10;
}

/** The started server's mod_audio_stream listener, which /healthz must report. */
function streamListener(server: ServerProcess): Endpoint {
  if (server.audiostream === null) throw new Error("voicebot serve does not report its audiostream listener in /healthz (listeners.audiostream)");
  return server.audiostream;
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const ms = (v: number): string => (Number.isFinite(v) ? `${roundMs(v)} ms` : "-");
const rounded = (s: Summary) => ({ count: s.count, p50: roundMs(s.p50), p99: roundMs(s.p99), max: roundMs(s.max) });

export const benchCommand: Command = {
  name: "bench",
  summary: "many simulated calls at once: latency, jitter, CPU and memory",
  async run(argv) {
    const args = parseCommandArgs(argv, OPTIONS, USAGE);
    if (!args) return 0;
    const v = args.values;
    const calls = v.calls === undefined ? 200 : /^\d+$/.test(v.calls) ? Number(v.calls) : NaN;
    if (!(calls >= 1 && calls <= 5000)) throw new UsageError(`--calls "${v.calls}" is not allowed; give a whole number from 1 to 5000`);
    const seconds = parsePositiveSeconds("--seconds", v.seconds, 60);
    if (v.mp3) return benchMp3({ seconds: Math.ceil(seconds), json: v.json === true });
    if (v.playback !== undefined && v.audiostream !== true) throw new UsageError("--playback only goes with --audiostream");
    const playback: Playback | null = v.audiostream === true ? parsePlayback(v.playback) : null;
    const rate = playback === null ? parseRate(v.rate) : parseStreamRate(v.rate, null);
    const external = v.audiosocket === undefined ? null : parseTarget("--audiosocket", v.audiosocket);
    if (playback !== null && external !== null) throw new UsageError("--audiostream benches a server the bench starts (it runs the fake FreeSWITCH that server uses): it does not go with --audiosocket");
    let http = v.http === undefined ? null : parseTarget("--http", v.http);
    if (http !== null && external === null) throw new UsageError("--http only goes with --audiosocket (a server the bench starts is watched already)");
    const fakes = v["fake-providers"] === true;
    if (fakes && external !== null) throw new UsageError("--fake-providers starts its own server: it does not go with --audiosocket");
    if (!fakes && (v["stt-delay"] ?? v["llm-ttft"] ?? v["tts-ttfb"] ?? v.resampler ?? v.fault) !== undefined) {
      throw new UsageError("--stt-delay, --llm-ttft, --tts-ttfb, --resampler and --fault only go with --fake-providers");
    }
    const fault = parseFault(v.fault);
    if (v.resampler !== undefined && v.resampler !== "speex" && v.resampler !== "libsamplerate") {
      throw new UsageError(`--resampler "${v.resampler}" is not allowed; use speex or libsamplerate`);
    }
    if (fakes) {
      const options = {
        calls: fault !== null && v.calls === undefined ? 10 : calls, seconds, rate, playback, json: v.json === true, fault,
        sttDelayMs: delayMs("--stt-delay", v["stt-delay"], 150),
        llmTtftMs: delayMs("--llm-ttft", v["llm-ttft"], 250),
        ttsTtfbMs: delayMs("--tts-ttfb", v["tts-ttfb"], 150),
        env: v.resampler === undefined ? {} : { VOICEBOT_RESAMPLER: v.resampler } as Record<string, string>,
      };
      const interrupt = new AbortController();
      const onInt = (): void => interrupt.abort();
      process.on("SIGINT", onInt);
      try {
        return await runAiBench({ ...options, signal: interrupt.signal });
      } catch (err) {
        process.stderr.write(`voicebot bench: ${err instanceof Error ? err.message : String(err)}\n`);
        return 1;
      } finally {
        process.off("SIGINT", onInt);
      }
    }

    const stop = new AbortController();
    let interrupted = false;
    let server: ServerProcess | null = null;
    const onSigint = (): void => {
      if (interrupted) {
        server?.kill();
        process.exit(130);
      }
      interrupted = true;
      stop.abort();
    };
    process.on("SIGINT", onSigint);
    const tempDir = external === null ? mkdtempSync(join(tmpdir(), "voicebot-bench-")) : null;
    const tally: Tally = { ...newOutcomes(), greetingMs: [], jitter: [], maxLeadMs: 0, worstLeadP99Ms: 0, heardUnderruns: 0 };
    let serverDied: string | null = null;
    let freeswitch: FakeFreeswitch | null = null;
    let rssSampler: ReturnType<typeof setInterval> | undefined;
    try {
      let target: Endpoint;
      let env: Record<string, string> = OFFLINE;
      if (playback !== null) {
        const started = await startFreeswitch(playback);
        freeswitch = started.freeswitch;
        env = { ...OFFLINE, ...started.env };
      }
      if (tempDir !== null) {
        const configFile = join(tempDir, "bench.env");
        writeFileSync(configFile, "# empty: the bench measures the embedded defaults\n");
        if (!v.json) process.stderr.write("bench: starting voicebot serve and waiting for its phrases...\n");
        server = await ServerProcess.start({ dataDir: join(tempDir, "data"), maxCalls: calls + 10, extraArgs: ["--config", configFile], signal: stop.signal, env });
        target = playback === null ? server.audiosocket : streamListener(server);
        await freeswitch?.waitForVoicebot(STARTED_ESL_WAIT_MS);
        http = server.http;
        const started = server;
        void started.exited.then((code) => {
          if (stop.signal.aborted) return;
          serverDied = `voicebot serve exited with status ${code} during the run\n${started.logTail()}`;
          stop.abort();
        });
      } else target = external as Endpoint;

      const metrics = async (): Promise<string | null> => {
        if (http === null) return null;
        const res = await fetch(`http://${http.host}:${http.port}/metrics`).catch(() => null);
        return res?.ok ? res.text() : null;
      };
      const underrunsBefore = metricValue((await metrics()) ?? "", "voicebot_playout_underruns_total");
      const idle = server?.sample() ?? null;
      let peakRss = idle?.rssBytes ?? 0;
      const proc = server;
      if (proc !== null) rssSampler = setInterval(() => {
        try {
          peakRss = Math.max(peakRss, proc.sample().rssBytes);
        } catch {
          // The process is gone; serverDied reports it.
        }
      }, RSS_SAMPLE_MS);

      if (!v.json) process.stderr.write(`bench: ${calls} calls at a time for ${seconds} s against ${target.host}:${target.port}...\n`);
      const clientCpu = process.cpuUsage();
      const wallStart = performance.now();
      const timer = setTimeout(() => stop.abort(), seconds * 1000);
      const unreachable = await redialCallers({
        calls, rampMs: RAMP_MS, signal: stop.signal, failureOf, onResult: (r) => record(tally, r),
        call: (): CallSetup => {
          const common = { sampleRate: rate, script: SCRIPT, greetingTimeoutMs: GREETING_TIMEOUT_MS };
          if (playback === null) return { ...target, ...common };
          const uuid = crypto.randomUUID();
          return { ...common, uuid, audiostream: { url: streamUrlAt(target, defaultStreamPath(uuid)), playback, freeswitch } };
        },
      }, tally);
      clearTimeout(timer);
      const wallMs = performance.now() - wallStart;
      const clientUsage = process.cpuUsage(clientCpu);
      clearInterval(rssSampler);
      const end = serverDied === null ? server?.sample() ?? null : null;
      const underrunsAfter = metricValue((await metrics()) ?? "", "voicebot_playout_underruns_total");
      if (unreachable !== null) throw new Error(unreachable);

      const failed = failedCount(tally);
      const greeting = summarize(tally.greetingMs);
      const jitter = summarize(concatSamples(tally.jitter));
      const report = {
        calls, seconds, rate, transport: playback === null ? "audiosocket" : `audiostream (${playback} playback)`,
        target: `${target.host}:${target.port}`, serverStartedByBench: server !== null, interrupted,
        completed: tally.completed, failed, cutAtEnd: tally.cutAtEnd, failures: Object.fromEntries(tally.failures),
        greetingDelayMs: rounded(greeting),
        jitterMs: rounded(jitter),
        maxLeadMs: roundMs(tally.maxLeadMs),
        worstLeadP99Ms: roundMs(tally.worstLeadP99Ms),
        underruns: underrunsBefore !== null && underrunsAfter !== null ? underrunsAfter - underrunsBefore : null,
        heardUnderruns: playback === "stream" ? tally.heardUnderruns : null,
        server: idle !== null && end !== null && server !== null ? {
          pid: server.pid,
          listeningAfterMs: roundMs(server.listeningAfterMs),
          phrasesReadyAfterMs: roundMs(server.phrasesReadyAfterMs),
          cpuPercent: percent(end.cpuSeconds - idle.cpuSeconds, wallMs),
          rssIdleBytes: idle.rssBytes,
          rssPeakBytes: peakRss,
          rssPerCallBytes: Math.round((peakRss - idle.rssBytes) / calls),
        } : null,
        client: { cpuPercent: percent((clientUsage.user + clientUsage.system) / 1e6, wallMs) },
        serverError: serverDied,
      };
      if (v.json) printJson(report);
      else {
        const lines = [
          `calls            ${report.completed} completed, ${failed} failed, ${report.cutAtEnd} cut short by the end of the run${interrupted ? " (interrupted)" : ""}`,
          `greeting delay   p50 ${ms(greeting.p50)}, p99 ${ms(greeting.p99)}, max ${ms(greeting.max)} (${greeting.count} calls)`,
        ];
        if (playback !== null) lines.unshift(`transport        mod_audio_stream, ${playback} playback, over a fake FreeSWITCH Event Socket`);
        // File mode sends a file per sentence: there is no frame pacing to judge.
        if (playback !== "file") {
          lines.push(
            `${playback === null ? "frame jitter    " : "streamAudio jitter"} p50 ${ms(jitter.p50)}, p99 ${ms(jitter.p99)} (${jitter.count} ${playback === null ? "frames" : "arrivals"})`,
            `pacing lead      max ${ms(tally.maxLeadMs)}, worst call's p99 ${ms(tally.worstLeadP99Ms)}`,
          );
        }
        lines.push(`underruns        ${report.underruns ?? "- (/metrics could not be read)"}${report.heardUnderruns === null ? "" : ` in the server, ${report.heardUnderruns} heard by the callers (FreeSWITCH's playout ran dry mid-stream)`}`);
        if (report.server) {
          lines.push(
            `server start     listening ${ms(report.server.listeningAfterMs ?? NaN)} after spawn, phrases ready after ${ms(report.server.phrasesReadyAfterMs ?? NaN)}`,
            `server CPU       ${report.server.cpuPercent} % of one core (average over ${(wallMs / 1000).toFixed(1)} s)`,
            `server RSS       idle ${mb(report.server.rssIdleBytes)}, peak ${mb(report.server.rssPeakBytes)}, ${mb(report.server.rssPerCallBytes)} per active call`,
          );
        }
        lines.push(`bench client CPU ${report.client.cpuPercent} % of one core`);
        for (const [reason, count] of tally.failures) lines.push(`failed ×${count}: ${reason}`);
        if (serverDied) lines.push(serverDied);
        process.stdout.write(lines.join("\n") + "\n");
      }
      if (interrupted) return 130;
      return failed > 0 || serverDied !== null ? 1 : 0;
    } catch (err) {
      process.stderr.write(`voicebot bench: ${interrupted ? "interrupted before the calls started" : err instanceof Error ? err.message : String(err)}\n`);
      return interrupted ? 130 : 1;
    } finally {
      clearInterval(rssSampler);
      stop.abort();
      await server?.stop();
      await freeswitch?.stop();
      if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
      process.off("SIGINT", onSigint);
    }
  },
};
