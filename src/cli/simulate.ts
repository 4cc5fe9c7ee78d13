import { createEspeakTts, espeakVoiceFor } from "../ai/tts/espeak.ts";
import { rootLogger } from "../log.ts";
import { createResamplerPool } from "../media/resampler-pool.ts";
import type { ResamplerPool } from "../media/resampler.ts";
import { SimulatedCaller } from "../simulate/caller.ts";
import type { CallResult, CallTarget, ScriptStep } from "../simulate/call-types.ts";
import type { FakeFreeswitch } from "../simulate/fake-freeswitch.ts";
import { startFakeStack, type FakeStack } from "../simulate/fake-stack.ts";
import { readWav, toCallRate, WavFormatError, writeWav } from "../simulate/wav.ts";
import { ASP_RATES } from "../transports/asp-negotiate.ts";
import { isStreamId } from "../transports/audiostream-url.ts";
import { kindForRate, uuidFromString } from "../transports/audiosocket-codec.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { parseFleetNodes, runFleetCall } from "./simulate-fleet.ts";
import { formatTimeline } from "./simulate-report.ts";
import {
  EXTERNAL_ESL_WAIT_MS, STARTED_ESL_WAIT_MS, parseEslPort, parsePlayback, parseStreamFlag, parseStreamRate, startFreeswitch, streamUrlAt,
  type Playback, type StreamFlag,
} from "./simulate-stream.ts";
import { synthesizeAll } from "../ai/tts/synthesize-all.ts";

/** --say-over starts this long after the bot started talking. */
const OVER_BOT_AFTER_MS = 1200;

const RATES = "8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000";

