/**
 * A local fake of Deepgram's live STT WebSocket (`GET /v1/listen`), for tests and
 * `voicebot bench --fake-providers`. It checks the handshake like Deepgram (Token auth, 401/400
 * JSON before the upgrade), hears utterances by energy (deepgram-session.ts), answers with
 * scripted words, and misbehaves on request. Quiet: it never prints.
 */
import type { Server } from "bun";
import { describeModel, errorResponse } from "./deepgram-messages.ts";
import { FakeListenSession, type ConnectionRecord, type FakeDeepgramConnection, type FakeDeepgramTranscript, type SessionSettings } from "./deepgram-session.ts";
import type { FakeRoute } from "./http.ts";

export type { FakeDeepgramConnection, FakeDeepgramTranscript } from "./deepgram-session.ts";

/** What the caller "says": the Nth utterance of a connection is `script[N]` ("" beyond its end). */
export type FakeDeepgramScript = readonly string[] | ((connection: number, utterance: number) => string);

export interface FakeDeepgramFaults {
  /** Refuse every handshake with this HTTP status (Deepgram's JSON body). */
  reject: 401 | 429 | 500 | null;
  /** Close 1011 "NET-0000" this long after the connection opens. */
  dropAfterMs: number | null;
  /** Accept audio and control messages, never answer, never close. */
  stall: boolean;
  /** The next n handshakes fail with 503. */
  refuseConnections: number;
}

/** How one connection misbehaves, chosen at its handshake (failNext / failAll). */
export type FakeDeepgramFault =
  /** The handshake is refused with this HTTP status (Deepgram's JSON body). */
  | { kind: "reject"; status: 401 | 429 | 500 | 503 }
  /** Close 1011 "NET-0000" this long after the connection opens. */
  | { kind: "drop"; afterMs: number }
  /**
   * The socket stays open and takes audio and control messages, but results stop: none at all
   * (`afterUtterances` 0, the default), or none after that many utterances got their final.
   */
  | { kind: "stall"; afterUtterances?: number };

export interface FakeDeepgramOptions extends Partial<FakeDeepgramFaults> {
  /** The key expected in `Authorization: Token <key>`; default "fake-deepgram-key". */
  apiKey?: string;
  script?: FakeDeepgramScript;
  /** Extra wait before each final result, as a real provider takes time; default 0. */
  delayMs?: number;
  /** Silence that ends an utterance; default the query's `endpointing` (Deepgram's default: 10). */
  endpointingMs?: number;
  /** No audio and no KeepAlive for this long closes 1011 "NET-0001"; default 10 000. */
  idleTimeoutMs?: number;
  /** A 20 ms frame louder than this (RMS) is speech; default −40 dBFS. */
  thresholdDbfs?: number;
  /** Speech needed before an utterance starts; default 60. */
  onsetMs?: number;
  /** Speech between interim results; default 250. */
  interimEveryMs?: number;
  /** More of Deepgram's API on the same host, answered before the listen endpoint (the speak fake). */
  routes?: readonly FakeRoute[];
}

export interface FakeDeepgram {
  /** "ws://127.0.0.1:PORT": the base URL to give the SDK. */
  readonly url: string;
  readonly port: number;
  readonly apiKey: string;
  /** Every connection that was upgraded, in order. */
  readonly connections: readonly FakeDeepgramConnection[];
  /** Every Results message sent, in order. */
  readonly transcripts: readonly FakeDeepgramTranscript[];
  /** Handshakes refused (auth, query, reject, refuse), in order. */
  readonly refusals: readonly { readonly status: number; readonly reason: string }[];
  setScript(script: FakeDeepgramScript): void;
  /** Changes misbehaviour for new connections, or also for the open ones ("all": stall, dropAfterMs). */
  setFaults(faults: Partial<FakeDeepgramFaults>, applyTo?: "new" | "all"): void;
  /** The next `count` handshakes get this fault (queued after earlier failNext calls). */
  failNext(fault: FakeDeepgramFault, count?: number): void;
  /** Every handshake gets this fault (after any queued ones); null stops it. Open connections keep theirs. */
  failAll(fault: FakeDeepgramFault | null): void;
  stop(): Promise<void>;
}

const ENCODINGS = new Set(["linear16", "linear32", "flac", "alaw", "mulaw", "amr-nb", "amr-wb", "opus", "ogg-opus", "speex", "g729"]);
const REJECTIONS: Readonly<Record<401 | 429 | 500, readonly [string, string]>> = {
  401: ["INVALID_AUTH", "Invalid credentials."],
  429: ["TOO_MANY_REQUESTS", "Too many requests. Please try again later."],
  500: ["INTERNAL_SERVER_ERROR", "An internal server error occurred."],
};

