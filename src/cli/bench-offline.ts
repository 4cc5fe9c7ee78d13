/**
 * `voicebot bench` without providers: N keypad calls against a server it starts (or one running
 * elsewhere), arriving as asked, for a run, once each, or as a soak; the caller-side figures, the
 * server's CPU and memory, and the host's CPU steal beside them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeArrival, type Arrival } from "../simulate/arrival.ts";
import { simulatedPbxClock } from "../simulate/caller.ts";
import type { CallResult, CallSetup, ScriptStep } from "../simulate/call-types.ts";
import { clockLateness, latenessBetween, serverLateness } from "../simulate/clock-figures.ts";
import { CpuWaitWatch } from "../simulate/cpu-wait.ts";
import type { FakeFreeswitch } from "../simulate/fake-freeswitch.ts";
import { hostCpuUse, readHostCpu } from "../simulate/host-cpu.ts";
import { failedCount, newOutcomes, redialCallers } from "../simulate/redial.ts";
import { RssWatch } from "../simulate/rss-watch.ts";
import { metricValue, ServerProcess, type Endpoint } from "../simulate/server-process.ts";
import { roundMs } from "../simulate/stats.ts";
import { formatWebsocket, newWebsocketTally, recordWebsocket, websocketFigures } from "./bench-websocket.ts";
import { ConsoleWatch, consoleEnv, newConsoleToken, type ConsoleFigures } from "./bench-console.ts";
import { callerFigures, formatReport, type AdmissionFigures, newTally, record, type ServerFigures, type SoakFigures } from "./bench-report.ts";
import { KEYPAD_GREETING_TIMEOUT_MS, KEYPAD_SCRIPT, keypadFailureOf, NO_PROVIDER_KEYS } from "./bench-keypad.ts";
import { printJson } from "./command.ts";
import { STARTED_ESL_WAIT_MS, defaultStreamPath, startFreeswitch, streamUrlAt, type Playback } from "./simulate-stream.ts";

export interface OfflineBenchOptions {
  calls: number;
  /** The run's length; with `once` or `soakSeconds`, the cap. */
  seconds: number;
  rate: number;
  arrival: Arrival;
  once: boolean;
  /** A soak of this many seconds: RSS before the first call, at its peak, and after the last. */
  soakSeconds: number | null;
  playback: Playback | null;
  /** Asterisk chan_websocket calls instead (through a model of Asterisk's queue). */
  websocket: boolean;
  /** Each caller hangs up this long into the call (short calls); null = the script runs to the server's goodbye. */
  callSeconds: number | null;
  /** A running server's AudioSocket listener (no CPU/RSS figures), or null to start one. */
  external: Endpoint | null;
  http: Endpoint | null;
  json: boolean;
  /** A console page open on the live view during the calls (bench-console.ts). */
  console: boolean;
}

/** Keys in the shell's environment must not turn the offline bench into a paid cloud run. */
export const RAMP_MS = 2000;
const RSS_SAMPLE_MS = 500;
const RSS_TIMELINE_MS = 60_000;
/** Before the soak's first call and after its last: what the server holds once it is quiet. */
const SOAK_SETTLE_MS = 10_000;
/** How long the soak waits for the server to report its last call ended. */
const SOAK_END_WAIT_MS = 60_000;
/** The first seconds of a run, when a storm's calls all start: their CPU wait is shown apart. */
const RUN_HEAD_MS = 3000;

/** Why a short call (the caller hangs up on purpose) counts as failed, or null when it went as planned. */
function shortCallFailureOf(r: CallResult): string | null {
  if (r.error !== null) return r.error;
  if (r.hungUpBy !== "caller") return r.serverSentHangup ? "the server hung up before the caller did" : "the server closed the connection before the caller hung up";
  return r.greetingDelayMs === null ? "no greeting before the caller hung up" : null;
}

