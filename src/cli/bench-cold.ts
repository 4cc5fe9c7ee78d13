/**
 * `voicebot bench --cold-cache`: the first start after install, a voice change or an upgrade.
 * serve starts on an empty data dir (no phrase cache) and N calls dial in as soon as it listens,
 * while its phrases render; the figure is each call's connect → first greeting audio.
 * With `--voice openai` the voice is a local fake of OpenAI's speech API with a realistic first
 * byte and streaming pace (no key, no internet); with `espeak` the embedded offline voice. The
 * calls use the keypad dialog, or with `--dialog ai` the AI dialog (its own greeting) against
 * local fakes of Deepgram and Groq.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeSpeech } from "../../tests/fakes/speech.ts";
import { createFakeChat } from "../../tests/fakes/chat.ts";
import { startFakeDeepgram, type FakeDeepgram } from "../../tests/fakes/deepgram.ts";
import { startFakeHttp, type FakeHttpServer } from "../../tests/fakes/http.ts";
import { savBrain } from "../../tests/fakes/sav-brain.ts";
import { describeArrival, type Arrival } from "../simulate/arrival.ts";
import type { CallResult } from "../simulate/call-types.ts";
import { failedCount, newOutcomes, redialCallers } from "../simulate/redial.ts";
import { hostCpuUse, readHostCpu } from "../simulate/host-cpu.ts";
import { ServerProcess } from "../simulate/server-process.ts";
import { roundMs, summarize } from "../simulate/stats.ts";
import { printJson } from "./command.ts";
import { NO_PROVIDER_KEYS } from "./bench-keypad.ts";

export type ColdVoice = "espeak" | "openai";
export type ColdDialog = "keypad" | "ai";

export interface ColdBenchOptions {
  calls: number;
  voice: ColdVoice;
  dialog: ColdDialog;
  arrival: Arrival;
  rate: number;
  /** The fake speech API's first byte (openai only). */
  ttsTtfbMs: number;
  json: boolean;
}

/** The fake's pace between ~70 ms chunks: about 4.7× real time, as OpenAI's speech API streams. */
const FAKE_CHUNK_INTERVAL_MS = 15;
const FAKE_KEY = "cold-bench-key";
/** The AI dialog's model is not asked during a greeting; it gets the bench's usual delay all the same. */
const FAKE_LLM_TTFT_MS = 250;
/** Each call hangs up this long after it dialed: the greeting has started well before. */
const CALL_SECONDS = 3;
const GREETING_TIMEOUT_MS = 2500;
/** How long the rest of the phrases may take once the calls are over. */
const RENDER_WAIT_MS = 120_000;
function failureOf(r: CallResult): string | null {
  if (r.error !== null) return r.error;
  if (r.greetingDelayMs === null) return "no greeting before the caller hung up";
  return null;
}

