import { parseArrival, type Arrival } from "../simulate/arrival.ts";
import { benchMp3 } from "./bench-mp3.ts";
import { runDtmfBench } from "./bench-dtmf.ts";
import { parseCommandArgs, UsageError, type Command } from "./command.ts";
import { DEFAULT_CHUNK_BYTES } from "../simulate/asp-wire.ts";
import { ASP_RATES } from "../transports/asp-negotiate.ts";
import { runAiBench, type AiBenchOptions } from "./bench-ai.ts";
import { runColdBench } from "./bench-cold.ts";
import { runFleetBench } from "./bench-fleet.ts";
import { parseFault } from "./bench-faults.ts";
import { RAMP_MS, runOfflineBench } from "./bench-offline.ts";
import { parsePositiveSeconds, parseRate, parseTarget } from "./simulate.ts";
import { parsePlayback, parseStreamRate, type Playback } from "./simulate-stream.ts";

const USAGE = `Usage: voicebot bench [options]

Keeps N simulated Asterisk calls (or, with --audiostream, FreeSWITCH mod_audio_stream calls) up at
once for S seconds and reports what a caller would notice (greeting delay, frame jitter, the longest
gap between two frames in each call, pacing lead) and what the server spent (CPU, memory,
underruns), with the host's CPU steal. Each virtual caller waits for the menu, presses 1, waits for
the question, presses 1, hears the ticket number and goodbye, is hung up on by the server, and
redials at once (or, with --once, stops).

Options:
  --calls N                simultaneous calls (default 200)
  --seconds S              length of the run (default 60; with --once, the most it may take,
                           default 120); calls still up then are hung up
  --arrival MODE           when the calls first dial: ramp (spread over 2 s, default), all (every
                           call at the same moment: a storm), or a steady rate such as 100/s
  --call-seconds S         short calls: each caller hangs up S seconds into its call (a call
                           counts as completed when it heard the greeting by then)
  --once                   each call lives its script once, no redial: the run ends when the last
                           call has ended
  --soak S                 a soak of S seconds instead of --seconds: the N calls come and go
                           (redialing) for S seconds; the report adds the server's RSS before the
                           first call (after a 10 s settle), its peak, and after the last call
                           ended (another 10 s settle), as ps shows it, with a per-minute timeline
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
  --llm-tps N              the fake model's tokens per second (default 150; the real vendors: 50
                           to 200, Groq's 70b above); it answers as real models do: tool calls
                           first with no words, token-sized deltas, tool arguments in many pieces
  --llm PROVIDER           with --fake-providers: the main model, groq (default, OpenAI behind it) or
                           anthropic (Claude's Messages API; Groq behind it), each at --llm-ttft
  --tts PROVIDER           with --fake-providers: the voice, openai (default), deepgram (Aura's
                           speak endpoint, linear16 at the call's rate) or google (Cloud TTS over
                           gRPC, Chirp 3 HD streamed at the call's rate), each at --tts-ttfb
  --stt PROVIDER           with --fake-providers: the recognizer, deepgram (default) or google (Cloud
                           Speech v1 StreamingRecognize over gRPC), each at --stt-delay
  --websocket              Asterisk chan_websocket calls instead: each caller dials /asterisk on the
                           server's WEBSOCKET_PORT as Dial(WebSocket/…/c(slin16)) does, and hears the
                           bot through a model of Asterisk's queue (whole frames, one per 20 ms, XOFF,
                           FLUSH_MEDIA); the report adds the queue depth, dropped bytes and frames and,
                           with --fake-providers, FLUSH_MEDIA → silence
  --browser                with --fake-providers: the calls are the console's test call instead of
                           AudioSocket (WebSocket /api/try-call on the admin port, 16 kHz, the bench
                           acting as the page), same fakes and conversation
  --asp                    with --fake-providers: the calls come over ASP, the bench acting as the
                           PABX Docker media server (one connection per call; --rate 8000 default)
  --asp-chunk BYTES        with --asp: the media server's AUDIO_SEND_BUFFER_MAX, the size of its
                           caller audio messages (default 1600: 100 ms at 8 kHz; 320 = 20 ms)
  --resampler ENGINE       with --fake-providers: the server's RESAMPLER, speex or libsamplerate
  --fault KIND             with --fake-providers: every request to one provider fails, KIND one of
                           stt-stall, stt-500, stt-drop, tts-stall, tts-500, llm-stall (both
                           models), llm-500; each of --calls N (default 10) calls once (hung up
                           after --seconds), speaking or using the keypad as the fallback asks, and
                           the report gives per call the longest silence the caller did not cause,
                           speech end → bot audio and the ticket's status (checked)
  --cold-cache             the first start after install, a voice change or an upgrade: serve
                           starts with no phrase cache and --calls N (default 20) keypad calls dial
                           in as soon as it listens (--arrival, default over 2 s), each hanging up
                           after 3 s; the report gives connect → greeting p50/p99 and when every
                           phrase was in memory
  --voice VOICE            with --cold-cache: espeak (the offline voice, default) or openai (a local
                           fake of OpenAI's speech API, first byte --tts-ttfb, ~4.7× real time)
  --dialog DIALOG          with --cold-cache: keypad (default) or ai (the AI dialog's greeting,
                           against local fakes of Deepgram and Groq)
  --console                during the calls, do what a console page open on the live view does:
                           serve gets an ADMIN_TOKEN, the bench signs in, reads every event of
                           /api/live/events and GETs /api/live, /api/health and /api/calls?limit=50
                           each second (a finished call's /api/calls/{id} every 5 s); the report
                           adds the events read and the requests' p50/p99 latency
  --dtmf                   the in-band DTMF detector instead, offline: the generated digit set at 8
                           and 16 kHz (every digit, 40-100 ms, -25..-5 dBm0, twist ±6 dB, 15 dB
                           SNR, μ-law; alone and under the bot's phrases as echo), --seconds of
                           French speech from the embedded voice (default 1800) and the bot's
                           phrases, which must give no digit, and the cost per 20 ms frame;
                           exit status 1 on any missed, extra or false digit
  --fleet N                N appliances instead of one (2 to 8): N \`serve\` processes, a simulated PBX
                           spreading the keypad calls over them round-robin as \`pbx-config --node\`
                           renders it (each call placed once: --once is implied); the report adds
                           the calls per appliance
  --store-url URL          with --fleet: the appliances share this PostgreSQL (postgres://…, a
                           database the bench may write to); the report counts what they stored
                           (calls placed vs rows, each ticket number once) once their queued writes
                           are sent; without it each appliance keeps its own SQLite
  --store-outage S         with --store-url: PostgreSQL is cut away (every connection dropped, new
                           ones refused, through a relay the bench runs) for S seconds, from
                           --store-outage-at seconds into the run (default 10)
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
  "llm-tps": { type: "string" },
  llm: { type: "string" },
  tts: { type: "string" },
  stt: { type: "string" },
  resampler: { type: "string" },
  fault: { type: "string" },
  audiostream: { type: "boolean" },
  playback: { type: "string" },
  browser: { type: "boolean" },
  asp: { type: "boolean" },
  "asp-chunk": { type: "string" },
  websocket: { type: "boolean" },
  mp3: { type: "boolean" },
  dtmf: { type: "boolean" },
  "cold-cache": { type: "boolean" },
  voice: { type: "string" },
  dialog: { type: "string" },
  arrival: { type: "string" },
  once: { type: "boolean" },
  "call-seconds": { type: "string" },
  soak: { type: "string" },
  console: { type: "boolean" },
  fleet: { type: "string" },
  "store-url": { type: "string" },
  "store-outage": { type: "string" },
  "store-outage-at": { type: "string" },
} as const;

function delayMs(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 60_000)) throw new UsageError(`${flag} "${value}" is not allowed; give whole milliseconds from 0 to 60000`);
  return n;
}

function parseProviders(llm: string | undefined, tts: string | undefined, stt: string | undefined): AiBenchOptions["providers"] {
  if (llm !== undefined && llm !== "groq" && llm !== "anthropic") throw new UsageError(`--llm "${llm}" is not allowed; use groq or anthropic`);
  if (tts !== undefined && tts !== "openai" && tts !== "deepgram" && tts !== "google") throw new UsageError(`--tts "${tts}" is not allowed; use openai, deepgram or google`);
  if (stt !== undefined && stt !== "deepgram" && stt !== "google") throw new UsageError(`--stt "${stt}" is not allowed; use deepgram or google`);
  return { llm: llm ?? "groq", tts: tts ?? "openai", stt: stt ?? "deepgram" };
}

function tokensPerSecond(value: string | undefined): number {
  if (value === undefined) return 150;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 10 && n <= 2000)) throw new UsageError(`--llm-tps "${value}" is not allowed; give whole tokens per second from 10 to 2000`);
  return n;
}

export const benchCommand: Command = {
  name: "bench",
  summary: "many simulated calls at once: latency, jitter, CPU and memory",
  async run(argv) {
    const args = parseCommandArgs(argv, OPTIONS, USAGE);
    if (!args) return 0;
    const v = args.values;
    const calls = v.calls === undefined ? 200 : /^\d+$/.test(v.calls) ? Number(v.calls) : NaN;
    if (!(calls >= 1 && calls <= 5000)) throw new UsageError(`--calls "${v.calls}" is not allowed; give a whole number from 1 to 5000`);
    const consoleOpen = v.console === true;
    const notWithConsole = (["mp3", "cold-cache", "audiosocket", "fault"] as const).filter((flag) => v[flag] !== undefined);
    if (consoleOpen && notWithConsole.length > 0) {
      throw new UsageError(`--console opens the console of the server the bench starts, while its calls run: it does not go with --${notWithConsole.join(", --")}`);
    }
    const once = v.once === true;
    const seconds = parsePositiveSeconds("--seconds", v.seconds, once ? 120 : 60);
    if (v.mp3) return benchMp3({ seconds: Math.ceil(seconds), json: v.json === true });
    if (v.dtmf) {
      const others = Object.keys(v).filter((flag) => flag !== "dtmf" && flag !== "seconds" && flag !== "json");
      if (others.length > 0) throw new UsageError(`--dtmf benches the in-band DTMF detector offline: it does not go with --${others.join(", --")}`);
      return runDtmfBench({ speechSeconds: v.seconds === undefined ? 1800 : seconds, json: v.json === true });
    }
    let arrival: Arrival;
    try {
      arrival = parseArrival(v.arrival, RAMP_MS);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    if ((v.voice ?? v.dialog) !== undefined && v["cold-cache"] !== true) throw new UsageError("--voice and --dialog only go with --cold-cache");
    if (v["cold-cache"] === true) {
      const voice = v.voice ?? "espeak";
      if (voice !== "espeak" && voice !== "openai") throw new UsageError(`--voice "${voice}" is not allowed; use espeak or openai`);
      const dialog = v.dialog ?? "keypad";
      if (dialog !== "keypad" && dialog !== "ai") throw new UsageError(`--dialog "${dialog}" is not allowed; use keypad or ai`);
      const others = (["audiosocket", "http", "audiostream", "websocket", "playback", "browser", "asp", "fake-providers", "fault", "soak", "once", "call-seconds", "seconds", "stt-delay", "llm-ttft", "resampler"] as const).filter((flag) => v[flag] !== undefined);
      if (others.length > 0) throw new UsageError(`--cold-cache starts its own server for short calls: it does not go with --${others.join(", --")}`);
      if (voice === "espeak" && v["tts-ttfb"] !== undefined) throw new UsageError("--tts-ttfb only goes with --voice openai");
      return runColdBench({
        calls: v.calls === undefined ? 20 : calls, voice, dialog, arrival, rate: parseRate(v.rate), json: v.json === true,
        ttsTtfbMs: delayMs("--tts-ttfb", v["tts-ttfb"], 150),
      });
    }
    if (v.fleet !== undefined) return fleetBench(v, calls, arrival, once ? seconds : parsePositiveSeconds("--seconds", v.seconds, 300));
    if ((v["store-url"] ?? v["store-outage"] ?? v["store-outage-at"]) !== undefined) throw new UsageError("--store-url, --store-outage and --store-outage-at only go with --fleet");
    const soakSeconds = v.soak === undefined ? null : parsePositiveSeconds("--soak", v.soak, 0);
    const callSeconds = v["call-seconds"] === undefined ? null : parsePositiveSeconds("--call-seconds", v["call-seconds"], 0);
    if (soakSeconds !== null && (v.seconds !== undefined || once)) throw new UsageError("--soak sets the length of the run and redials: it does not go with --seconds or --once");
    if (v.playback !== undefined && v.audiostream !== true) throw new UsageError("--playback only goes with --audiostream");
    const playback: Playback | null = v.audiostream === true ? parsePlayback(v.playback) : null;
    const websocket = v.websocket === true;
    if (websocket && (playback !== null || v.browser === true)) throw new UsageError("--websocket, --audiostream and --browser are different ways in: give one");
    const rate = playback === null && !websocket ? parseRate(v.rate) : parseStreamRate(v.rate, null);
    const external = v.audiosocket === undefined ? null : parseTarget("--audiosocket", v.audiosocket);
    if (websocket && external !== null) throw new UsageError("--websocket benches a server the bench starts: it does not go with --audiosocket");
    if (playback !== null && external !== null) throw new UsageError("--audiostream benches a server the bench starts (it runs the fake FreeSWITCH that server uses): it does not go with --audiosocket");
    let http = v.http === undefined ? null : parseTarget("--http", v.http);
    if (http !== null && external === null) throw new UsageError("--http only goes with --audiosocket (a server the bench starts is watched already)");
    const fakes = v["fake-providers"] === true;
    if (fakes && external !== null) throw new UsageError("--fake-providers starts its own server: it does not go with --audiosocket");
    if (fakes && (v.arrival !== undefined || once || soakSeconds !== null || callSeconds !== null)) {
      throw new UsageError("--arrival, --once, --soak and --call-seconds are for the offline bench: they do not go with --fake-providers");
    }
    if (soakSeconds !== null && external !== null) throw new UsageError("--soak measures the memory of a server the bench starts: it does not go with --audiosocket");
    if (!fakes && (v["stt-delay"] ?? v["llm-ttft"] ?? v["tts-ttfb"] ?? v["llm-tps"] ?? v.resampler ?? v.fault ?? v.llm ?? v.tts ?? v.stt) !== undefined) {
      throw new UsageError("--stt-delay, --llm-ttft, --tts-ttfb, --llm-tps, --llm, --tts, --stt, --resampler and --fault only go with --fake-providers");
    }
    const providers = parseProviders(v.llm, v.tts, v.stt);
    // The fault bench makes the Groq/OpenAI chat fake and OpenAI's speech fake misbehave.
    if (v.fault !== undefined && (providers.llm !== "groq" || providers.tts !== "openai" || providers.stt !== "deepgram")) throw new UsageError("--fault runs against the default providers: it does not go with --llm, --tts or --stt");
    const browser = v.browser === true;
    if (browser && !fakes) throw new UsageError("--browser only goes with --fake-providers");
    if (browser && (playback !== null || v.fault !== undefined)) throw new UsageError("--browser does not go with --audiostream or --fault");
    if (browser && v.rate !== undefined && v.rate !== "16000") throw new UsageError(`--rate "${v.rate}" is not allowed with --browser: the console's test call runs at 16000 Hz`);
    const asp = v.asp === true;
    if (asp && (!fakes || browser || playback !== null || v.fault !== undefined)) throw new UsageError("--asp only goes with --fake-providers, and not with --browser, --audiostream or --fault");
    if (asp && !(ASP_RATES as readonly number[]).includes(rate)) throw new UsageError(`--rate ${rate} is not an ASP rate; allowed: ${ASP_RATES.join(", ")}`);
    if (v["asp-chunk"] !== undefined && !asp) throw new UsageError("--asp-chunk only goes with --asp");
    const aspChunk = v["asp-chunk"] === undefined ? DEFAULT_CHUNK_BYTES : Number(v["asp-chunk"]);
    if (!(Number.isInteger(aspChunk) && aspChunk >= 2 && aspChunk <= 96000 && aspChunk % 2 === 0)) throw new UsageError(`--asp-chunk "${v["asp-chunk"]}" is not allowed; give an even number of bytes from 2 to 96000`);
    const fault = parseFault(v.fault);
    if (v.resampler !== undefined && v.resampler !== "speex" && v.resampler !== "libsamplerate") {
      throw new UsageError(`--resampler "${v.resampler}" is not allowed; use speex or libsamplerate`);
    }
    if (fakes) {
      const options = {
        calls: fault !== null && v.calls === undefined ? 10 : calls, seconds, rate: browser ? 16000 : rate, playback, browser, asp, aspChunk, websocket, json: v.json === true, fault, console: consoleOpen,
        sttDelayMs: delayMs("--stt-delay", v["stt-delay"], 150),
        llmTtftMs: delayMs("--llm-ttft", v["llm-ttft"], 250),
        ttsTtfbMs: delayMs("--tts-ttfb", v["tts-ttfb"], 150),
        llmTokensPerSecond: tokensPerSecond(v["llm-tps"]),
        providers,
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

    return runOfflineBench({ calls, seconds, rate, arrival, once, soakSeconds, callSeconds, playback, websocket, external, http, json: v.json === true, console: consoleOpen });
  },
};

