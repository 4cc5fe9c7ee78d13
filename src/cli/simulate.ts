import { createEspeakTts, espeakVoiceFor } from "../ai/tts/espeak.ts";
import { rootLogger } from "../log.ts";
import { createResamplerPool } from "../media/resampler-pool.ts";
import type { ResamplerPool } from "../media/resampler.ts";
import { SimulatedCaller, type CallResult, type ScriptStep } from "../simulate/caller.ts";
import { startFakeStack, type FakeStack } from "../simulate/fake-stack.ts";
import { roundMs, summarize } from "../simulate/stats.ts";
import { readWav, toCallRate, WavFormatError, writeWav } from "../simulate/wav.ts";
import { hexByte, kindForRate, uuidFromString } from "../transports/audiosocket-codec.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { synthesizeAll } from "../ai/tts/synthesize-all.ts";

/** --say-over starts this long after the bot started talking. */
const OVER_BOT_AFTER_MS = 1200;

const RATES = "8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000";

const USAGE = `Usage: voicebot simulate --audiosocket HOST:PORT [options]
       voicebot simulate --fake-providers --say "TEXT" [--say "TEXT" ...] [options]

A PBX in a box: dials voicebot over AudioSocket as Asterisk does (UUID first, a 20 ms frame
every 20 ms for the whole call, one 0x03 message per DTMF digit, a TCP close to hang up), then
prints a timeline of what it heard.

Options:
  --audiosocket HOST:PORT  where voicebot listens (required)
  --rate HZ                call rate: 8000 (kind 0x10, default), 16000 (0x12), or ${RATES.replace("8000, ", "").replace("16000, ", "")}
  --uuid UUID              call id, 8-4-4-4-12 hex (default: random)
  --wav FILE               caller audio, a 16-bit PCM WAV (stereo is averaged to mono); repeatable
  --say "TEXT"             caller audio synthesized with eSpeak-NG; repeatable
  --say-over "TEXT"        the same, spoken over the bot 1.2 s after it starts talking (barge-in)
  --fake-providers         start voicebot serve against local fakes of Deepgram, Groq and OpenAI
                           (the fake recognizer hears exactly the --say texts) and call it
  --language LANG          voice for --say: fr-FR (default), en-US, pt-BR
  --dtmf DIGITS[@SECONDS]  keypad digits (0-9 * # A-D), sent 250 ms apart; repeatable
  --seconds S              hang up after S seconds (default 30)
  --record FILE.wav        save what the bot said (at the call rate)
  --json                   print the result as one JSON document
  --help                   this text

A --dtmf with @SECONDS is sent that many seconds after the UUID. Every --wav, --say and --dtmf
without it waits, in command-line order, until the bot has spoken and then been quiet for 0.6 s.
Exit status: 0 when the call connected and ended without a protocol error, 1 when not, 2 for bad options.`;

const OPTIONS = {
  audiosocket: { type: "string" },
  rate: { type: "string" },
  uuid: { type: "string" },
  wav: { type: "string", multiple: true },
  say: { type: "string", multiple: true },
  "say-over": { type: "string", multiple: true },
  "fake-providers": { type: "boolean" },
  language: { type: "string" },
  dtmf: { type: "string", multiple: true },
  seconds: { type: "string" },
  record: { type: "string" },
  json: { type: "boolean" },
} as const;

/** HOST:PORT (or [IPv6]:PORT) for a flag; the error names the flag, the value and the form. */
export function parseTarget(flag: string, value: string | undefined): { host: string; port: number } {
  if (value === undefined) throw new UsageError(`${flag} HOST:PORT is required, e.g. ${flag} 127.0.0.1:9090`);
  const m = /^(?:\[([^\]]+)\]|([^\s:]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`${flag} "${value}" is not HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9090`);
  return { host: (m[1] ?? m[2]) as string, port };
}

export function parseRate(value: string | undefined): number {
  if (value === undefined) return 8000;
  const rate = /^\d+$/.test(value) ? Number(value) : NaN;
  if (kindForRate(rate) === undefined) throw new UsageError(`--rate "${value}" is not an AudioSocket rate; allowed: ${RATES}`);
  return rate;
}

