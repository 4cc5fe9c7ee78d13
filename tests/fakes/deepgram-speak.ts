/**
 * A fake of Deepgram's speak endpoint (Aura TTS), for tests and `voicebot bench --fake-providers`:
 * POST /v1/speak?model=…&encoding=linear16&container=none&sample_rate=… with `Authorization: Token
 * <key>` and a JSON body {text} streams raw s16le mono speech-like audio at the asked rate (the
 * same signal as the OpenAI speech fake, tests/fakes/speech.ts), in 20–60 ms chunks paced at
 * `speed` times real time, after `ttfbMs`. Refuses what Deepgram refuses: a wrong key (401), an
 * unknown voice, a rate linear16 does not take, text over 2000 characters (400). Faults on request:
 * an error status, a stall, a dropped connection. It is a route of the Deepgram fake's server
 * (`startFakeDeepgram({routes: [speak]})`): both endpoints share Deepgram's host. Bundled into the
 * binary: no test-only imports, no console output.
 */
import { errorResponse } from "./deepgram-messages.ts";
import type { FakeRoute } from "./http.ts";
import { hashText, renderSpeech, type SpeechFault } from "./speech.ts";
import { FaultPlan } from "./fault-plan.ts";
import { newSpeechFakeCounts, speechFakeControls, type SpeechFakeControls } from "./speech-controls.ts";

const PATH = "/v1/speak";
const RATES = new Set([8000, 16000, 24000, 32000, 48000]);
const MAX_TEXT_CHARS = 2000;
const REQUESTS_KEPT = 1000;

/** Aura-2 voices the fake knows unless told otherwise (a few of each language voicebot speaks). */
export const DEFAULT_FAKE_AURA_VOICES: readonly string[] = ["aura-2-agathe-fr", "aura-2-hector-fr", "aura-2-thalia-en", "aura-2-andromeda-en"];

export interface FakeDeepgramSpeakOptions {
  /** The key expected in `Authorization: Token <key>`; default "fake-deepgram-key" (the listen fake's). */
  apiKey?: string;
  /** Delay before the first body byte (default 0). */
  ttfbMs?: number;
  /** Audio seconds sent per second once it flows (default 8; Aura streams several times faster than real time). */
  speed?: number;
  voices?: readonly string[];
  /** Audio length per character of text (default 65). */
  msPerChar?: number;
}

export interface SpeakRequestSeen {
  model: string;
  sampleRate: number;
  text: string;
}

export interface FakeDeepgramSpeak extends FakeRoute, SpeechFakeControls<SpeechFault, SpeakRequestSeen> {}

export function createFakeDeepgramSpeak(options: FakeDeepgramSpeakOptions = {}): FakeDeepgramSpeak {
  const apiKey = options.apiKey ?? "fake-deepgram-key";
  const speed = options.speed ?? 8;
  if (!(speed > 0)) throw new Error(`fake Deepgram speak: speed ${String(speed)} is not allowed; use a number > 0`);
  const voices = new Set(options.voices ?? DEFAULT_FAKE_AURA_VOICES);
  const msPerChar = options.msPerChar ?? 65;
  const faults = new FaultPlan<SpeechFault>();
  const requests: SpeakRequestSeen[] = [];
  const counts = newSpeechFakeCounts();

  const reject = (status: number, code: string, message: string): Response => {
    counts.rejected++;
    return errorResponse(status, code, message);
  };

  const speak: FakeDeepgramSpeak = {
    ...speechFakeControls({ faults, requests, counts, ttfbMs: options.ttfbMs ?? 0, msPerChar }),
    handle(request, url) {
      if (url.pathname !== PATH) return null;
      counts.requests++;
      if (request.method !== "POST") return reject(405, "METHOD_NOT_ALLOWED", `${request.method} ${PATH} is not allowed; use POST`);
      if (request.headers.get("authorization") !== `Token ${apiKey}`) return reject(401, "INVALID_AUTH", "Invalid credentials.");
      const query = url.searchParams;
      const model = query.get("model") ?? "";
      if (!voices.has(model)) return reject(400, "INVALID_QUERY_PARAMETER", `No such model/version/tier combination found: ${JSON.stringify(model)}`);
      if (query.get("encoding") !== "linear16" || query.get("container") !== "none") {
        return reject(400, "INVALID_QUERY_PARAMETER", "this fake streams raw audio only: encoding=linear16&container=none");
      }
      const sampleRate = Number(query.get("sample_rate"));
      if (!RATES.has(sampleRate)) return reject(400, "INVALID_QUERY_PARAMETER", `sample_rate ${query.get("sample_rate")} is not supported for linear16: 8000, 16000, 24000, 32000, 48000`);
      return answer(request, model, sampleRate);
    },
  };

  async function answer(request: Request, model: string, sampleRate: number): Promise<Response> {
    let text: unknown;
    try {
      text = ((await request.json()) as { text?: unknown } | null)?.text;
    } catch {
      return reject(400, "INVALID_JSON", "the request body is not valid JSON");
    }
    if (typeof text !== "string" || text.trim() === "") return reject(400, "INVALID_BODY", "text: a non-empty string is required");
    if ([...text].length > MAX_TEXT_CHARS) return reject(400, "INVALID_BODY", `text is longer than ${MAX_TEXT_CHARS} characters`);
    requests.push({ model, sampleRate, text });
    if (requests.length > REQUESTS_KEPT) requests.shift();
    const fault = faults.take(undefined);
    if (fault) counts.faulted++;
    if (fault?.kind === "status") {
      const code = fault.status === 401 ? "INVALID_AUTH" : fault.status === 429 ? "TOO_MANY_REQUESTS" : fault.status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
      return errorResponse(fault.status, code, fault.message ?? `fake Deepgram speak: HTTP ${fault.status}`);
    }
    const pcm = renderSpeech(text, msPerChar, sampleRate);
    return new Response(body(new Uint8Array(pcm.buffer), sampleRate, hashText(text), fault), {
      headers: { "content-type": "audio/l16", "dg-model-name": model, "dg-char-count": String(text.length) },
    });
  }

  /** 20–60 ms chunks, every third one a byte longer so sample boundaries often fall mid-chunk. */
  function body(bytes: Uint8Array, rate: number, seed: number, fault: Exclude<SpeechFault, { kind: "status" }> | null): ReadableStream<Uint8Array> {
    const limit = fault === null ? bytes.length : Math.min(bytes.length, fault.afterBytes ?? 0);
    let offset = 0;
    let index = 0;
    let random = seed || 1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          return new Promise<void>((resolve) => {
            if (fault?.kind === "stall" && offset >= limit) return;
            random = (Math.imul(random, 1664525) + 1013904223) >>> 0;
            const chunkMs = 20 + (random % 41);
            timer = setTimeout(() => {
              timer = undefined;
              if (fault?.kind === "disconnect" && offset >= limit) {
                // An undefined reason makes Bun drop the connection without printing anything.
                controller.error(undefined);
                resolve();
                return;
              }
              const end = Math.min(limit, offset + Math.round((chunkMs * rate) / 1000) * 2 + (index % 3 === 1 ? 1 : 0));
              controller.enqueue(bytes.slice(offset, end));
              offset = end;
              index++;
              if (offset >= bytes.length) {
                counts.completed++;
                controller.close();
              }
              resolve();
            }, offset === 0 ? speak.ttfbMs : chunkMs / speed);
          });
        },
        cancel() {
          if (timer !== undefined) clearTimeout(timer);
          counts.cancelled++;
        },
      },
      { highWaterMark: 0 },
    );
  }

  return speak;
}