const USAGE = `Usage: voicebot simulate --audiosocket HOST:PORT [options]
       voicebot simulate --audiostream ws://HOST:PORT/stream/TENANT/CALL [--playback stream|file] [--esl-port N] [options]
       voicebot simulate --fake-providers [--audiostream /stream/TENANT] --say "TEXT" [--say "TEXT" ...] [options]
       voicebot simulate --browser HOST:PORT [options]   (ADMIN_TOKEN in the environment)
       voicebot simulate --asp HOST:PORT[/TENANT] [options]   (ASP_TOKEN in the environment if set)
       voicebot simulate --websocket HOST:PORT [options]  (WEBSOCKET_TOKEN in the environment, if set)
       voicebot simulate --node HOST:PORT[/ADMIN_PORT] [--node …] [--admin-port N] [options]  (PBX_TOKEN or ADMIN_TOKEN in the environment)

A PBX in a box: dials voicebot, then prints a timeline of what it heard.
- Over AudioSocket it behaves as Asterisk does: UUID first, a 20 ms frame every 20 ms for the whole
  call, one 0x03 message per DTMF digit, a TCP close to hang up.
- Over mod_audio_stream it behaves as FreeSWITCH does: a WebSocket to the stream URL (?rate= added),
  the metadata {"caller","dnis","uuid"} as the first text frame, a binary 20 ms frame every 20 ms,
  close 1000 "Normal closure" to hang up. DTMF never goes on the socket: it is an ESL DTMF event from
  a fake FreeSWITCH Event Socket that voicebot must be logged in to (--esl-port).
- With --browser it is the console's test call, as the page places it: a WebSocket to the admin
  port's /api/try-call with the console token (ADMIN_TOKEN, or the first-run token, from the
  environment), 16 kHz frames every 20 ms, digits as {"type":"dtmf"} text, a close to hang up.
- With --asp it is the PABX Docker media server: protocol.capabilities awaited, session.start, no
  caller audio before the greeting's response.end, then 1600-byte chunks with the 12-byte ASP header
  (none while the bot speaks unless the caller barges in), audio.end after 500 ms of quiet, and
  session.end to hang up. ASP carries no DTMF.
- With --websocket it is Asterisk's chan_websocket (Dial(WebSocket/voicebot/c(slin16))): a WebSocket
  to /asterisk with subprotocol media, MEDIA_START first, 20 ms frames, DTMF_END per digit, a bare
  close to hang up; the bot's audio goes through a model of Asterisk's queue (whole frames only, played
  one per 20 ms, XOFF at 900 frames, FLUSH_MEDIA stops it within a frame).

Options:
  --audiosocket HOST:PORT  where voicebot listens for Asterisk
  --audiostream URL        where voicebot listens for FreeSWITCH; CALL (FreeSWITCH's \${uuid}) is the
                           call id; with --fake-providers give only the path
  --browser HOST:PORT      voicebot's admin port: place the console's test call (16 kHz)
  --asp HOST:PORT[/TENANT] voicebot's ASP listener (ASP_HOST/ASP_PORT): call as the media server
  --websocket HOST:PORT    where voicebot listens for Asterisk chan_websocket (WEBSOCKET_PORT)
  --node HOST:PORT[/ADMIN_PORT]
                           an appliance behind the PBX (AudioSocket port, admin port); repeat it: the
                           call is registered with each in turn, as pbx-config asterisk --node renders
                           it, until one takes it ("full" or unreachable ones are passed over), then
                           streamed there; the JSON adds node, attempts and next (--record not allowed)
  --admin-port N           the admin port of every --node without its own (default 9091)
  --playback MODE          how the bot's streamAudio is played (default stream):
                           stream  the voxcom-us fork: raw audio is played as it arrives
                           file    the community module: each message becomes a temp file and a
                                   mod_audio_stream::play event; only uuid_broadcast plays it,
                                   uuid_break stops it (needs --esl-port)
  --esl-port N             run the fake FreeSWITCH Event Socket on 127.0.0.1:N (password ClueCon);
                           voicebot must run with ESL_HOST=127.0.0.1 ESL_PORT=N. It carries DTMF,
                           file playback, uuid_kill and uuid_transfer
  --rate HZ                call rate. AudioSocket: 8000 (kind 0x10, default), 16000 (0x12), or
                           ${RATES.replace("8000, ", "").replace("16000, ", "")};
                           mod_audio_stream and chan_websocket: 16000 (default), 8000, 24000, 32000, 48000;
                           ASP: 8000 (default, the media server's own), 16000, 24000, 48000
  --uuid UUID              call id (default: the URL's CALL, else random)
  --wav FILE               caller audio, a 16-bit PCM WAV (stereo is averaged to mono); repeatable
  --say "TEXT"             caller audio synthesized with eSpeak-NG; repeatable
  --say-over "TEXT"        the same, spoken over the bot 1.2 s after it starts talking (barge-in)
  --fake-providers         start voicebot serve against local fakes of Deepgram, Groq and OpenAI
                           (the fake recognizer hears exactly the --say texts) and call it; with
                           --audiostream it also runs the fake FreeSWITCH and points serve at it
  --language LANG          voice for --say: fr-FR (default), en-US, pt-BR
  --dtmf DIGITS[@SECONDS]  keypad digits (0-9 * # A-D), sent 250 ms apart; repeatable
  --inband-dtmf            play the digits as keypad tones (100 ms) in the caller's audio instead
                           of the wire's DTMF (AudioSocket 0x03, ESL DTMF events): what a PBX that
                           leaves digits in-band sends; with --audiostream it needs no --esl-port
  --seconds S              hang up after S seconds (default 30)
  --record FILE.wav        save what the caller heard (at the call rate)
  --json                   print the result as one JSON document
  --help                   this text

A --dtmf with @SECONDS is sent that many seconds after the call starts. Every --wav, --say and --dtmf
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
  "inband-dtmf": { type: "boolean" },
  seconds: { type: "string" },
  record: { type: "string" },
  json: { type: "boolean" },
  audiostream: { type: "string" },
  playback: { type: "string" },
  "esl-port": { type: "string" },
  browser: { type: "string" },
  asp: { type: "string" },
  websocket: { type: "string" },
  node: { type: "string", multiple: true },
  "admin-port": { type: "string" },
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

/** The PBX link asked for on the command line, checked before anything starts. */
type Link =
  | { kind: "audiosocket"; endpoint: { host: string; port: number } | null }
  | { kind: "audiostream"; flag: StreamFlag; playback: Playback; eslPort: number | null }
  | { kind: "browser"; endpoint: { host: string; port: number }; token: string }
  | { kind: "asp"; url: string }
  | { kind: "websocket"; endpoint: { host: string; port: number }; token: string | undefined };

function parseLink(v: { audiosocket?: string; audiostream?: string; playback?: string; "esl-port"?: string; browser?: string; asp?: string; websocket?: string; uuid?: string }, fakes: boolean): Link {
  if ([v.audiosocket, v.audiostream, v.browser, v.asp, v.websocket].filter((t) => t !== undefined).length > 1) {
    throw new UsageError("--audiosocket (Asterisk), --audiostream (FreeSWITCH), --websocket (Asterisk chan_websocket), --browser (the console's test call) and --asp (the PABX Docker media server) are five ways in: give one");
  }
  if (v.asp !== undefined) {
    if (fakes) throw new UsageError("--asp calls a running voicebot; against the local fakes use bench --fake-providers --asp");
    return { kind: "asp", url: aspUrl(v.asp) };
  }
  if (v.websocket !== undefined) {
    if (fakes) throw new UsageError("--websocket calls a running voicebot; against the local fakes use bench --fake-providers --websocket");
    const token = process.env.VOICEBOT_WEBSOCKET_TOKEN ?? process.env.WEBSOCKET_TOKEN;
    return { kind: "websocket", endpoint: parseTarget("--websocket", v.websocket), token: token === "" ? undefined : token };
  }
  if (v.browser !== undefined) {
    if (fakes) throw new UsageError("--browser calls a running voicebot; against the local fakes use bench --fake-providers --browser");
    if (v.uuid !== undefined) throw new UsageError("--uuid does not go with --browser: voicebot names the console's test call");
    const token = process.env.VOICEBOT_ADMIN_TOKEN ?? process.env.ADMIN_TOKEN;
    if (token === undefined || token === "") throw new UsageError("--browser needs the console token in ADMIN_TOKEN (environment): voicebot's ADMIN_TOKEN, or the first-run token in <data-dir>/admin-token");
    return { kind: "browser", endpoint: parseTarget("--browser", v.browser), token };
  }
  if (v.audiostream !== undefined) {
    return { kind: "audiostream", flag: parseStreamFlag(v.audiostream, fakes), playback: parsePlayback(v.playback), eslPort: parseEslPort(v["esl-port"]) };
  }
  if (v.playback !== undefined || v["esl-port"] !== undefined) throw new UsageError("--playback and --esl-port only go with --audiostream");
  if (fakes && v.audiosocket !== undefined) throw new UsageError("--fake-providers starts its own voicebot: it does not go with --audiosocket");
  if (!fakes && v.audiosocket === undefined) throw new UsageError("give --audiosocket HOST:PORT (Asterisk) or --audiostream ws://HOST:PORT/stream/TENANT/CALL (FreeSWITCH)");
  return { kind: "audiosocket", endpoint: fakes ? null : parseTarget("--audiosocket", v.audiosocket) };
}

/** ws://HOST:PORT[/TENANT], with ?token= from ASP_TOKEN in the environment when set. */
function aspUrl(value: string): string {
  const m = /^([^/]+)(\/[A-Za-z0-9_-]{1,64})?$/.exec(value.trim());
  if (m === null) throw new UsageError(`--asp "${value}" is not HOST:PORT or HOST:PORT/TENANT`);
  const { host, port } = parseTarget("--asp", m[1]);
  const url = new URL(`ws://${host.includes(":") ? `[${host}]` : host}:${port}${m[2] ?? "/"}`);
  const token = process.env.VOICEBOT_ASP_TOKEN ?? process.env.ASP_TOKEN;
  if (token) url.searchParams.set("token", token);
  return url.href;
}