export function parsePositiveSeconds(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 && n <= 86400)) throw new UsageError(`${flag} "${value}" is not allowed; give seconds greater than 0 and at most 86400`);
  return n;
}

function parseDtmf(value: string): { dtmf: string; at?: number } {
  const m = /^([0-9*#A-Da-d]+)(?:@(\d+(?:\.\d+)?))?$/.exec(value);
  if (!m) throw new UsageError(`--dtmf "${value}" is not DIGITS[@SECONDS]: digits from 0-9 * # A-D, then optionally @ and seconds after the UUID, e.g. 1# or 123@4.5`);
  const dtmf = (m[1] as string).toUpperCase();
  return m[2] === undefined ? { dtmf } : { dtmf, at: Number(m[2]) };
}

/** The caller's audio/keypad flags in command-line order (parseArgs groups them by name). */
type CallerFlag = "wav" | "say" | "say-over" | "dtmf";

function orderedFlags(argv: string[]): { flag: CallerFlag; value: string }[] {
  const out: { flag: CallerFlag; value: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    const m = /^--(wav|say-over|say|dtmf)(?:=(.*))?$/s.exec(arg);
    if (!m) continue;
    const value = m[2] ?? argv[++i];
    if (value !== undefined) out.push({ flag: m[1] as CallerFlag, value });
  }
  return out;
}

async function buildScript(argv: string[], rate: number, language: string, pool: () => ResamplerPool): Promise<ScriptStep[]> {
  const flags = orderedFlags(argv);
  const steps: ScriptStep[] = [];
  const texts = flags.filter((f) => f.flag === "say" || f.flag === "say-over");
  const tts = texts.length > 0 ? await createEspeakTts({ voice: espeakVoiceFor(language), log: rootLogger.child("simulate") }) : null;
  try {
    for (const { flag, value } of flags) {
      if (flag === "dtmf") steps.push(parseDtmf(value));
      else if (flag === "wav") {
        let wav;
        try {
          wav = readWav(value);
        } catch (err) {
          if (err instanceof WavFormatError) throw new UsageError(`--wav ${err.message}`);
          throw err;
        }
        steps.push({ say: await toCallRate(wav, rate, pool()) });
      } else if (tts !== null) {
        const samples = await synthesizeAll(tts, value);
        const say = await toCallRate({ sampleRate: tts.sampleRate, samples }, rate, pool());
        steps.push(flag === "say-over" ? { say, overBotAfterMs: OVER_BOT_AFTER_MS } : { say });
      }
    }
  } finally {
    await tts?.close();
  }
  return steps;
}

/** Runs a validator; its error becomes a usage error naming the flag. */
function checked(flag: string, validate: () => unknown): void {
  try {
    validate();
  } catch (err) {
    throw new UsageError(`${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const stamp = (ms: number): string => `+${(ms / 1000).toFixed(3)}s`;

/** The human report: a timeline, then the timing figures. */
function formatTimeline(result: CallResult, target: string, rate: number, hangupAfterS: number): string {
  const lines: string[] = [`call ${result.uuid} to ${target} at ${rate} Hz (kind ${hexByte(kindForRate(rate) as number)})`];
  if (!result.connected) return [...lines, `call failed: ${result.error}`].join("\n");
  const events: { atMs: number; text: string }[] = [{ atMs: 0, text: "caller sent its UUID" }];
  for (const u of result.utterances) events.push({ atMs: u.startMs, text: `bot speaks ${(u.durationMs / 1000).toFixed(2)}s` });
  for (const a of result.actions) {
    events.push({ atMs: a.atMs, text: "dtmf" in a ? `caller presses ${a.dtmf}` : `caller speaks ${(a.sayMs / 1000).toFixed(2)}s` });
  }
  const end =
    result.hungUpBy === "server"
      ? result.serverSentHangup ? "server hung up (00 00 00)" : "server closed the connection (without 00 00 00)"
      : result.hungUpBy === "caller" ? `caller hung up (--seconds ${hangupAfterS})` : `call failed: ${result.error}`;
  events.push({ atMs: result.durationMs, text: end });
  events.sort((a, b) => a.atMs - b.atMs);
  for (const e of events) lines.push(`${stamp(e.atMs).padEnd(10)}${e.text}`);
  const jitter = summarize(result.jitterMs);
  const ms = (v: number | null): string => (v === null || !Number.isFinite(v) ? "-" : `${roundMs(v)} ms`);
  lines.push(
    "",
    `greeting delay  ${result.greetingDelayMs === null ? "none heard" : ms(result.greetingDelayMs)}`,
    `pacing lead     max ${ms(result.maxLeadMs)}, p99 ${ms(result.leadP99Ms)}`,
    `frame jitter    p50 ${ms(jitter.p50)}, p99 ${ms(jitter.p99)}`,
    `frames          ${result.frames} received${result.framesSkipped > 0 ? `, ${result.framesSkipped} not sent (socket busy)` : ""}`,
  );
  if (result.responseMs.length > 0) lines.push(`bot answered    ${result.responseMs.map((v) => ms(v)).join(", ")} after the caller stopped speaking`);
  if (result.bargeInStopMs.length > 0) lines.push(`barge-in        bot silent ${result.bargeInStopMs.map((v) => ms(v)).join(", ")} after the caller started`);
  return lines.join("\n");
}

export const simulateCommand: Command = {
  name: "simulate",
  summary: "dial voicebot as a PBX would and report what it heard",
  async run(argv) {
    const args = parseCommandArgs(argv, OPTIONS, USAGE);
    if (!args) return 0;
    const v = args.values;
    const fakes = v["fake-providers"] === true;
    if (fakes && v.audiosocket !== undefined) throw new UsageError("--fake-providers starts its own voicebot: it does not go with --audiosocket");
    let target = fakes ? { host: "127.0.0.1", port: 1 } : parseTarget("--audiosocket", v.audiosocket);
    const rate = parseRate(v.rate);
    const hangupAfter = parsePositiveSeconds("--seconds", v.seconds, 30);
    const language = v.language ?? "fr-FR";
    checked("--language", () => espeakVoiceFor(language));
    if (v.uuid !== undefined) checked("--uuid", () => uuidFromString(v.uuid as string));
    for (const d of v.dtmf ?? []) parseDtmf(d);

    let pool: ResamplerPool | null = null;
    let script: ScriptStep[];
    try {
      script = await buildScript(argv, rate, language, () => (pool ??= createResamplerPool({ size: 1 })));
    } finally {
      await (pool as ResamplerPool | null)?.close();
    }
    script.push({ hangupAfter });

    let stack: FakeStack | null = null;
    let result: CallResult;
    const caller = (): SimulatedCaller => new SimulatedCaller({ ...target, sampleRate: rate, uuid: v.uuid, script, record: v.record !== undefined });
    let call: SimulatedCaller;
    try {
      if (fakes) {
        const words = orderedFlags(argv).filter((f) => f.flag === "say" || f.flag === "say-over").map((f) => f.value);
        if (!v.json) process.stderr.write("simulate: starting voicebot serve against local fakes...\n");
        stack = await startFakeStack({ sttDelayMs: 150, llmTtftMs: 250, ttsTtfbMs: 150, script: words, maxCalls: 2 });
        target = stack.server.audiosocket;
      }
      call = caller();
      result = await call.run();
    } finally {
      await stack?.stop();
    }
    if (v.record !== undefined && result.connected) writeWav(v.record, call.recording(), rate);
    if (v.json) {
      printJson({ ...result, jitterMs: result.jitterMs.map((j) => Math.round(j * 100) / 100) });
    } else {
      process.stdout.write(formatTimeline(result, `${target.host}:${target.port}`, rate, hangupAfter) + "\n");
      if (v.record !== undefined && result.connected) process.stdout.write(`recording       ${v.record}\n`);
    }
    if (!result.connected || result.hungUpBy === "error") {
      if (v.json) process.stderr.write(`voicebot simulate: ${result.error}\n`);
      return 1;
    }
    return 0;
  },
};