interface SocketData {
  session: FakeListenSession | null;
  readonly pending: { record: ConnectionRecord; query: URLSearchParams; fault: FakeDeepgramFault | null };
}

export function startFakeDeepgram(options: FakeDeepgramOptions = {}): FakeDeepgram {
  const apiKey = options.apiKey ?? "fake-deepgram-key";
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const faults: FakeDeepgramFaults = {
    reject: options.reject ?? null,
    dropAfterMs: options.dropAfterMs ?? null,
    stall: options.stall ?? false,
    refuseConnections: options.refuseConnections ?? 0,
  };
  let script: FakeDeepgramScript = options.script ?? [];
  const connections: ConnectionRecord[] = [];
  const transcripts: FakeDeepgramTranscript[] = [];
  const refusals: { status: number; reason: string }[] = [];
  const live = new Set<FakeListenSession>();
  const queued: FakeDeepgramFault[] = [];
  let always: FakeDeepgramFault | null = null;
  const hooks = {
    words: (connection: number, utterance: number): string =>
      typeof script === "function" ? script(connection, utterance) : (script[utterance] ?? ""),
    transcriptSent: (t: FakeDeepgramTranscript): void => {
      transcripts.push(t);
    },
  };

  const refuse = (response: Response, reason: string): Response => {
    refusals.push({ status: response.status, reason });
    return response;
  };

  const server: Server<SocketData> = Bun.serve<SocketData>({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(request, srv) {
      const url = new URL(request.url);
      for (const route of options.routes ?? []) {
        const response = route.handle(request, url);
        if (response) return response;
      }
      if (faults.refuseConnections > 0) {
        faults.refuseConnections--;
        return refuse(errorResponse(503, "SERVICE_UNAVAILABLE", "fake: connection refused on request"), "refuseConnections");
      }
      if (faults.reject !== null) {
        const [code, message] = REJECTIONS[faults.reject];
        return refuse(errorResponse(faults.reject, code, message), `reject ${faults.reject}`);
      }
      const fault = queued.shift() ?? always;
      if (fault?.kind === "reject") {
        const [code, message] = fault.status === 503 ? ["SERVICE_UNAVAILABLE", "fake: connection refused on request"] : REJECTIONS[fault.status];
        return refuse(errorResponse(fault.status, code, message), `fault reject ${fault.status}`);
      }
      if (url.pathname !== "/v1/listen") return refuse(errorResponse(404, "NOT_FOUND", `fake: no route for ${url.pathname}`), "path");
      const authorization = request.headers.get("authorization") ?? "";
      if (authorization !== `Token ${apiKey}`) {
        return refuse(errorResponse(401, "INVALID_AUTH", "Invalid credentials."), authorization === "" ? "no Authorization" : "wrong key");
      }
      const problem = queryProblem(url.searchParams);
      if (problem !== null) return refuse(errorResponse(400, "INVALID_QUERY_PARAMETER", problem), problem);
      const record = newRecord(connections.length, url.searchParams, authorization);
      const upgraded = srv.upgrade(request, { data: { session: null, pending: { record, query: url.searchParams, fault } } });
      if (!upgraded) return refuse(errorResponse(426, "UPGRADE_REQUIRED", "fake: a WebSocket upgrade is required"), "not a WebSocket");
      connections.push(record);
      return undefined;
    },
    websocket: {
      idleTimeout: 0,
      open(ws) {
        const { record, query, fault } = ws.data.pending;
        const session = new FakeListenSession(record, sessionSettings(options, query), ws, hooks);
        ws.data.session = session;
        session.stalled = faults.stall;
        if (faults.dropAfterMs !== null) session.dropAfter(faults.dropAfterMs);
        if (fault?.kind === "drop") session.dropAfter(fault.afterMs);
        if (fault?.kind === "stall") session.stallAfter(fault.afterUtterances ?? 0);
        live.add(session);
      },
      message(ws, message) {
        const session = ws.data.session;
        if (session === null) return;
        if (typeof message !== "string") {
          session.audio(message);
          return;
        }
        switch (controlType(message)) {
          case "KeepAlive":
            session.keepAlive();
            break;
          case "Finalize":
            session.finalize();
            break;
          case "CloseStream":
            session.closeStream();
            break;
          default:
            break;
        }
      },
      close(ws, code, reason) {
        const session = ws.data.session;
        if (session === null) return;
        session.clientClosed(code, reason);
        live.delete(session);
      },
    },
  });

  const sweepEveryMs = Math.max(20, Math.min(1000, Math.floor(idleTimeoutMs / 4)));
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const session of live) {
      if (session.isEnded) live.delete(session);
      else if (!session.stalled && now - session.lastActivity >= idleTimeoutMs) session.closeWith(1011, "NET-0001");
    }
  }, sweepEveryMs);

  const port = server.port as number;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    apiKey,
    connections,
    transcripts,
    refusals,
    setScript(next) {
      script = next;
    },
    setFaults(next, applyTo = "new") {
      Object.assign(faults, next);
      if (applyTo !== "all") return;
      for (const session of live) {
        if (next.stall !== undefined) session.stalled = next.stall;
        if (next.dropAfterMs !== undefined && next.dropAfterMs !== null) session.dropAfter(next.dropAfterMs);
      }
    },
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) queued.push(fault);
    },
    failAll(fault) {
      always = fault;
    },
    async stop() {
      clearInterval(sweep);
      for (const session of live) session.closeWith(1001, "fake stopped");
      live.clear();
      await server.stop(true);
    },
  };
}

