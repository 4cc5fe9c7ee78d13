/**
 * A fake OpenAI `POST /v1/audio/speech` (response_format "pcm"): streams a deterministic, speech-like
 * 24 kHz s16le mono signal whose length follows the text, faster than real time, with faults on demand.
 * Bundled into the binary for `bench --fake-providers`: no test-only imports, no console output.
 */
import type { FakeRoute } from "./http.ts";

const PATH = "/v1/audio/speech";
const SAMPLE_RATE = 24_000;
const MAX_INPUT_CHARS = 4096;
/** Overall RMS of the signal: about -12 dBFS. */
const TARGET_RMS = 32767 * 10 ** (-12 / 20);
/** Waveforms kept per text: the bench speaks the same few sentences on 200 calls. */
const CACHE_ENTRIES = 256;
/** Requests kept for inspection: enough for any test, bounded for long bench runs. */
const REQUESTS_KEPT = 1000;

export interface FakeSpeechOptions {
  /** The key expected in `Authorization: Bearer <key>` (default "test"). */
  apiKey?: string;
  /** Delay before the first body byte; Bun sends the headers with it (default 0). */
  ttfbMs?: number;
  /** Delay between chunks after the first (default 5: much faster than real time). */
  chunkIntervalMs?: number;
  /** Audio length per character of input (default 65, at least 300 ms in all). */
  msPerChar?: number;
}

export type SpeechFault =
  /** An error status with a vendor-shaped JSON body. */
  | { kind: "status"; status: number; message?: string }
  /**
   * Sends `afterBytes` bytes (default 0; the whole body if shorter), then nothing, forever. With 0 the client gets no headers
   * either (Bun sends them with the first byte), so this tests the request timeout; with 1 it is
   * "headers, then no audio" (half a sample goes with them, nothing a client can play); more tests
   * the body stalling mid-stream.
   */
  | { kind: "stall"; afterBytes?: number }
  /** Sends `afterBytes` bytes (the whole body if shorter), then drops the connection (the client sees a reset). */
  | { kind: "disconnect"; afterBytes: number };

type BodyFault = Exclude<SpeechFault, { kind: "status" }>;

export interface SpeechRequestSeen {
  model: string;
  voice: string;
  input: string;
  instructions: string | null;
}

export type SpeechFaultChooser = (request: SpeechRequestSeen) => SpeechFault | null;

export interface FakeSpeechCounts {
  /** Every request to the speech path. */
  requests: number;
  /** Answered 400/401/405 because the request itself was wrong. */
  rejected: number;
  /** Answered with an injected fault. */
  faulted: number;
  /** Whole body sent. */
  completed: number;
  /** The client went away before the end of the body. */
  cancelled: number;
}

export interface FakeSpeech extends FakeRoute {
  /** Valid requests, oldest first (the last 1000). */
  readonly requests: readonly SpeechRequestSeen[];
  readonly counts: Readonly<FakeSpeechCounts>;
  /** The next `times` valid requests get `fault` (queued after any already pending). */
  failNext(fault: SpeechFault, times?: number): void;
  /**
   * Every valid request gets `fault` (after the queued ones) until called with null. A function
   * chooses per request (null = answer normally), e.g. by the text to speak.
   */
  failAlways(fault: SpeechFault | SpeechFaultChooser | null): void;
  /** The exact samples this fake streams for `text` (a copy). */
  pcmFor(text: string): Int16Array;
}

interface Timing {
  ttfbMs: number;
  chunkIntervalMs: number;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`fake speech: ${name} ${String(value)} is not allowed; use a finite number ≥ 0`);
  }
  return value;
}

function checkFault(fault: SpeechFault): void {
  if (fault.kind === "status" && (!Number.isInteger(fault.status) || fault.status < 400 || fault.status > 599)) {
    throw new Error(`fake speech: fault status ${String(fault.status)} is not allowed; use an HTTP error status 400-599`);
  }
  if (fault.kind === "stall" || fault.kind === "disconnect") nonNegative(`${fault.kind} afterBytes`, fault.afterBytes, 0);
}

/** FNV-1a: a stable seed per text, so the same text always sounds the same. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * A voiced signal: fundamental 140–200 Hz with a slow intonation glide and three harmonics,
 * shaped into ~4 syllables per second (75 % voiced, 25 % gap), scaled to about -12 dBFS overall.
 */
