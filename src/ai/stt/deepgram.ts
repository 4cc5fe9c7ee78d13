/**
 * Deepgram live speech-to-text through the official SDK (`listen.v1`). One WebSocket per call:
 * linear16 at the call's own rate in, Results/SpeechStarted/UtteranceEnd out. The SDK never
 * reconnects on its own (`reconnectAttempts: 0`): the call layer decides whether to try again.
 */
import { DeepgramClient } from "@deepgram/sdk";
import { bunWebSocketTransport } from "./bun-websocket-transport.ts";
import type { Logger } from "../../log.ts";
import type { SpeechToText, SttEvent, SttHandlers, SttOptions, SttStream } from "./types.ts";

export interface DeepgramSttOptions {
  apiKey: string;
  /** ws(s):// or http(s):// base (a local fake in tests); null = Deepgram's own endpoint. */
  baseUrl: string | null;
  model: string;
  /** The longest open() may take before it rejects. */
  timeoutMs: number;
  log: Logger;
}

const DEFAULT_BASE_URL = "wss://api.deepgram.com";
const LISTEN_PATH = "/v1/listen";
const ENDPOINTING_MS = 300;
const UTTERANCE_END_MS = 1000;
/** How long close() waits for Deepgram to send its last results and close the socket itself. */
const CLOSE_WAIT_MS = 2000;
const KEEP_ALIVE = { type: "KeepAlive" } as const;
const FINALIZE = { type: "Finalize" } as const;
const CLOSE_STREAM = { type: "CloseStream" } as const;

/**
 * Regional tags Nova-3 serves as their own models (Deepgram's Nova-3 language changelog);
 * any other tag is sent as its primary subtag ("fr-FR" -> "fr"), which Nova-3 expects.
 */
const REGIONAL_TAGS: ReadonlySet<string> = new Set([
  "en-us", "en-gb", "en-au", "en-in", "en-nz", "fr-ca", "es-419", "pt-br", "pt-pt", "de-ch", "nl-be",
  "sv-se", "da-dk", "ko-kr", "th-th", "zh-cn", "zh-tw", "zh-hk", "zh-hans", "zh-hant",
]);

/** The `language` query value for a BCP-47 tag. */
export function deepgramLanguageFor(tag: string): string {
  const trimmed = tag.trim();
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(trimmed)) {
    throw new Error(`Deepgram STT: language "${tag}" is not a BCP-47 tag (e.g. "fr-FR", "en-US", "pt-BR")`);
  }
  const lower = trimmed.toLowerCase();
  if (REGIONAL_TAGS.has(lower)) return trimmed;
  return lower.split("-")[0] as string;
}

type ListenSocket = Awaited<ReturnType<DeepgramClient["listen"]["v1"]["connect"]>>;
type ConnectArgs = Parameters<DeepgramClient["listen"]["v1"]["connect"]>[0];

export function createDeepgramStt(options: DeepgramSttOptions): SpeechToText {
  if (options.apiKey.trim() === "") throw new Error("Deepgram STT: the API key is empty (set DEEPGRAM_API_KEY)");
  if (options.model.trim() === "") throw new Error("Deepgram STT: the model name is empty (set DEEPGRAM_MODEL, e.g. nova-3)");
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new Error(`Deepgram STT: timeoutMs ${options.timeoutMs} is not allowed; it must be a positive number of milliseconds`);
  }
  const base = webSocketBase(options.baseUrl);
  const client = new DeepgramClient({ apiKey: options.apiKey, baseUrl: base, transportFactory: bunWebSocketTransport });
  const where = `${base}${LISTEN_PATH}`;
  return {
    id: `deepgram:${options.model}`,
    open: (stt, handlers) => openStream(client, where, options, stt, handlers),
  };
}

/** The SDK dials whatever scheme it is given: map http(s) to ws(s) and drop any credentials. */
function webSocketBase(baseUrl: string | null): string {
  if (baseUrl === null) return DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`Deepgram STT: base URL "${baseUrl}" is not a URL; expected e.g. wss://api.deepgram.com or ws://127.0.0.1:8080`);
  }
  const scheme = { "ws:": "ws:", "wss:": "wss:", "http:": "ws:", "https:": "wss:" }[url.protocol];
  if (scheme === undefined) {
    throw new Error(`Deepgram STT: base URL "${baseUrl}" has scheme ${url.protocol}; allowed: ws, wss, http, https`);
  }
  const path = url.pathname.replace(/\/+$/, "");
  return `${scheme}//${url.host}${path}`;
}

