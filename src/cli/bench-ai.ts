/**
 * `voicebot bench --fake-providers`: many AI conversations at once against local fakes of
 * Deepgram, Groq and OpenAI with fixed delays, the model answering as real ones do (tool calls
 * first, token by token), so what is measured is voicebot's own share of each turn. Every virtual
 * caller reports a broken internet box, cuts the bot off during the fix, gives name and number,
 * confirms the number read back, says it works now, hears the ticket number and goodbye, is hung
 * up on, and redials. Every resolved ticket must carry the name, number and problem said.
 */
import { Database } from "bun:sqlite";
import { readStoredToken } from "../admin/first-run-token.ts";
import { DATABASE_FILE } from "../store/db.ts";
import { join } from "node:path";
import { createEspeakTts, espeakVoiceFor } from "../ai/tts/espeak.ts";
import { rootLogger } from "../log.ts";
import { EARLY_FINALIZE_MS } from "../call/early-finalize.ts";
import { createResamplerPool } from "../media/resampler-pool.ts";
import type { CallResult, CallSetup, ScriptStep } from "../simulate/call-types.ts";
import type { FakeFreeswitch } from "../simulate/fake-freeswitch.ts";
import { failedCount, newOutcomes, redialCallers, type Outcomes } from "../simulate/redial.ts";
import { startFakeStack, type FakeStack } from "../simulate/fake-stack.ts";
import { metricValue } from "../simulate/server-process.ts";
import { concatSamples, roundMs, summarize, type Summary } from "../simulate/stats.ts";
import { toCallRate } from "../simulate/wav.ts";
import { synthesizeAll } from "../ai/tts/synthesize-all.ts";
import { formatWebsocket, newWebsocketTally, recordWebsocket, websocketFigures } from "./bench-websocket.ts";
import { ConsoleWatch, consoleEnv, formatConsoleFigures, newConsoleToken } from "./bench-console.ts";
import { runFaultBench, type FaultKind } from "./bench-faults.ts";
import { STARTED_ESL_WAIT_MS, defaultStreamPath, startFreeswitch, streamUrlAt, type Playback } from "./simulate-stream.ts";

export interface AiBenchOptions {
  calls: number;
  seconds: number;
  rate: number;
  /** mod_audio_stream calls in this playback mode, through a fake FreeSWITCH; null = AudioSocket. */
  playback: Playback | null;
  /** The console's test call instead (WebSocket on the admin port, 16 kHz), the bench acting as the page. */
  browser: boolean;
  /** ASP calls instead, the bench acting as the PABX Docker media server. */
  asp: boolean;
  /** With `asp`: the media server's AUDIO_SEND_BUFFER_MAX. */
  aspChunk: number;
  /** Asterisk chan_websocket calls instead (through a model of Asterisk's queue). */
  websocket: boolean;
  sttDelayMs: number;
  llmTtftMs: number;
  ttsTtfbMs: number;
  /** The fake model's token rate. */
  llmTokensPerSecond: number;
  /** The main model (the other chat fake behind it) and the voice, each against its fake. */
  providers: { llm: "groq" | "anthropic"; tts: "openai" | "deepgram" | "google"; stt: "deepgram" | "google" };
  json: boolean;
  signal: AbortSignal;
  /** Server settings (VOICEBOT_ names), e.g. the resampler engine to compare. */
  env: Readonly<Record<string, string>>;
  /** Every request to one provider fails this way: each caller calls once (bench-faults.ts). */
  fault: FaultKind | null;
  /** A console page open on the live view during the calls (bench-console.ts). */
  console: boolean;
}

/**
 * What each caller says, in order: `heard` is what the fake recognizer returns, `spoken` what the
 * caller's audio says (eSpeak). The audio is chosen so that no pause inside it (eSpeak's at 8 kHz:
 * at most 80 ms) ends an utterance for the fake's 120 ms endpointing: no commas, no digits read
 * one by one, no "box" (its /ks/ fades out below the telephone band for 120 ms).
 */