function parseAspRate(value: string | undefined): number {
  if (value === undefined) return 8000;
  const rate = Number(value);
  if (!(ASP_RATES as readonly number[]).includes(rate)) throw new UsageError(`--rate "${value}" is not an ASP rate; allowed: ${ASP_RATES.join(", ")}`);
  return rate;
}

/** The call id: FreeSWITCH's uuid from the stream URL, else --uuid, else random. */
function callUuid(link: Link, given: string | undefined): string {
  if (link.kind !== "audiostream" && link.kind !== "websocket") {
    if (given !== undefined) checked("--uuid", () => uuidFromString(given));
    return given ?? crypto.randomUUID();
  }
  if (given !== undefined && !isStreamId(given)) throw new UsageError(`--uuid "${given}" is not allowed: 1-128 of A-Z a-z 0-9 . _ -`);
  const inUrl = link.kind === "audiostream" ? link.flag.callId : null;
  if (inUrl !== null && given !== undefined && given !== inUrl) throw new UsageError(`--uuid ${given} disagrees with the call ${inUrl} in the --audiostream URL; give one`);
  return inUrl ?? given ?? crypto.randomUUID();
}

export const simulateCommand: Command = {
  name: "simulate",
  summary: "dial voicebot as a PBX would and report what it heard",
  async run(argv) {
    const args = parseCommandArgs(argv, OPTIONS, USAGE);
    if (!args) return 0;
    const v = args.values;
    const fakes = v["fake-providers"] === true;
    const fleet = v.node === undefined ? null : parseFleetNodes(v.node, v["admin-port"]);
    if (fleet !== null && (fakes || v.audiosocket !== undefined || v.audiostream !== undefined || v.browser !== undefined || v.asp !== undefined || v.websocket !== undefined || v.record !== undefined)) {
      throw new UsageError("--node places an AudioSocket call through the appliances in turn: it does not go with --audiosocket, --audiostream, --browser, --asp, --websocket, --fake-providers or --record");
    }
    const link = parseLink(fleet === null ? v : { ...v, audiosocket: fleet[0]?.name }, fakes);
    const stream = link.kind === "audiostream" ? link : null;
    if (link.kind === "browser" && v.rate !== undefined && v.rate !== "16000") throw new UsageError(`--rate "${v.rate}" is not allowed with --browser: the console's test call runs at 16000 Hz`);
    const rate = stream ? parseStreamRate(v.rate, stream.flag.rate) : link.kind === "websocket" ? parseStreamRate(v.rate, null) : link.kind === "browser" ? 16000 : link.kind === "asp" ? parseAspRate(v.rate) : parseRate(v.rate);
    const uuid = callUuid(link, v.uuid);
    const hangupAfter = parsePositiveSeconds("--seconds", v.seconds, 30);
    const language = v.language ?? "fr-FR";
    checked("--language", () => espeakVoiceFor(language));
    for (const d of v.dtmf ?? []) parseDtmf(d);
    const runsEsl = stream !== null && (fakes || stream.eslPort !== null);
    const inbandDigits = v["inband-dtmf"] === true;
    if (stream && !runsEsl && (stream.playback === "file" || (v.dtmf !== undefined && !inbandDigits))) {
      throw new UsageError(
        `${stream.playback === "file" ? "--playback file" : "--dtmf"} needs --esl-port N (and voicebot run with ESL_HOST=127.0.0.1 ESL_PORT=N): ` +
        (stream.playback === "file"
          ? "the community module only writes temp files, and voicebot plays them with uuid_broadcast over ESL"
          : "mod_audio_stream carries no DTMF, FreeSWITCH sends it as ESL DTMF events (or use --inband-dtmf)"),
      );
    }

    let pool: ResamplerPool | null = null;
    let script: ScriptStep[];
    try {
      script = await buildScript(argv, rate, language, () => (pool ??= createResamplerPool({ size: 1 })));
    } finally {
      await (pool as ResamplerPool | null)?.close();
    }
    script.push({ hangupAfter });
    if (fleet !== null) return runFleetCall({ nodes: fleet, settings: { sampleRate: rate, uuid, script, inbandDigits }, hangupAfterS: hangupAfter, json: v.json === true });

    const note = (line: string): void => {
      if (!v.json) process.stderr.write(`simulate: ${line}
`);
    };
    let stack: FakeStack | null = null;
    let freeswitch: FakeFreeswitch | null = null;
    let target = "";
    let result: CallResult;
    let call: SimulatedCaller;
    try {
      let env: Record<string, string> = {};
      if (stream && runsEsl) ({ freeswitch, env } = await startFreeswitch(stream.playback, stream.eslPort ?? undefined));
      if (fakes) {
        const words = orderedFlags(argv).filter((f) => f.flag === "say" || f.flag === "say-over").map((f) => f.value);
        note("starting voicebot serve against local fakes...");
        stack = await startFakeStack({ sttDelayMs: 150, llmTtftMs: 250, ttsTtfbMs: 150, llmTokensPerSecond: 100, script: words, maxCalls: 2, env });
      }
      let callTarget: CallTarget;
      if (link.kind === "audiostream") {
        const listener = stack === null ? null : stack.server.audiostream;
        if (stack !== null && listener === null) throw new Error("the voicebot started does not report its audiostream listener in /healthz");
        target = listener === null ? `${link.flag.origin}${link.flag.path}` : streamUrlAt(listener, link.flag.path);
        callTarget = { audiostream: { url: target, playback: link.playback, freeswitch } };
      } else if (link.kind === "asp") {
        target = link.url.replace(/([?&]token=)[^&]*/, "$1…");
        callTarget = { asp: { url: link.url } };
      } else if (link.kind === "websocket") {
        target = `${link.endpoint.host}:${link.endpoint.port}`;
        callTarget = { websocket: { url: `ws://${target}/asterisk`, token: link.token } };
      } else if (link.kind === "browser") {
        target = `${link.endpoint.host}:${link.endpoint.port}`;
        callTarget = { browser: { admin: `http://${target}`, token: link.token } };
      } else {
        const endpoint = stack?.server.audiosocket ?? link.endpoint;
        if (endpoint === null) throw new Error("no AudioSocket address: give --audiosocket HOST:PORT");
        target = `${endpoint.host}:${endpoint.port}`;
        callTarget = endpoint;
      }
      if (freeswitch !== null) {
        note(`waiting for voicebot to log in to the fake FreeSWITCH Event Socket at ${freeswitch.host}:${freeswitch.port}...`);
        await freeswitch.waitForVoicebot(fakes ? STARTED_ESL_WAIT_MS : EXTERNAL_ESL_WAIT_MS);
      }
      call = new SimulatedCaller({ ...callTarget, sampleRate: rate, uuid, script, record: v.record !== undefined, inbandDigits });
      result = await call.run();
    } catch (err) {
      process.stderr.write(`voicebot simulate: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    } finally {
      await stack?.stop();
      await freeswitch?.stop();
    }
    if (v.record !== undefined && result.connected) writeWav(v.record, call.recording(), rate);
    if (v.json) {
      printJson({ ...result, jitterMs: result.jitterMs.map((j) => Math.round(j * 100) / 100) });
    } else {
      process.stdout.write(formatTimeline(result, { target, rate, hangupAfterS: hangupAfter, playback: stream?.playback ?? null, browser: link.kind === "browser", asp: link.kind === "asp", websocket: link.kind === "websocket" }) + "\n");
      if (v.record !== undefined && result.connected) process.stdout.write(`recording       ${v.record}\n`);
    }
    if (!result.connected || result.hungUpBy === "error") {
      if (v.json) process.stderr.write(`voicebot simulate: ${result.error}\n`);
      return 1;
    }
    return 0;
  },
};
