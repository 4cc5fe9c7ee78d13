/**
 * voicebot serve wired to local fakes of Deepgram (listen and speak), Groq/OpenAI chat, Claude's
 * Messages API, OpenAI speech and Google's speech services (gRPC, STT and TTS) (the ones the tests use, tests/fakes/), with chosen provider
 * delays and the model and voice chosen among them: a whole AI conversation with no internet and
 * no key, for `bench --fake-providers` and `simulate --fake-providers`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeAnthropic, type FakeAnthropic } from "../../tests/fakes/anthropic.ts";
import { createFakeChat, type FakeChat } from "../../tests/fakes/chat.ts";
import { startFakeDeepgram, type FakeDeepgram, type FakeDeepgramScript } from "../../tests/fakes/deepgram.ts";
import { createFakeDeepgramSpeak, type FakeDeepgramSpeak } from "../../tests/fakes/deepgram-speak.ts";
import { FAKE_GOOGLE_CREDENTIALS, startFakeGoogle, type FakeGoogle } from "../../tests/fakes/google.ts";
import { startFakeHttp } from "../../tests/fakes/http.ts";
import { savBrain } from "../../tests/fakes/sav-brain.ts";
import { createFakeSpeech, type FakeSpeech } from "../../tests/fakes/speech.ts";
import { ServerProcess } from "./server-process.ts";

export interface FakeStackOptions {
  /** Caller speech end → final transcript. */
  sttDelayMs: number;
  /** Request → first token. */
  llmTtftMs: number;
  /**
   * The model's token rate (the real vendors: about 50 to 200 per second). The fake model answers
   * as real ones do: tool calls first with no words, token-sized deltas, arguments in many pieces.
   */
  llmTokensPerSecond: number;
  /** Request → first audio bytes. */
  ttsTtfbMs: number;
  /** The main model (the other chat fake behind it); default groq. */
  llm?: "groq" | "anthropic";
  /** The voice; default openai. */
  tts?: "openai" | "deepgram" | "google";
  /** The recognizer; default deepgram. */
  stt?: "deepgram" | "google";
  /** What the callers say, utterance by utterance (the fake recognizer's words). */
  script: FakeDeepgramScript;
  maxCalls: number;
  signal?: AbortSignal;
  /** More settings for the server (VOICEBOT_ names). */
  env?: Readonly<Record<string, string>>;
}

export interface FakeStack {
  readonly server: ServerProcess;
  readonly dataDir: string;
  /** The fakes themselves, to make them misbehave (one chat fake answers both models). */
  readonly fakes: {
    readonly deepgram: FakeDeepgram; readonly chat: FakeChat; readonly speech: FakeSpeech; readonly anthropic: FakeAnthropic; readonly speak: FakeDeepgramSpeak;
    /** Started only when the recognizer or the voice is Google's. */
    readonly google: FakeGoogle | null;
  };
  stop(): Promise<void>;
}

/** The fake recognizer's end-of-speech detection; the rest of the STT delay is its reply delay. */
const ENDPOINTING_MS = 120;
const FAKE_KEY = "fake-provider-key";

export async function startFakeStack(options: FakeStackOptions): Promise<FakeStack> {
  // Deepgram's speak endpoint shares the listen endpoint's host (and key), as at Deepgram.
  const speak = createFakeDeepgramSpeak({ ttfbMs: options.ttsTtfbMs });
  const deepgram = startFakeDeepgram({
    script: options.script,
    endpointingMs: Math.min(ENDPOINTING_MS, options.sttDelayMs),
    delayMs: Math.max(0, options.sttDelayMs - ENDPOINTING_MS),
    routes: [speak],
  });
  // One key for both: the OpenAI SDK sends chat and speech with the same credential.
  const chat = createFakeChat({ apiKey: FAKE_KEY, brain: savBrain, ttftMs: options.llmTtftMs, realistic: true, tokensPerSecond: options.llmTokensPerSecond });
  const speech = createFakeSpeech({ apiKey: FAKE_KEY, ttfbMs: options.ttsTtfbMs });
  const anthropic = createFakeAnthropic({ apiKey: FAKE_KEY, brain: savBrain, ttftMs: options.llmTtftMs, tokensPerSecond: options.llmTokensPerSecond });
  const http = startFakeHttp([chat, speech, anthropic]);
  const google = options.stt === "google" || options.tts === "google"
    ? await startFakeGoogle({
      stt: { script: options.script, endpointingMs: Math.min(ENDPOINTING_MS, options.sttDelayMs), delayMs: Math.max(0, options.sttDelayMs - ENDPOINTING_MS) },
      tts: { ttfbMs: options.ttsTtfbMs },
    })
    : null;
  const tempDir = mkdtempSync(join(tmpdir(), "voicebot-fakes-"));
  const stopFakes = async (): Promise<void> => {
    await Promise.all([deepgram.stop(), http.stop(), google?.stop()]);
    rmSync(tempDir, { recursive: true, force: true });
  };
  try {
    const configFile = join(tempDir, "fakes.env");
    writeFileSync(configFile, "# empty: the providers are set in the environment, over any real keys\n");
    const googleEnv: Record<string, string> = {};
    if (google !== null) {
      const credentials = join(tempDir, "google-service-account.json");
      writeFileSync(credentials, FAKE_GOOGLE_CREDENTIALS);
      Object.assign(googleEnv, { VOICEBOT_GOOGLE_APPLICATION_CREDENTIALS: credentials, VOICEBOT_GOOGLE_SPEECH_ENDPOINT: google.endpoint, VOICEBOT_GOOGLE_TTS_ENDPOINT: google.endpoint });
    }
    const env: Record<string, string> = {
      VOICEBOT_DEEPGRAM_API_KEY: deepgram.apiKey,
      VOICEBOT_DEEPGRAM_BASE_URL: deepgram.url,
      VOICEBOT_GROQ_API_KEY: chat.apiKey,
      VOICEBOT_GROQ_BASE_URL: http.url,
      VOICEBOT_OPENAI_API_KEY: chat.apiKey,
      VOICEBOT_OPENAI_BASE_URL: `${http.url}/v1`,
      VOICEBOT_ANTHROPIC_API_KEY: anthropic.apiKey,
      VOICEBOT_ANTHROPIC_BASE_URL: http.url,
      VOICEBOT_LLM_PROVIDER: options.llm ?? "groq",
      VOICEBOT_TTS_PROVIDER: options.tts ?? "openai",
      VOICEBOT_STT_PROVIDER: options.stt ?? "deepgram",
      ...googleEnv,
      ...options.env,
    };
    const dataDir = join(tempDir, "data");
    const server = await ServerProcess.start({ dataDir, maxCalls: options.maxCalls, extraArgs: ["--config", configFile], signal: options.signal, env });
    return {
      server,
      dataDir,
      fakes: { deepgram, chat, speech, anthropic, speak, google },
      stop: async () => {
        await server.stop();
        await stopFakes();
      },
    };
  } catch (err) {
    await stopFakes();
    throw err;
  }
}
