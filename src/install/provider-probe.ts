/**
 * Live checks of each provider from this host, with the product's own clients: is the key
 * accepted, does the model exist, and how fast is the first answer against the 1 s turn budget.
 * doctor runs them; install runs them when the admin types a key.
 */
import Anthropic from "@anthropic-ai/sdk";
import Groq from "groq-sdk";
import OpenAI from "openai";
import { createDeepgramStt } from "../ai/stt/deepgram.ts";
import type { SttStream } from "../ai/stt/types.ts";
import { createAnthropicLlm } from "../ai/llm/anthropic.ts";
import { createGroqLlm } from "../ai/llm/groq.ts";
import { createOpenAiLlm } from "../ai/llm/openai.ts";
import { createDeepgramTts } from "../ai/tts/deepgram.ts";
import { createOpenAiTts } from "../ai/tts/openai.ts";
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { LlmProviderName } from "../config/schema.ts";
import { rootLogger } from "../log.ts";
import type { CheckStatus } from "./doctor-check.ts";

export interface ProbeResult {
  ok: boolean;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** The stage's measured latency (first result, first token, first byte). */
  ms: number | null;
}

/**
 * Shares of the 1 s from the caller's last word to the bot's first sound: recognition's final
 * result, the model's first token and the voice's first byte each get this much before a WARN.
 */
export const BUDGET_MS = { stt: 350, llm: 450, tts: 300, turn: 1000 } as const;

/** Models the vendors have retired or announced for retirement (our list, checked 2026-11). */
const RETIRED_MODELS: Readonly<Record<string, string>> = {
  "llama3-70b-8192": "retired by Groq; use llama-3.3-70b-versatile",
  "llama3-8b-8192": "retired by Groq; use llama-3.1-8b-instant",
  "llama-3.1-70b-versatile": "retired by Groq; use llama-3.3-70b-versatile",
  "mixtral-8x7b-32768": "retired by Groq",
  "gemma-7b-it": "retired by Groq",
  "gpt-3.5-turbo": "legacy at OpenAI; use gpt-4.1-mini",
  "gpt-4-32k": "retired by OpenAI",
  "gpt-4.5-preview": "retired by OpenAI",
  "tts-1": "older OpenAI voice model; gpt-4o-mini-tts sounds more natural",
};

const log = rootLogger.child("doctor");
export const PROBE_TIMEOUT_MS = 4000;
const TIMEOUT_MS = PROBE_TIMEOUT_MS;

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function statusOf(err: unknown): number | null {
  const s = (err as { status?: unknown }).status;
  return typeof s === "number" ? s : /\b(401|403)\b/.test(why(err)) ? 401 : null;
}

export function refused(what: string, err: unknown, keyName: string): ProbeResult {
  const status = statusOf(err);
  if (status === 401 || status === 403) {
    return { ok: false, status: "FAIL", detail: `${what}: key refused (HTTP ${status})`, fix: `check ${keyName} in /etc/voicebot/voicebot.env (no spaces, the whole key), then restart voicebot`, ms: null };
  }
  return { ok: false, status: "FAIL", detail: `${what}: ${why(err)}`, fix: `this host must reach the provider over HTTPS (443); try again, then check the provider's status page`, ms: null };
}

export function judged(what: string, ms: number, budget: number, okText: string): ProbeResult {
  const rounded = Math.round(ms);
  if (ms > budget) {
    return { ok: true, status: "WARN", detail: `${what}: ${okText} in ${rounded} ms, over its ${budget} ms share of the 1 s turn budget`, fix: "callers will wait: pick a nearer region or a faster model, or check this host's network", ms };
  }
  return { ok: true, status: "PASS", detail: `${what}: ${okText} in ${rounded} ms`, ms };
}