function percent(cpuSeconds: number, wallMs: number): number {
  return Math.round((cpuSeconds / (wallMs / 1000)) * 1000) / 10;
}

/** The started server's chan_websocket listener, which /healthz must report. */
function websocketListener(server: ServerProcess): Endpoint {
  if (server.websocket === null) throw new Error("voicebot serve does not report its chan_websocket listener in /healthz (listeners.websocket)");
  return server.websocket;
}

/** The started server's mod_audio_stream listener, which /healthz must report. */
function streamListener(server: ServerProcess): Endpoint {
  if (server.audiostream === null) throw new Error("voicebot serve does not report its audiostream listener in /healthz (listeners.audiostream)");
  return server.audiostream;
}

async function activeCalls(http: Endpoint): Promise<number | null> {
  try {
    const res = await fetch(`http://${http.host}:${http.port}/healthz`);
    const body = res.ok ? ((await res.json()) as { activeCalls?: unknown }) : {};
    return typeof body.activeCalls === "number" ? body.activeCalls : null;
  } catch {
    return null;
  }
}

/** The server's work of starting calls over the run, from /metrics; null when it does not say. */
function admissionFigures(before: string, after: string): AdmissionFigures | null {
  const work = (t: string): number | null => metricValue(t, "voicebot_admission_work_seconds_total");
  const started = (t: string): number | null => metricValue(t, "voicebot_calls_started_total");
  const [w0, w1, s0, s1] = [work(before), work(after), started(before), started(after)];
  const longest = metricValue(after, "voicebot_admission_longest_slice_seconds");
  if (w0 === null || w1 === null || s0 === null || s1 === null || longest === null || s1 === s0) return null;
  return { msPerCall: Math.round(((w1 - w0) * 1000 * 1000) / (s1 - s0)) / 1000, longestSliceMs: roundMs(longest * 1000) };
}

/** Resolves once the server reports no live call (or the wait is over). */
async function untilIdle(http: Endpoint, waitMs: number): Promise<void> {
  const deadline = performance.now() + waitMs;
  while (performance.now() < deadline && (await activeCalls(http)) !== 0) await Bun.sleep(250);
}