interface Utterance {
  heard: string;
  spoken: string;
}
const said = (text: string): Utterance => ({ heard: text, spoken: text });
const PROBLEM = said("Bonjour mon internet ne marche plus.");
const OVER_THE_FIX = said("Attendez je la débranche tout de suite.");
const IDENTITY: Utterance = { heard: "Je m'appelle Pierre Dupont, mon numéro est le 06 12 34 56 78.", spoken: "Je m'appelle Pierre Dupont et voici mon numéro de rappel." };
const CONFIRM = said("Oui c'est bien ça.");
const WORKS = said("Voilà ça marche maintenant merci.");
const CONVERSATION = [PROBLEM, OVER_THE_FIX, IDENTITY, CONFIRM, WORKS] as const;
/** The fault bench's shorter call: each of its turns meets the fault. */
const FAULT_CONVERSATION = [PROBLEM, OVER_THE_FIX, WORKS] as const;
/** Turns answered by the model's own words; the last is answered by end_call, then the fixed goodbye. */
const WORDED_TURNS = CONVERSATION.length - 1;
/** The second utterance is spoken over the bot's fix, this long after it starts. */
const BARGE_IN_AFTER_MS = 1200;
const GREETING_TIMEOUT_MS = 5000;
/**
 * Calls start spread over RAMP_MS, and each caller takes its own time to answer (QUIET_MS_MIN to
 * QUIET_MS_MAX after the bot goes quiet, as people do): without both, 200 identical conversations
 * stay in lockstep and ask for 200 replies in the same second, which no real line does.
 */
const RAMP_MS = 10_000;
const QUIET_MS_MIN = 600;
const QUIET_MS_MAX = 1800;

interface AiTally extends Outcomes {
  responseMs: number[][];
  bargeInStopMs: number[][];
  /** File mode: caller onset → `uuid_break` received. */
  breakAfterOnsetMs: number[][];
  jitter: number[][];
  maxLeadMs: number;
  heardUnderruns: number;
}

async function callerAudio(rate: number, utterances: readonly Utterance[]): Promise<Int16Array[]> {
  const tts = await createEspeakTts({ voice: espeakVoiceFor("fr-FR"), log: rootLogger.child("bench") });
  const pool = createResamplerPool({ size: 1 });
  try {
    const out: Int16Array[] = [];
    for (const { spoken } of utterances) {
      const samples = await synthesizeAll(tts, spoken);
      out.push(await toCallRate({ sampleRate: tts.sampleRate, samples }, rate, pool));
    }
    return out;
  } finally {
    await tts.close();
    await pool.close();
  }
}

function failureOf(r: CallResult): string | null {
  if (r.error !== null) return r.error;
  if (r.hungUpBy !== "server") return "the caller hung up (the conversation did not finish in time)";
  if (!r.serverSentHangup) return r.audiostream ? "the server ended the stream without uuid_kill" : r.websocket ? "the server closed the connection without HANGUP" : "the server closed the connection without 00 00 00";
  if (r.actions.length < CONVERSATION.length) return `the server hung up after ${r.actions.length} of ${CONVERSATION.length} caller utterances`;
  if (r.bargeInStopMs.length === 0) return "the bot was not cut off when the caller spoke over it";
  return null;
}

/**
 * Server-added latency per answered turn, from the stamps the server stored: the first reply
 * frame out minus the reply's first TTS bytes in (resampling, queueing, pacing). The other part
 * of the server's share, final transcript → model request, runs synchronously in one task.
 */
function serverAddedMs(dataDir: string): number[] {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const rows = db.query<{ added: number }, []>(`
      SELECT b.first_frame_at - b.tts_first_byte_at AS added
      FROM turns c JOIN turns b ON b.id = (
        SELECT id FROM turns WHERE call_id = c.call_id AND speaker = 'bot' AND started_at >= c.stt_final_at ORDER BY started_at, id LIMIT 1)
      WHERE c.speaker = 'caller' AND c.stt_final_at IS NOT NULL AND b.tts_first_byte_at IS NOT NULL AND b.first_frame_at IS NOT NULL`).all();
    return rows.map((r) => r.added);
  } finally {
    db.close();
  }
}