export function renderSpeech(text: string, msPerChar: number, rate = SAMPLE_RATE): Int16Array {
  const seed = hashText(text);
  const ms = Math.max(300, Math.round([...text].length * msPerChar));
  const samples = Math.round((ms * rate) / 1000);
  const f0 = 140 + (seed % 61);
  const syllablesPerSecond = 3.5 + ((seed >>> 8) % 101) / 100;
  // Per-sample RMS: harmonics 1, 1/2, 1/3, 1/4 give sqrt(0.711); a half-sine over 75 % gives sqrt(0.375).
  const gain = TARGET_RMS / (Math.sqrt(0.711) * Math.sqrt(0.375));
  const fadeSamples = Math.round(rate / 100);
  const out = new Int16Array(samples);
  let phase = 0;
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    phase += (2 * Math.PI * f0 * (1 + 0.06 * Math.sin(2 * Math.PI * 0.7 * t))) / rate;
    const s = Math.sin(phase);
    const c = Math.cos(phase);
    const s2 = 2 * s * c;
    const s3 = 3 * s - 4 * s * s * s;
    const s4 = 2 * s2 * (c * c - s * s);
    const position = (t * syllablesPerSecond) % 1;
    const envelope = position < 0.75 ? Math.sin((Math.PI * position) / 0.75) : 0;
    const fade = Math.min(1, (samples - i) / fadeSamples);
    out[i] = Math.round((s + s2 / 2 + s3 / 3 + s4 / 4) * envelope * fade * gain);
  }
  return out;
}

function vendorError(status: number, message: string, type: string, code: string | null, param: string | null = null): Response {
  return Response.json({ error: { message, type, param, code } }, { status });
}

function faultResponse(status: number, message: string | undefined): Response {
  if (status === 401) {
    return vendorError(401, message ?? "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
  }
  if (status === 429) {
    return vendorError(429, message ?? "Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded");
  }
  if (status >= 500) {
    return vendorError(status, message ?? "The server had an error while processing your request. Sorry about that!", "server_error", null);
  }
  return vendorError(status, message ?? `fake speech fault: HTTP ${status}`, "invalid_request_error", null);
}

/** The request body, or the 400 that real OpenAI would send for it. */
function parseBody(body: unknown): SpeechRequestSeen | Response {
  const bad = (param: string, message: string): Response => vendorError(400, message, "invalid_request_error", null, param);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return bad("body", "The request body must be a JSON object.");
  }
  const fields = body as Record<string, unknown>;
  const { model, voice, input, instructions } = fields;
  const format = fields["response_format"];
  if (typeof model !== "string" || model === "") return bad("model", "you must provide a model parameter");
  if (typeof voice !== "string" || voice === "") return bad("voice", "you must provide a voice parameter");
  if (typeof input !== "string" || input === "") return bad("input", "you must provide a non-empty input parameter");
  if ([...input].length > MAX_INPUT_CHARS) {
    return bad("input", `String should have at most ${MAX_INPUT_CHARS} characters (got ${[...input].length})`);
  }
  if (format !== "pcm") {
    return bad("response_format", `fake speech supports only response_format "pcm", got ${JSON.stringify(format ?? null)}`);
  }
  if (instructions !== undefined && typeof instructions !== "string") {
    return bad("instructions", "instructions must be a string");
  }
  return { model, voice, input, instructions: instructions ?? null };
}

class Speech implements FakeSpeech {
  readonly requests: SpeechRequestSeen[] = [];
  readonly counts: FakeSpeechCounts = { requests: 0, rejected: 0, faulted: 0, completed: 0, cancelled: 0 };
  private readonly queued: SpeechFault[] = [];
  private always: SpeechFault | SpeechFaultChooser | null = null;
  private readonly cache = new Map<string, Uint8Array>();

  constructor(
    private readonly apiKey: string,
    private readonly timing: Timing,
    private readonly msPerChar: number,
  ) {}

  handle(request: Request, url: URL): Promise<Response> | Response | null {
    if (url.pathname !== PATH) return null;
    this.counts.requests++;
    if (request.method !== "POST") {
      this.counts.rejected++;
      return vendorError(405, `fake speech: ${request.method} ${PATH} is not allowed; use POST`, "invalid_request_error", null);
    }
    const auth = request.headers.get("authorization");
    if (auth !== `Bearer ${this.apiKey}`) {
      this.counts.rejected++;
      const message = auth ? "Incorrect API key provided." : "You didn't provide an API key.";
      return vendorError(401, message, "invalid_request_error", auth ? "invalid_api_key" : null);
    }
    return this.answer(request);
  }