type BenchValues = NonNullable<ReturnType<typeof parseCommandArgs<typeof OPTIONS>>>["values"];

/** --fleet: keypad calls over N appliances, with or without a shared PostgreSQL and its outage. */
async function fleetBench(v: BenchValues, calls: number, arrival: Arrival, seconds: number): Promise<number> {
  const nodes = /^\d+$/.test(v.fleet ?? "") ? Number(v.fleet) : NaN;
  if (!(nodes >= 2 && nodes <= 8)) throw new UsageError(`--fleet "${v.fleet}" is not allowed; give a whole number of appliances from 2 to 8`);
  const others = (["audiosocket", "http", "audiostream", "websocket", "playback", "browser", "asp", "fake-providers", "fault", "soak", "call-seconds", "cold-cache", "console", "rate"] as const).filter((flag) => v[flag] !== undefined);
  if (others.length > 0) throw new UsageError(`--fleet starts its own appliances for keypad calls at 8 kHz: it does not go with --${others.join(", --")}`);
  const storeUrl = v["store-url"] ?? null;
  if (storeUrl !== null && !/^postgres(ql)?:\/\//i.test(storeUrl)) throw new UsageError("--store-url must be a postgres:// URL (without it each appliance keeps its own SQLite)");
  if ((v["store-outage"] ?? v["store-outage-at"]) !== undefined && storeUrl === null) throw new UsageError("--store-outage and --store-outage-at need --store-url");
  const outageSeconds = v["store-outage"] === undefined ? null : parsePositiveSeconds("--store-outage", v["store-outage"], 0);
  const outageAtSeconds = parsePositiveSeconds("--store-outage-at", v["store-outage-at"], 10);
  try {
    return await runFleetBench({ calls, nodes, arrival, seconds, storeUrl, outageSeconds, outageAtSeconds, json: v.json === true });
  } catch (err) {
    process.stderr.write(`voicebot bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