function connectArgs(model: string, timeoutMs: number, stt: SttOptions): ConnectArgs {
  // keyterm prompting exists only on Nova-3; other models answer it with a 400.
  const keyterms = model.startsWith("nova-3") && stt.keyterms.length > 0 ? [...stt.keyterms] : undefined;
  return {
    model,
    language: deepgramLanguageFor(stt.language),
    encoding: "linear16",
    sample_rate: stt.sampleRate,
    channels: 1,
    interim_results: "true",
    endpointing: ENDPOINTING_MS,
    utterance_end_ms: UTTERANCE_END_MS,
    vad_events: "true",
    smart_format: "true",
    punctuate: "true",
    keyterm: keyterms,
    reconnectAttempts: 0,
    // Our own timer (timeoutMs) rejects first with a clear message; this only stops the SDK's.
    connectionTimeoutInSeconds: timeoutMs / 1000 + 1,
  };
}

function checkSttOptions(stt: SttOptions): void {
  if (!Number.isInteger(stt.sampleRate) || stt.sampleRate < 8000 || stt.sampleRate > 48000) {
    throw new Error(`Deepgram STT: sample rate ${stt.sampleRate} is not allowed; it must be an integer from 8000 to 48000 Hz`);
  }
}

function openStream(client: DeepgramClient, where: string, options: DeepgramSttOptions, stt: SttOptions, handlers: SttHandlers): Promise<SttStream> {
  let args: ConnectArgs;
  try {
    checkSttOptions(stt);
    args = connectArgs(options.model, options.timeoutMs, stt);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<SttStream>((resolve, reject) => {
    let settled = false;
    let socket: ListenSocket | null = null;
    const fail = (cause: string, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (socket) closeQuietly(socket);
      options.log.warn("deepgram open failed", { url: where, cause });
      reject(new Error(`Deepgram STT could not open ${where}: ${cause}`, error === undefined ? undefined : { cause: error }));
    };
    const timer = setTimeout(() => fail(`timed out after ${options.timeoutMs} ms`), options.timeoutMs);
    client.listen.v1.connect(args).then(
      (created) => {
        if (settled) {
          closeQuietly(created);
          return;
        }
        socket = created;
        const stream = new DeepgramStream(created, handlers, options.log);
        created.on("open", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          stream.opened();
          options.log.debug("deepgram stream open", { url: where, rate: stt.sampleRate });
          resolve(stream);
        });
        created.on("message", (message: unknown) => stream.received(message));
        created.on("close", (event: { code?: number; reason?: string }) => {
          // The SDK reports a failed handshake as close(1000) then error: let the error name the cause.
          const detail = `${event.code ?? "no code"}${event.reason ? ` ${event.reason}` : ""}`;
          if (!settled) queueMicrotask(() => fail(`the connection closed before opening (${detail})`));
          else stream.socketClosed(event.code ?? 1005, event.reason ?? "");
        });
        created.on("error", (error: Error) => {
          if (!settled) fail(describeOpenError(error.message, options.timeoutMs), error);
          else stream.socketFailed(error);
        });
        try {
          created.connect();
        } catch (error) {
          fail(error instanceof Error ? error.message : String(error), error);
        }
      },
      (error: unknown) => fail(error instanceof Error ? error.message : String(error), error),
    );
  });
}

function describeOpenError(message: string, timeoutMs: number): string {
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status === "401" || status === "403") return `HTTP ${status}: the API key was refused (check DEEPGRAM_API_KEY)`;
  if (status === "429") return "HTTP 429: too many requests (concurrency or rate limit of the Deepgram project)";
  if (status === "400") return "HTTP 400: Deepgram rejected the query (model, language or audio parameters)";
  if (status !== undefined) return `HTTP ${status} from the server`;
  if (message === "TIMEOUT") return `timed out after ${timeoutMs} ms`;
  if (/ECONNREFUSED|Failed to connect/.test(message)) return `connection refused (${message})`;
  return message;
}

function closeQuietly(socket: ListenSocket): void {
  try {
    socket.close();
  } catch {
    // Already closed: nothing left to release.
  }
}

type Phase = "opening" | "open" | "closing" | "closed";

class DeepgramStream implements SttStream {
  private phase: Phase = "opening";
  private dropped = 0;
  private sentFrames = 0;
  private failure: Error | null = null;
  private closeCode = 0;
  private closeReason = "";
  private endScheduled = false;
  private serverClosed: ((inTime: boolean) => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly socket: ListenSocket,
    private readonly handlers: SttHandlers,
    private readonly log: Logger,
  ) {}

  opened(): void {
    this.phase = "open";
  }

  send(pcm: Int16Array): void {
    if (this.phase !== "open") {
      this.dropped++;
      return;
    }
    try {
      // The view itself goes out: its bytes are the little-endian samples, no copy, no new buffer.
      this.socket.sendMedia(pcm);
      this.sentFrames++;
    } catch {
      this.dropped++;
    }
  }