  failNext(fault: SpeechFault, times = 1): void {
    checkFault(fault);
    if (!Number.isInteger(times) || times < 1) {
      throw new Error(`fake speech: failNext times ${String(times)} is not allowed; use an integer ≥ 1`);
    }
    for (let i = 0; i < times; i++) this.queued.push(fault);
  }

  failAlways(fault: SpeechFault | SpeechFaultChooser | null): void {
    if (fault !== null && typeof fault !== "function") checkFault(fault);
    this.always = fault;
  }

  pcmFor(text: string): Int16Array {
    const bytes = this.waveform(text);
    return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  private async answer(request: Request): Promise<Response> {
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      this.counts.rejected++;
      return vendorError(400, "We could not parse the JSON body of your request.", "invalid_request_error", null);
    }
    const seen = parseBody(body);
    if (seen instanceof Response) {
      this.counts.rejected++;
      return seen;
    }
    this.requests.push(seen);
    if (this.requests.length > REQUESTS_KEPT) this.requests.shift();
    const always = typeof this.always === "function" ? this.always(seen) : this.always;
    if (always !== null && typeof this.always === "function") checkFault(always);
    const fault = this.queued.shift() ?? always;
    if (fault) this.counts.faulted++;
    if (fault?.kind === "status") return faultResponse(fault.status, fault.message);
    const bytes = this.waveform(seen.input);
    return new Response(this.stream(bytes, hashText(seen.input), fault), {
      headers: { "Content-Type": "audio/pcm" },
    });
  }

  private waveform(text: string): Uint8Array {
    const cached = this.cache.get(text);
    if (cached) return cached;
    const pcm = renderSpeech(text, this.msPerChar);
    const bytes = new Uint8Array(pcm.buffer);
    if (this.cache.size >= CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(text, bytes);
    return bytes;
  }

  /** 40–100 ms chunks; every third one carries one extra byte, so sample boundaries often fall mid-chunk. */
  private stream(bytes: Uint8Array, seed: number, fault: BodyFault | null): ReadableStream<Uint8Array> {
    const stalls = fault?.kind === "stall";
    const limit = fault === null ? bytes.length : Math.min(bytes.length, fault.afterBytes ?? 0);
    const { ttfbMs, chunkIntervalMs } = this.timing;
    const counts = this.counts;
    let offset = 0;
    let index = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let random = seed || 1;
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          return new Promise<void>((resolve) => {
            if (stalls && offset >= limit) return;
            timer = setTimeout(() => {
              timer = undefined;
              if (fault?.kind === "disconnect" && offset >= limit) {
                // An undefined reason makes Bun drop the connection without printing anything.
                controller.error(undefined);
                resolve();
                return;
              }
              random = (Math.imul(random, 1664525) + 1013904223) >>> 0;
              const chunkSamples = Math.round(((40 + (random % 61)) * SAMPLE_RATE) / 1000);
              const end = Math.min(limit, offset + chunkSamples * 2 + (index % 3 === 1 ? 1 : 0));
              controller.enqueue(bytes.slice(offset, end));
              offset = end;
              index++;
              if (offset >= bytes.length) {
                counts.completed++;
                controller.close();
              }
              resolve();
            }, offset === 0 ? ttfbMs : chunkIntervalMs);
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
}

export function createFakeSpeech(options: FakeSpeechOptions = {}): FakeSpeech {
  const apiKey = options.apiKey ?? "test";
  if (typeof apiKey !== "string" || apiKey === "") {
    throw new Error(`fake speech: apiKey ${JSON.stringify(apiKey)} is not allowed; use a non-empty string`);
  }
  const timing: Timing = {
    ttfbMs: nonNegative("ttfbMs", options.ttfbMs, 0),
    chunkIntervalMs: nonNegative("chunkIntervalMs", options.chunkIntervalMs, 5),
  };
  const msPerChar = nonNegative("msPerChar", options.msPerChar, 65);
  return new Speech(apiKey, timing, msPerChar);
}