function controlType(message: string): string | null {
  try {
    const parsed: unknown = JSON.parse(message);
    return typeof parsed === "object" && parsed !== null && "type" in parsed && typeof parsed.type === "string" ? parsed.type : null;
  } catch {
    return null;
  }
}

/** Deepgram refuses these before the upgrade with HTTP 400. */
function queryProblem(query: URLSearchParams): string | null {
  const encoding = query.get("encoding");
  if (encoding === null) return "fake: encoding is required (the fake only decodes raw linear16)";
  if (!ENCODINGS.has(encoding)) return `Invalid encoding "${encoding}". Allowed: ${[...ENCODINGS].join(", ")}`;
  if (encoding !== "linear16") return `fake: encoding "${encoding}" is valid for Deepgram but the fake only decodes linear16`;
  const rate = query.get("sample_rate");
  if (rate === null) return "sample_rate is required when encoding is given";
  if (!/^\d+$/.test(rate) || Number(rate) < 8000 || Number(rate) > 48000) return `Invalid sample_rate "${rate}": an integer from 8000 to 48000`;
  const channels = query.get("channels") ?? "1";
  if (channels !== "1") return `fake: channels "${channels}" not supported (mono only)`;
  const endpointing = query.get("endpointing");
  if (endpointing !== null && endpointing !== "false" && !/^\d+$/.test(endpointing)) return `Invalid endpointing "${endpointing}": milliseconds or false`;
  const utteranceEnd = query.get("utterance_end_ms");
  if (utteranceEnd !== null && !/^\d+$/.test(utteranceEnd)) return `Invalid utterance_end_ms "${utteranceEnd}": milliseconds`;
  for (const flag of ["interim_results", "vad_events", "smart_format", "punctuate"]) {
    const v = query.get(flag);
    if (v !== null && v !== "true" && v !== "false") return `Invalid ${flag} "${v}": true or false`;
  }
  return null;
}

function newRecord(index: number, query: URLSearchParams, authorization: string): ConnectionRecord {
  return {
    index,
    requestId: crypto.randomUUID(),
    query: Object.fromEntries(query),
    keyterms: query.getAll("keyterm"),
    authorization,
    sampleRate: Number(query.get("sample_rate")),
    audioBytes: 0,
    keepAlives: 0,
    finalizes: 0,
    closeStreams: 0,
    utterances: 0,
    speechStarted: 0,
    utteranceEnds: 0,
    closed: null,
  };
}

function sessionSettings(options: FakeDeepgramOptions, query: URLSearchParams): SessionSettings {
  const endpointing = query.get("endpointing");
  const utteranceEnd = query.get("utterance_end_ms");
  return {
    model: describeModel(query.get("model") ?? "base"),
    vadEvents: query.get("vad_events") === "true",
    interimResults: query.get("interim_results") === "true",
    endpointingMs: options.endpointingMs ?? (endpointing === "false" ? null : endpointing === null ? 10 : Number(endpointing)),
    utteranceEndMs: utteranceEnd === null ? null : Number(utteranceEnd),
    delayMs: options.delayMs ?? 0,
    thresholdDbfs: options.thresholdDbfs ?? -40,
    onsetMs: options.onsetMs ?? 60,
    interimEveryMs: options.interimEveryMs ?? 250,
  };
}