export async function runColdBench(o: ColdBenchOptions): Promise<number> {
  const say = (line: string): void => {
    if (!o.json) process.stderr.write(`bench: ${line}\n`);
  };
  const tempDir = mkdtempSync(join(tmpdir(), "voicebot-cold-"));
  let fake: FakeHttpServer | null = null;
  let deepgram: FakeDeepgram | null = null;
  let server: ServerProcess | null = null;
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.on("SIGINT", onSigint);
  try {
    const configFile = join(tempDir, "bench.env");
    writeFileSync(configFile, "# empty: the bench measures the embedded defaults\n");
    const routes = [
      ...(o.voice === "openai" ? [createFakeSpeech({ apiKey: FAKE_KEY, ttfbMs: o.ttsTtfbMs, chunkIntervalMs: FAKE_CHUNK_INTERVAL_MS })] : []),
      ...(o.dialog === "ai" ? [createFakeChat({ apiKey: FAKE_KEY, brain: savBrain, ttftMs: FAKE_LLM_TTFT_MS })] : []),
    ];
    fake = routes.length > 0 ? startFakeHttp(routes) : null;
    const env: Record<string, string> = { ...NO_PROVIDER_KEYS };
    if (fake !== null && o.voice === "openai") Object.assign(env, { VOICEBOT_OPENAI_API_KEY: FAKE_KEY, VOICEBOT_OPENAI_BASE_URL: `${fake.url}/v1` });
    if (fake !== null && o.dialog === "ai") {
      deepgram = startFakeDeepgram({ apiKey: FAKE_KEY });
      Object.assign(env, {
        VOICEBOT_DEEPGRAM_API_KEY: FAKE_KEY, VOICEBOT_DEEPGRAM_BASE_URL: deepgram.url,
        VOICEBOT_GROQ_API_KEY: FAKE_KEY, VOICEBOT_GROQ_BASE_URL: fake.url, VOICEBOT_LLM_PROVIDER: "groq",
      });
    }
    const voice = o.voice === "openai" ? `the fake OpenAI voice (first byte ${o.ttsTtfbMs} ms, ~4.7× real time)` : "eSpeak-NG";
    say(`starting voicebot serve on an empty data dir with ${voice}${o.dialog === "ai" ? " and the AI dialog (fake Deepgram and Groq)" : ""}; ${o.calls} calls dial in ${describeArrival(o.arrival)} as soon as it listens...`);
    server = await ServerProcess.start({
      dataDir: join(tempDir, "data"), maxCalls: o.calls + 10, extraArgs: ["--config", configFile], signal: stop.signal, env, listeningOnly: true,
    });
    const target = server.audiosocket;
    const hostBefore = readHostCpu();
    // Watched from now, so the time is when the render ended, not when the calls did.
    const rendered = server.waitForPhrases(RENDER_WAIT_MS);
    rendered.catch(() => undefined);
    const greetings: number[] = [];
    const outcomes = newOutcomes();
    const unreachable = await redialCallers({
      calls: o.calls, rampMs: 0, arrival: o.arrival, once: true, signal: stop.signal, failureOf,
      call: () => ({ ...target, sampleRate: o.rate, script: [{ hangupAfter: CALL_SECONDS }], greetingTimeoutMs: GREETING_TIMEOUT_MS }),
      onResult: (r) => {
        if (r.greetingDelayMs !== null) greetings.push(r.greetingDelayMs);
      },
    }, outcomes);
    if (unreachable !== null) throw new Error(unreachable);
    say(`calls done: ${greetings.map((g) => Math.round(g)).join(", ")} ms; waiting for the rest of the phrases...`);
    await rendered;
    const host = hostCpuUse(hostBefore, readHostCpu());
    const listeningMs = server.listeningAfterMs;
    const phrasesMs = server.phrasesReadyAfterMs;
    const greeting = summarize(greetings);
    const failed = failedCount(outcomes);
    const report = {
      voice: o.voice, dialog: o.dialog, calls: o.calls, arrival: o.arrival, rate: o.rate,
      ttsFirstByteMs: o.voice === "openai" ? o.ttsTtfbMs : null,
      greetingMs: { count: greeting.count, p50: roundMs(greeting.p50), p99: roundMs(greeting.p99), max: roundMs(greeting.max) },
      failed, failures: Object.fromEntries(outcomes.failures),
      listeningAfterSpawnMs: roundMs(listeningMs),
      phrasesReadyAfterListeningMs: roundMs(phrasesMs - listeningMs),
      host,
    };
    if (o.json) printJson(report);
    else {
      const ms = (v: number | null): string => (v === null ? "-" : `${v} ms`);
      const lines = [
        `cold start       ${o.voice}, ${o.dialog} dialog: listening ${ms(report.listeningAfterSpawnMs)} after spawn; every phrase in memory ${ms(report.phrasesReadyAfterListeningMs)} after that`,
        `connect → greeting  p50 ${ms(report.greetingMs.p50)}, p99 ${ms(report.greetingMs.p99)}, max ${ms(report.greetingMs.max)} (${greeting.count} of ${o.calls} calls, ${describeArrival(o.arrival)} from the moment it listened)`,
        ...(host ? [`host CPU         ${host.busyPercent} % busy, ${host.stealPercent} % stolen by the hypervisor (all cores), from the first call to the last phrase`] : []),
        ...[...outcomes.failures].map(([reason, count]) => `failed ×${count}: ${reason}`),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    return failed > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`voicebot bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSigint);
    stop.abort();
    await server?.stop();
    await fake?.stop();
    await deepgram?.stop();
    rmSync(tempDir, { recursive: true, force: true });
  }
}