/** Resolved tickets, and those carrying the name, number and problem the caller gave. */
function ticketFacts(dataDir: string): { resolved: number; complete: number } {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const row = db.query<{ resolved: number; complete: number | null }, [string, string]>(`
      SELECT COUNT(*) AS resolved, SUM(customer = ? AND phone = ? AND problem_type = 'internet') AS complete
      FROM tickets WHERE status = 'resolved'`).get("Pierre Dupont", "0612345678");
    return { resolved: row?.resolved ?? 0, complete: row?.complete ?? 0 };
  } finally {
    db.close();
  }
}

/** Each call's response times of turn `i` (a call cut short has fewer). */
const turnSamples = (perCall: readonly number[][], from: number, to: number): number[][] => perCall.map((turns) => turns.slice(from, to));

const ms = (v: number): string => (Number.isFinite(v) ? `${roundMs(v)} ms` : "-");
const rounded = (s: Summary) => ({ count: s.count, p50: roundMs(s.p50), p99: roundMs(s.p99), max: roundMs(s.max) });

/** Runs the AI bench; returns the exit status. */
export async function runAiBench(o: AiBenchOptions): Promise<number> {
  const say = (line: string): void => {
    if (!o.json) process.stderr.write(`bench: ${line}\n`);
  };
  say("synthesizing the callers' words and starting voicebot serve against local fakes...");
  const conversation = o.fault === null ? CONVERSATION : FAULT_CONVERSATION;
  const audio = await callerAudio(o.rate, conversation);
  let stack: FakeStack | null = null;
  let freeswitch: FakeFreeswitch | null = null;
  let watch: ConsoleWatch | null = null;
  const wsTally = newWebsocketTally();
  const tally: AiTally = { ...newOutcomes(), responseMs: [], bargeInStopMs: [], breakAfterOnsetMs: [], jitter: [], maxLeadMs: 0, heardUnderruns: 0 };
  try {
    const token = newConsoleToken();
    let env = o.console ? { ...o.env, ...consoleEnv(token) } : o.env;
    if (o.playback !== null) {
      const started = await startFreeswitch(o.playback);
      freeswitch = started.freeswitch;
      env = { ...env, ...started.env };
    }
    stack = await startFakeStack({
      sttDelayMs: o.sttDelayMs, llmTtftMs: o.llmTtftMs, ttsTtfbMs: o.ttsTtfbMs, llmTokensPerSecond: o.llmTokensPerSecond, llm: o.providers.llm, tts: o.providers.tts, stt: o.providers.stt,
      script: conversation.map((u) => u.heard), maxCalls: o.calls + 10, signal: o.signal, env,
    });
    const server = stack.server;
    const listener = server.audiostream;
    const websocket = server.websocket;
    if (o.websocket && websocket === null) throw new Error("voicebot serve does not report its chan_websocket listener in /healthz (listeners.websocket)");
    if (o.playback !== null && listener === null) throw new Error("voicebot serve does not report its audiostream listener in /healthz (listeners.audiostream)");
    await freeswitch?.waitForVoicebot(STARTED_ESL_WAIT_MS);
    // Without --console the server has no ADMIN_TOKEN: the console's first-run token opens the test call.
    const browserToken = !o.browser ? null : o.console ? token : readStoredToken(stack.dataDir);
    const target = (common: { script: ScriptStep[]; greetingTimeoutMs: number; quietMs?: number }): CallSetup => {
      const base = { ...common, sampleRate: o.rate };
      if (o.websocket && websocket !== null) return { ...base, websocket: { url: `ws://${websocket.host}:${websocket.port}/asterisk` } };
      if (o.browser) return { ...base, browser: { admin: `http://${server.http.host}:${server.http.port}`, token: browserToken } };
      if (o.asp) {
        if (server.asp === null) throw new Error("voicebot serve does not report its ASP listener in /healthz (listeners.asp)");
        return { ...base, asp: { url: `ws://${server.asp.host}:${server.asp.port}/`, chunkBytes: o.aspChunk } };
      }
      if (o.playback === null || listener === null) return { ...server.audiosocket, ...base };
      const uuid = crypto.randomUUID();
      return { ...base, uuid, audiostream: { url: streamUrlAt(listener, defaultStreamPath(uuid)), playback: o.playback, freeswitch } };
    };
    if (o.fault !== null) return await runFaultBench({ fault: o.fault, calls: o.calls, seconds: o.seconds, json: o.json, signal: o.signal, audio, stack, setup: target });
    const metrics = async (): Promise<string> => (await fetch(`http://${server.http.host}:${server.http.port}/metrics`).then((r) => r.text()).catch(() => ""));
    const before = metricValue(await metrics(), "voicebot_playout_underruns_total");
    const idle = server.sample();
    say(`${o.calls} conversations at a time for ${o.seconds} s (STT ${o.sttDelayMs} ms, LLM first token ${o.llmTtftMs} ms, TTS first byte ${o.ttsTtfbMs} ms)...`);
    if (o.console) watch = await ConsoleWatch.start(server.http, token);
    const started = performance.now();
    const stop = AbortSignal.any([o.signal, AbortSignal.timeout(o.seconds * 1000)]);
    const script: ScriptStep[] = audio.map((say, i) => (conversation[i] === OVER_THE_FIX ? { say, overBotAfterMs: BARGE_IN_AFTER_MS } : { say }));
    const unreachable = await redialCallers({
      calls: o.calls, rampMs: RAMP_MS, signal: stop, failureOf,
      call: (): CallSetup => target({ script, greetingTimeoutMs: GREETING_TIMEOUT_MS, quietMs: QUIET_MS_MIN + Math.random() * (QUIET_MS_MAX - QUIET_MS_MIN) }),
      onResult: (r) => {
        tally.responseMs.push(r.responseMs);
        tally.bargeInStopMs.push(r.bargeInStopMs);
        tally.breakAfterOnsetMs.push(r.breakAfterOnsetMs);
        // Over mod_audio_stream FreeSWITCH plays on its own clock: the server's pacing shows on arrival.
        tally.jitter.push(r.audiostream?.arrivalJitterMs ?? r.jitterMs);
        tally.maxLeadMs = Math.max(tally.maxLeadMs, (r.audiostream ?? r).maxLeadMs);
        tally.heardUnderruns += r.audiostream?.underruns ?? 0;
        recordWebsocket(wsTally, r);
      },
    }, tally);
    const consoleFigures = (await watch?.stop()) ?? null;
    watch = null;
    const wallMs = performance.now() - started;
    const end = server.sample();
    const after = metricValue(await metrics(), "voicebot_playout_underruns_total");
    if (unreachable !== null) throw new Error(unreachable);

    const tickets = ticketFacts(stack.dataDir);
    const failed = failedCount(tally) + (tickets.resolved - tickets.complete);
    const response = summarize(concatSamples(turnSamples(tally.responseMs, 0, WORDED_TURNS)));
    const goodbye = summarize(concatSamples(turnSamples(tally.responseMs, WORDED_TURNS, WORDED_TURNS + 1)));
    const perTurn = conversation.map((_, i) => rounded(summarize(concatSamples(turnSamples(tally.responseMs, i, i + 1)))));
    const bargeIn = summarize(concatSamples(tally.bargeInStopMs));
    const added = summarize(serverAddedMs(stack.dataDir));
    const jitter = summarize(concatSamples(tally.jitter));
    const breakAfterOnset = summarize(concatSamples(tally.breakAfterOnsetMs));
    const report = {
      calls: o.calls, seconds: o.seconds, rate: o.rate,
      transport: o.websocket ? "websocket" : o.browser ? "browser (the console's test call)" : o.asp ? `asp (the bench as the PABX Docker media server, ${o.aspChunk}-byte caller chunks)` : o.playback === null ? "audiosocket" : `audiostream (${o.playback} playback)`,
      providers: o.providers,
      providerDelaysMs: { stt: o.sttDelayMs, llmFirstToken: o.llmTtftMs, ttsFirstByte: o.ttsTtfbMs },
      llmTokensPerSecond: o.llmTokensPerSecond,
      completed: tally.completed, failed, cutAtEnd: tally.cutAtEnd, failures: Object.fromEntries(tally.failures),
      speechEndToBotAudioMs: rounded(response),
      speechEndToGoodbyeMs: rounded(goodbye),
      perTurnMs: perTurn,
      tickets,
      serverAddedMs: rounded(added),
      bargeInStopMs: rounded(bargeIn),
      breakAfterOnsetMs: o.playback === "file" ? rounded(breakAfterOnset) : null,
      underruns: before !== null && after !== null ? after - before : null,
      heardUnderruns: o.playback === "stream" ? tally.heardUnderruns : null,
      jitterMs: rounded(jitter),
      maxLeadMs: roundMs(tally.maxLeadMs),
      serverCpuPercent: Math.round(((end.cpuSeconds - idle.cpuSeconds) / (wallMs / 1000)) * 1000) / 10,
      serverRssPeakBytes: end.rssBytes,
      console: consoleFigures,
      websocket: o.websocket ? websocketFigures(wsTally) : null,
    };
    if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const lines = [
        `providers        ${o.providers.stt} STT, ${o.providers.llm} LLM, ${o.providers.tts} TTS (local fakes)`,
        `conversations    ${report.completed} completed, ${failed} failed, ${report.cutAtEnd} cut short by the end of the run`,
        `speech end → bot audio  p50 ${ms(response.p50)}, p99 ${ms(response.p99)} (${response.count} turns answered by the model's words; the providers' delays add up to ${o.sttDelayMs + o.llmTtftMs + o.ttsTtfbMs} ms; the final is asked for after ${EARLY_FINALIZE_MS} ms of quiet)`,
        `per turn         ${perTurn.map((t, i) => `${i + 1}: p50 ${t.p50} / p99 ${t.p99}`).join(", ")} ms (turn ${WORDED_TURNS + 1}: end_call, then the fixed goodbye)`,
        `tickets          ${tickets.complete} of ${tickets.resolved} resolved tickets carry the caller's name, number and problem`,
        `server-added     p50 ${ms(added.p50)}, p99 ${ms(added.p99)}, max ${ms(added.max)} (first TTS bytes → first frame out)`,
        `barge-in stop    p50 ${ms(bargeIn.p50)}, p99 ${ms(bargeIn.p99)} (caller speech onset → bot silent; includes BARGE_IN_MIN_SPEECH)`,
        `underruns        ${report.underruns ?? "-"}${report.heardUnderruns === null ? "" : ` in the server, ${report.heardUnderruns} heard by the callers (FreeSWITCH's playout ran dry mid-stream)`}`,
        `server           ${report.serverCpuPercent} % of one core, RSS ${(end.rssBytes / 1048576).toFixed(1)} MB at the end`,
      ];
      // File mode sends a file per sentence: there is no frame pacing to judge.
      if (o.playback !== "file") lines.splice(lines.length - 1, 0, `${o.playback === null ? "frame jitter    " : "streamAudio jitter"} p50 ${ms(jitter.p50)}, p99 ${ms(jitter.p99)}; pacing lead max ${ms(tally.maxLeadMs)}`);
      if (o.playback !== null) lines.unshift(`transport        mod_audio_stream, ${o.playback} playback, over a fake FreeSWITCH Event Socket`);
      if (o.asp) lines.unshift(`transport        ASP, the bench as the PABX Docker media server (caller audio in ${o.aspChunk}-byte messages; bot audio timed on arrival)`);
      if (o.browser) lines.unshift("transport        the console's test call: WebSocket on the admin port, the bench as the page (bot audio timed on arrival, before the page's 40 ms jitter buffer)");
      if (o.playback === "file") lines.push(`uuid_break       p50 ${ms(breakAfterOnset.p50)}, p99 ${ms(breakAfterOnset.p99)} after the caller's speech onset (${breakAfterOnset.count} barge-ins)`);
      if (report.websocket !== null) lines.unshift(...formatWebsocket(report.websocket));
      if (consoleFigures) lines.push(...formatConsoleFigures(consoleFigures));
      for (const [reason, count] of tally.failures) lines.push(`failed ×${count}: ${reason}`);
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    return failed > 0 || (consoleFigures?.failed ?? 0) > 0 ? 1 : 0;
  } finally {
    await watch?.stop();
    await stack?.stop();
    await freeswitch?.stop();
  }
}