  keepAlive(): void {
    this.control(KEEP_ALIVE);
  }

  finalize(): void {
    this.control(FINALIZE);
  }

  close(): Promise<void> {
    this.closing ??= this.closeGracefully();
    return this.closing;
  }

  received(message: unknown): void {
    if (this.phase === "closed") return;
    const event = toSttEvent(message);
    if (event === null) {
      if (!isMetadata(message)) this.log.debug("deepgram message ignored", { message: preview(message) });
      return;
    }
    try {
      this.handlers.onEvent(event);
    } catch (error) {
      this.log.error("stt event handler threw", { error: String(error) });
    }
  }

  socketClosed(code: number, reason: string): void {
    if (this.phase === "opening" || this.phase === "closed") return;
    this.closeCode = code;
    this.closeReason = reason;
    if (this.phase === "closing") this.serverClosed?.(true);
    else this.scheduleEnd();
  }

  socketFailed(error: Error): void {
    if (this.phase === "opening" || this.phase === "closed") return;
    this.failure = error;
    if (this.phase === "closing") this.serverClosed?.(true);
    else this.scheduleEnd();
  }

  private control(message: typeof KEEP_ALIVE | typeof FINALIZE): void {
    if (this.phase !== "open") return;
    try {
      if (message.type === "KeepAlive") this.socket.sendKeepAlive(message);
      else this.socket.sendFinalize(message);
    } catch (error) {
      this.log.debug("deepgram control message not sent", { type: message.type, error: String(error) });
    }
  }

  /** The SDK reports a failure as close(1000) then error in one go: wait a microtask to see both. */
  private scheduleEnd(): void {
    if (this.endScheduled || this.phase === "closed") return;
    this.endScheduled = true;
    queueMicrotask(() => this.end(this.unexpectedEndError()));
  }

  private unexpectedEndError(): Error {
    if (this.failure !== null && (this.closeCode === 0 || this.closeCode === 1000)) {
      return new Error(`Deepgram stream failed: ${this.failure.message}`, { cause: this.failure });
    }
    const reason = this.closeReason !== "" ? this.closeReason : this.closeCode === 1006 ? "(connection lost without a close frame)" : "(no reason)";
    return new Error(`Deepgram closed the stream: ${this.closeCode} ${reason}`);
  }

  private async closeGracefully(): Promise<void> {
    if (this.phase !== "open") {
      this.end(null);
      return;
    }
    this.phase = "closing";
    const serverClosed = new Promise<boolean>((resolve) => {
      this.serverClosed = resolve;
    });
    try {
      this.socket.sendCloseStream(CLOSE_STREAM);
    } catch {
      this.end(null);
      return;
    }
    const timer = setTimeout(() => this.serverClosed?.(false), CLOSE_WAIT_MS);
    const inTime = await serverClosed;
    clearTimeout(timer);
    if (!inTime) this.log.warn("deepgram did not close the stream in time; closing it", { waitMs: CLOSE_WAIT_MS });
    this.end(null);
  }

  private end(error: Error | null): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    closeQuietly(this.socket);
    const fields = { frames: this.sentFrames, dropped: this.dropped };
    if (error) this.log.warn("deepgram stream lost", { ...fields, error: error.message });
    else this.log.debug("deepgram stream closed", fields);
    try {
      this.handlers.onClosed(error);
    } catch (thrown) {
      this.log.error("stt close handler threw", { error: String(thrown) });
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isMetadata(message: unknown): boolean {
  return isRecord(message) && message.type === "Metadata";
}

/** One Deepgram message as an SttEvent; null for anything else (Metadata, unknown, malformed). */
export function toSttEvent(message: unknown): SttEvent | null {
  if (!isRecord(message)) return null;
  switch (message.type) {
    case "Results": {
      const channel = message.channel;
      const alternatives = isRecord(channel) ? channel.alternatives : undefined;
      const first: unknown = Array.isArray(alternatives) ? alternatives[0] : undefined;
      if (!isRecord(first) || typeof first.transcript !== "string") return null;
      return {
        type: "transcript",
        text: first.transcript,
        isFinal: message.is_final === true,
        speechFinal: message.speech_final === true,
        fromFinalize: message.from_finalize === true,
      };
    }
    case "UtteranceEnd":
      return { type: "utteranceEnd" };
    case "SpeechStarted":
      return { type: "speechStarted" };
    default:
      return null;
  }
}

function preview(message: unknown): string {
  const text = typeof message === "string" ? message : message instanceof Blob ? `<binary ${message.size} bytes>` : JSON.stringify(message);
  return (text ?? String(message)).slice(0, 200);
}