/** A vowel-like tone burst then silence: enough energy for a recognizer to produce a result. */
export function speechLike(rate: number): Int16Array {
  const pcm = new Int16Array(rate);
  for (let i = 0; i < rate * 0.6; i++) {
    const t = i / rate;
    pcm[i] = Math.round(6000 * Math.sin(2 * Math.PI * 180 * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) + 2000 * Math.sin(2 * Math.PI * 720 * t));
  }
  return pcm;
}

export async function probeDeepgram(o: { key: string; baseUrl: string | null; model: string; language: string; signal: AbortSignal }): Promise<ProbeResult> {
  const what = `deepgram ${o.model}`;
  const stt = createDeepgramStt({ apiKey: o.key, baseUrl: o.baseUrl, model: o.model, timeoutMs: TIMEOUT_MS, log });
  const started = performance.now();
  let stream: SttStream | null = null;
  const first = Promise.withResolvers<number>();
  try {
    stream = await stt.open({ sampleRate: 16000, language: o.language, keyterms: [] }, {
      onEvent: (e) => {
        if (e.type === "transcript") first.resolve(performance.now());
      },
      onClosed: (error) => first.reject(error ?? new Error("the connection closed before any result")),
    });
    const connectMs = performance.now() - started;
    const pcm = speechLike(16000);
    for (let i = 0; i < pcm.length; i += 320) stream.send(pcm.subarray(i, i + 320));
    const sent = performance.now();
    stream.finalize();
    const aborted = new Promise<never>((_, reject) => o.signal.addEventListener("abort", () => reject(new Error("no result before the time limit")), { once: true }));
    const at = await Promise.race([first.promise, aborted]);
    const result = judged(what, at - sent, BUDGET_MS.stt, `connected in ${Math.round(connectMs)} ms, first result`);
    return result;
  } catch (err) {
    return refused(what, err, "DEEPGRAM_API_KEY");
  } finally {
    first.promise.catch(() => undefined);
    await stream?.close().catch(() => undefined);
  }
}

async function listModels(provider: LlmProviderName, key: string, baseUrl: string | null, signal: AbortSignal): Promise<string[]> {
  if (provider === "groq") {
    const groq = new Groq({ apiKey: key, baseURL: baseUrl ?? "https://api.groq.com", maxRetries: 0, timeout: TIMEOUT_MS });
    const page = await groq.models.list({ signal });
    return page.data.map((m) => m.id);
  }
  if (provider === "anthropic") {
    const anthropic = new Anthropic({ apiKey: key, baseURL: baseUrl ?? "https://api.anthropic.com", maxRetries: 0, timeout: TIMEOUT_MS });
    const ids: string[] = [];
    for await (const model of anthropic.models.list({}, { signal })) ids.push(model.id);
    return ids;
  }
  const openai = new OpenAI({ apiKey: key, baseURL: baseUrl ?? "https://api.openai.com/v1", maxRetries: 0, timeout: TIMEOUT_MS });
  const ids: string[] = [];
  for await (const model of openai.models.list({ signal })) ids.push(model.id);
  return ids;
}

const LLM_FACTORIES = { groq: createGroqLlm, openai: createOpenAiLlm, anthropic: createAnthropicLlm } as const;