export async function runOfflineBench(o: OfflineBenchOptions): Promise<number> {
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
  const tempDir = o.external === null ? mkdtempSync(join(tmpdir(), "voicebot-bench-")) : null;
  const outcomes = newOutcomes();
  const tally = newTally(outcomes);
  const wsTally = newWebsocketTally();
  let serverDied: string | null = null;
  let freeswitch: FakeFreeswitch | null = null;
  let rss: RssWatch | null = null;
  let watch: ConsoleWatch | null = null;
  let http = o.http;
  try {
    let target: Endpoint;
    const token = newConsoleToken();
    let env: Record<string, string> = o.console ? { ...NO_PROVIDER_KEYS, ...consoleEnv(token) } : { ...NO_PROVIDER_KEYS };
    if (o.playback !== null) {
      const started = await startFreeswitch(o.playback);
      freeswitch = started.freeswitch;
      env = { ...env, ...started.env };
    }
    if (tempDir !== null) {
      const configFile = join(tempDir, "bench.env");
      writeFileSync(configFile, "# empty: the bench measures the embedded defaults\n");
      if (!o.json) process.stderr.write("bench: starting voicebot serve and waiting for its phrases...\n");
      server = await ServerProcess.start({ dataDir: join(tempDir, "data"), maxCalls: o.calls + 10, extraArgs: ["--config", configFile], signal: stop.signal, env });
      target = o.websocket ? websocketListener(server) : o.playback === null ? server.audiosocket : streamListener(server);
      await freeswitch?.waitForVoicebot(STARTED_ESL_WAIT_MS);
      http = server.http;
      const started = server;
      void started.exited.then((code) => {
        if (stop.signal.aborted) return;
        serverDied = `voicebot serve exited with status ${code} during the run\n${started.logTail()}`;
        stop.abort();
      });
    } else target = o.external as Endpoint;

    const metrics = async (): Promise<string | null> => {
      if (http === null) return null;
      const res = await fetch(`http://${http.host}:${http.port}/metrics`).catch(() => null);
      return res?.ok ? res.text() : null;
    };
    if (o.soakSeconds !== null && !o.json) process.stderr.write(`bench: letting the server settle for ${SOAK_SETTLE_MS / 1000} s before the soak...\n`);
    if (o.soakSeconds !== null) await Bun.sleep(SOAK_SETTLE_MS);
    const metricsBefore = (await metrics()) ?? "";
    const underrunsBefore = metricValue(metricsBefore, "voicebot_playout_underruns_total");
    const idle = server?.sample() ?? null;
    const proc = server;
    if (proc !== null && idle !== null) {
      rss = new RssWatch(() => proc.sample(), idle.rssBytes, () => outcomes.dialed - outcomes.ended, RSS_SAMPLE_MS, RSS_TIMELINE_MS);
    }

    const runSeconds = o.soakSeconds ?? o.seconds;
    const how = o.soakSeconds !== null ? `a soak of ${o.soakSeconds} s` : o.once ? `once each (at most ${o.seconds} s)` : `for ${o.seconds} s`;
    if (!o.json) process.stderr.write(`bench: ${o.calls} calls arriving ${describeArrival(o.arrival)}, ${how}, against ${target.host}:${target.port}...\n`);
    if (o.console && http !== null) watch = await ConsoleWatch.start(http, token);
    const hostBefore = readHostCpu();
    const clientCpu = process.cpuUsage();
    const wallStart = performance.now();
    const serverWait = server !== null ? new CpuWaitWatch(server.pid, RUN_HEAD_MS) : null;
    const clientWait = new CpuWaitWatch(process.pid, RUN_HEAD_MS);
    const timer = setTimeout(() => stop.abort(), runSeconds * 1000);
    const clientClock = simulatedPbxClock();
    const script: readonly ScriptStep[] = o.callSeconds === null ? KEYPAD_SCRIPT : [...KEYPAD_SCRIPT, { hangupAfter: o.callSeconds }];
    const unreachable = await redialCallers({
      calls: o.calls, rampMs: RAMP_MS, arrival: o.arrival, once: o.once, clock: clientClock, signal: stop.signal,
      failureOf: o.callSeconds === null ? keypadFailureOf : shortCallFailureOf,
      onResult: (r) => {
        record(tally, r);
        recordWebsocket(wsTally, r);
      },
      call: (): CallSetup => {
        const common = { sampleRate: o.rate, script, greetingTimeoutMs: KEYPAD_GREETING_TIMEOUT_MS };
        if (o.websocket) return { ...common, websocket: { url: `ws://${target.host}:${target.port}/asterisk` } };
        if (o.playback === null) return { ...target, ...common };
        const uuid = crypto.randomUUID();
        return { ...common, uuid, audiostream: { url: streamUrlAt(target, defaultStreamPath(uuid)), playback: o.playback, freeswitch } };
      },
    }, outcomes);
    clearTimeout(timer);
    const consoleFigures: ConsoleFigures | null = (await watch?.stop()) ?? null;
    watch = null;
    const wallMs = performance.now() - wallStart;
    const clientUsage = process.cpuUsage(clientCpu);
    const cpuWait = { server: serverWait?.stop() ?? null, client: clientWait.stop(), headMs: RUN_HEAD_MS };
    const host = hostCpuUse(hostBefore, readHostCpu());
    rss?.stop();
    const end = serverDied === null ? server?.sample() ?? null : null;
    const metricsAfter = (await metrics()) ?? "";
    const underrunsAfter = metricValue(metricsAfter, "voicebot_playout_underruns_total");
    const admission = admissionFigures(metricsBefore, metricsAfter);
    const lateness = { server: latenessBetween(serverLateness(metricsBefore), serverLateness(metricsAfter)), client: clockLateness(clientClock.stats) };
    if (unreachable !== null) throw new Error(unreachable);

    let soak: SoakFigures | null = null;
    if (o.soakSeconds !== null && server !== null && idle !== null && rss !== null && serverDied === null && !interrupted) {
      if (!o.json) process.stderr.write(`bench: soak over; waiting for the server's last call to end, then ${SOAK_SETTLE_MS / 1000} s...\n`);
      await untilIdle(server.http, SOAK_END_WAIT_MS);
      await Bun.sleep(SOAK_SETTLE_MS);
      const after = server.sample().rssBytes;
      soak = {
        seconds: o.soakSeconds, rssStartBytes: idle.rssBytes, rssPeakBytes: rss.peakBytes, rssAfterBytes: after,
        rssGrowthPercent: Math.round(((after - idle.rssBytes) / idle.rssBytes) * 1000) / 10, timeline: rss.timeline,
      };
    }

    const failed = failedCount(outcomes);
    const serverFigures: ServerFigures | null = idle !== null && end !== null && server !== null && rss !== null ? {
      pid: server.pid,
      listeningAfterMs: roundMs(server.listeningAfterMs),
      phrasesReadyAfterMs: roundMs(server.phrasesReadyAfterMs),
      cpuPercent: percent(end.cpuSeconds - idle.cpuSeconds, wallMs),
      rssIdleBytes: idle.rssBytes,
      rssPeakBytes: rss.peakBytes,
      rssPerCallBytes: Math.round((rss.peakBytes - idle.rssBytes) / o.calls),
    } : null;
    const figures = callerFigures(tally);
    const underruns = underrunsBefore !== null && underrunsAfter !== null ? underrunsAfter - underrunsBefore : null;
    const heardUnderruns = o.playback === "stream" ? tally.heardUnderruns : null;
    const clientCpuPercent = percent((clientUsage.user + clientUsage.system) / 1e6, wallMs);
    if (o.json) {
      printJson({
        calls: o.calls, seconds: runSeconds, rate: o.rate, arrival: o.arrival, once: o.once,
        transport: o.websocket ? "websocket" : o.playback === null ? "audiosocket" : `audiostream (${o.playback} playback)`,
        websocket: o.websocket ? websocketFigures(wsTally) : null,
        target: `${target.host}:${target.port}`, serverStartedByBench: server !== null, interrupted,
        completed: outcomes.completed, failed, cutAtEnd: outcomes.cutAtEnd, failures: Object.fromEntries(outcomes.failures),
        ...figures, underruns, heardUnderruns, clockLateness: lateness, cpuWait, admission,
        server: serverFigures, soak,
        client: { cpuPercent: clientCpuPercent }, console: consoleFigures,
        host,
        serverError: serverDied,
      });
    } else {
      if (o.websocket) process.stdout.write(`${formatWebsocket(websocketFigures(wsTally)).join("\n")}\n`);
      process.stdout.write(formatReport({
        calls: o.calls, arrival: describeArrival(o.arrival), once: o.once, playback: o.playback,
        completed: outcomes.completed, failed, cutAtEnd: outcomes.cutAtEnd, interrupted, figures, underruns, heardUnderruns, lateness, cpuWait, admission,
        server: serverFigures, soak, console: consoleFigures, wallMs, clientCpuPercent, host, failures: outcomes.failures, serverError: serverDied,
      }));
    }
    if (interrupted) return 130;
    return failed > 0 || serverDied !== null || (consoleFigures?.failed ?? 0) > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`voicebot bench: ${interrupted ? "interrupted before the calls started" : err instanceof Error ? err.message : String(err)}\n`);
    return interrupted ? 130 : 1;
  } finally {
    rss?.stop();
    await watch?.stop();
    stop.abort();
    await server?.stop();
    await freeswitch?.stop();
    if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
    process.off("SIGINT", onSigint);
  }
}