export async function probeLlm(o: { provider: LlmProviderName; key: string; baseUrl: string | null; model: string; signal: AbortSignal }): Promise<ProbeResult> {
  const what = `${o.provider} ${o.model}`;
  const keyName = `${o.provider.toUpperCase()}_API_KEY`;
  const variable = `${o.provider.toUpperCase()}_MODEL`;
  try {
    const models = await listModels(o.provider, o.key, o.baseUrl, o.signal);
    if (!models.includes(o.model)) {
      return { ok: false, status: "FAIL", detail: `${what}: no such model for this key (${models.length} models offered)`, fix: `set ${variable} to one the provider lists, e.g. ${models.slice(0, 3).join(", ") || "(none listed)"}`, ms: null };
    }
    const llm = LLM_FACTORIES[o.provider]({ apiKey: o.key, baseUrl: o.baseUrl, model: o.model, timeoutMs: TIMEOUT_MS, log });
    const started = performance.now();
    const controller = new AbortController();
    const stop = () => controller.abort();
    o.signal.addEventListener("abort", stop, { once: true });
    let ms: number | null = null;
    try {
      for await (const chunk of llm.stream({ messages: [{ role: "user", content: "Réponds seulement : bonjour." }], tools: [], signal: controller.signal })) {
        if (chunk.type === "text" && chunk.text !== "") {
          ms = performance.now() - started;
          break;
        }
      }
    } finally {
      controller.abort();
      o.signal.removeEventListener("abort", stop);
    }
    if (ms === null) return { ok: false, status: "FAIL", detail: `${what}: the reply had no text`, fix: "try another model", ms: null };
    const result = judged(what, ms, BUDGET_MS.llm, "first token");
    const retired = RETIRED_MODELS[o.model];
    return retired ? { ...result, status: "WARN", detail: `${result.detail}; ${retired}`, fix: `change ${variable} before the provider turns it off` } : result;
  } catch (err) {
    return refused(what, err, keyName);
  }
}

export async function probeTts(o: { key: string; baseUrl: string | null; model: string; voice: string; signal: AbortSignal }): Promise<ProbeResult> {
  const what = `openai ${o.model} (${o.voice})`;
  const tts = createOpenAiTts({ apiKey: o.key, baseUrl: o.baseUrl, model: o.model, voice: o.voice, timeoutMs: TIMEOUT_MS, log });
  const result = await firstAudio(what, tts, o.signal, { keyName: "OPENAI_API_KEY", noAudioFix: "check OPENAI_TTS_MODEL and OPENAI_TTS_VOICE" });
  const retired = RETIRED_MODELS[o.model];
  return retired && result.ok ? { ...result, status: "WARN", detail: `${result.detail}; ${retired}`, fix: "set OPENAI_TTS_MODEL=gpt-4o-mini-tts" } : result;
}

/** Deepgram Aura at a phone call's 8 kHz, as calls ask for it: the key, the voice, the first byte. */
export async function probeAura(o: { key: string; baseUrl: string | null; voice: string; signal: AbortSignal }): Promise<ProbeResult> {
  const what = `deepgram ${o.voice}`;
  const tts = createDeepgramTts({ apiKey: o.key, baseUrl: o.baseUrl, voice: o.voice, timeoutMs: TIMEOUT_MS, log });
  const result = await firstAudio(what, tts.atRate?.(8000) ?? tts, o.signal, { keyName: "DEEPGRAM_API_KEY", noAudioFix: "check DEEPGRAM_TTS_VOICE" });
  if (!result.ok && /HTTP 400\b/.test(result.detail)) {
    return { ...result, detail: `${what}: no such Aura voice for this key (${result.detail.replace(`${what}: `, "")})`, fix: "set DEEPGRAM_TTS_VOICE to an Aura voice of the calls' language, e.g. aura-2-agathe-fr or aura-2-hector-fr (French), aura-2-thalia-en (English)" };
  }
  return result;
}

/** Time to the first audio of a short sentence, judged against the voice's share of the turn budget. */
export async function firstAudio(what: string, tts: TextToSpeech, signal: AbortSignal, o: { keyName: string; noAudioFix: string }): Promise<ProbeResult> {
  const started = performance.now();
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal.addEventListener("abort", stop, { once: true });
  try {
    let ms: number | null = null;
    for await (const chunk of tts.synthesize("Bonjour.", controller.signal)) {
      if (chunk.length > 0) {
        ms = performance.now() - started;
        break;
      }
    }
    if (ms === null) return { ok: false, status: "FAIL", detail: `${what}: no audio came back`, fix: o.noAudioFix, ms: null };
    return judged(what, ms, BUDGET_MS.tts, "first audio byte");
  } catch (err) {
    return refused(what, err, o.keyName);
  } finally {
    controller.abort();
    signal.removeEventListener("abort", stop);
    await tts.close().catch(() => undefined);
  }
}
