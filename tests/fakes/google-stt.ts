/**
 * The Speech-to-Text half of the Google fake (tests/fakes/google.ts serves it): v1
 * StreamingRecognize. It hears exactly as the Deepgram fake does (tests/fakes/deepgram-session.ts:
 * energy over 20 ms frames, words from the script) and says it Google's way: interim results with
 * a stability, a final result (isFinal) once the caller's silence lasts `endpointingMs`, and
 * SPEECH_ACTIVITY_BEGIN / _END when enable_voice_activity_events is set. Like Google it ends a
 * stream that lasts longer than `streamLimitMs` with OUT_OF_RANGE, and one that gets no audio for
 * `audioTimeoutMs`. Faults on request: a status at the start, a stall (results stop), a drop.
 *
 * A caller's streams follow one another on one connection (the client opens one per call, and a
 * new stream at each finalize and rollover): the streams of a connection are a "chain", and the
 * script numbers utterances along the chain, as the Deepgram fake numbers them along a connection.
 */
import { status as Status, type ServerDuplexStream } from "@grpc/grpc-js";
import { describeModel } from "./deepgram-messages.ts";
import { FakeListenSession, type ConnectionRecord, type FakeDeepgramTranscript } from "./deepgram-session.ts";

/** What the caller "says": the Nth utterance of the Mth chain (connection) is script(M, N), or script[N] for every chain. */
export type FakeGoogleScript = readonly string[] | ((stream: number, utterance: number) => string);

export type FakeGoogleSttFault =
  | { kind: "status"; code: Status; message?: string }
  /** Audio is taken, results stop after that many finals (default 0). */
  | { kind: "stall"; afterUtterances?: number }
  /** The stream breaks (UNAVAILABLE) this long after it opened. */
  | { kind: "drop"; afterMs: number };

export interface FakeGoogleSttOptions {
  script?: FakeGoogleScript;
  /** Silence that ends an utterance with a final result; default 300. */
  endpointingMs?: number;
  /** Extra wait before each final; default 0. */
  delayMs?: number;
  /** Google's cap on one stream (≈5 min); tests make it short to exercise the rollover. */
  streamLimitMs?: number;
  /** No audio for this long ends the stream with OUT_OF_RANGE, as Google does; default 10 000. */
  audioTimeoutMs?: number;
}

export interface GoogleStreamSeen {
  readonly index: number;
  /** The chain (client connection) it belongs to, numbered in order of first appearance. */
  readonly chain: number;
  readonly config: Readonly<Record<string, unknown>>;
  readonly audioBytes: number;
  /** How it ended: "client" (half-close, answered), "limit", "timeout", "fault", "cancelled"; null while open. */
  readonly ended: string | null;
}

export interface FakeGoogleStt {
  readonly streams: readonly GoogleStreamSeen[];
  readonly transcripts: readonly FakeDeepgramTranscript[];
  setScript(script: FakeGoogleScript): void;
  failNext(fault: FakeGoogleSttFault, times?: number): void;
  failAll(fault: FakeGoogleSttFault | null): void;
  readonly handlers: { streamingRecognize(call: ServerDuplexStream<RecognizeRequest, unknown>): void };
  close(): void;
}

interface RecognizeRequest {
  streamingConfig?: {
    config?: { encoding?: string; sampleRateHertz?: number; languageCode?: string; model?: string; speechContexts?: { phrases?: string[] }[] };
    interimResults?: boolean;
    enableVoiceActivityEvents?: boolean;
  };
  audioContent?: Uint8Array;
}

/** The Deepgram-shaped messages FakeListenSession emits, the fields read here. */
interface SessionMessage {
  type?: string;
  is_final?: boolean;
  channel?: { alternatives?: { transcript?: string }[] };
}

/** v1 models the fake knows. */
const MODELS: ReadonlySet<string> = new Set(["telephony", "telephony_short", "latest_short", "latest_long", "phone_call", "default", "command_and_search"]);

type StreamRecord = { -readonly [K in keyof GoogleStreamSeen]: GoogleStreamSeen[K] };

export function createFakeGoogleStt(options: FakeGoogleSttOptions = {}): FakeGoogleStt {
  let script: FakeGoogleScript = options.script ?? [];
  const queued: FakeGoogleSttFault[] = [];
  let always: FakeGoogleSttFault | null = null;
  const streams: StreamRecord[] = [];
  const transcripts: FakeDeepgramTranscript[] = [];
  const live = new Set<() => void>();
  const chains = new Map<string, { index: number; utterances: number }>();
  const say = (chain: number, utterance: number): string => (typeof script === "function" ? script(chain, utterance) : (script[utterance] ?? ""));

  function streamingRecognize(call: ServerDuplexStream<RecognizeRequest, unknown>): void {
    const peer = call.getPeer();
    let chain = chains.get(peer);
    if (chain === undefined) {
      chain = { index: chains.size, utterances: 0 };
      chains.set(peer, chain);
    }
    const along = chain;
    const hooks = {
      words: (): string => say(along.index, along.utterances++),
      transcriptSent: (t: FakeDeepgramTranscript): void => void transcripts.push(t),
    };
    const seen: StreamRecord = { index: streams.length, chain: along.index, config: {}, audioBytes: 0, ended: null };
    streams.push(seen);
    let session: FakeListenSession | null = null;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (how: string, error: { code: Status; details: string } | null): void => {
      if (seen.ended !== null) return;
      seen.ended = how;
      for (const t of timers) clearTimeout(t);
      live.delete(stop);
      if (session && !session.isEnded) session.clientClosed(1000, how);
      if (error) call.emit("error", error);
      else call.end();
    };
    const stop = (): void => finish("cancelled", { code: Status.UNAVAILABLE, details: "fake Google STT stopped" });
    live.add(stop);
    call.on("cancelled", () => finish("cancelled", null));
    const fault = queued.shift() ?? always;
    if (fault?.kind === "status") return finish("fault", { code: fault.code, details: fault.message ?? `fake Google STT: ${Status[fault.code]}` });
    let audioTimer = setTimeout(() => finish("timeout", { code: Status.OUT_OF_RANGE, details: "Audio Timeout Error: Long duration elapsed without audio. Audio should be sent close to real time." }), options.audioTimeoutMs ?? 10_000);
    timers.push(audioTimer);
    timers.push(setTimeout(() => finish("limit", { code: Status.OUT_OF_RANGE, details: `Exceeded maximum allowed stream duration of ${Math.round((options.streamLimitMs ?? 305_000) / 1000)} seconds.` }), options.streamLimitMs ?? 305_000));

    call.on("data", (request: RecognizeRequest) => {
      if (seen.ended !== null) return;
      if (session === null) {
        const sc = request.streamingConfig;
        const rate = sc?.config?.sampleRateHertz ?? 0;
        if (!sc?.config) return finish("fault", { code: Status.INVALID_ARGUMENT, details: "The first request must carry streaming_config." });
        if (sc.config.encoding !== "LINEAR16" || (rate !== 8000 && rate !== 16000)) {
          return finish("fault", { code: Status.INVALID_ARGUMENT, details: `this fake hears LINEAR16 at 8000 or 16000 Hz, not ${String(sc.config.encoding)} at ${rate}` });
        }
        if (!sc.config.languageCode) return finish("fault", { code: Status.INVALID_ARGUMENT, details: "language_code is required." });
        if (sc.config.model && !MODELS.has(sc.config.model)) {
          return finish("fault", { code: Status.INVALID_ARGUMENT, details: `Invalid recognition 'config': The requested model is currently not supported for language : ${sc.config.languageCode}.` });
        }
        seen.config = { ...sc.config, interimResults: sc.interimResults === true, enableVoiceActivityEvents: sc.enableVoiceActivityEvents === true };
        session = new FakeListenSession(record(seen.index, rate), {
          model: describeModel(sc.config.model ?? "default"),
          vadEvents: sc.enableVoiceActivityEvents === true,
          interimResults: sc.interimResults === true,
          endpointingMs: options.endpointingMs ?? 300,
          utteranceEndMs: null,
          delayMs: options.delayMs ?? 0,
          thresholdDbfs: -40,
          onsetMs: 60,
          interimEveryMs: 250,
        }, { send: (text) => translate(call, text), close: (code, reason) => finish(code === 1000 ? "client" : "fault", code === 1000 ? null : { code: Status.UNAVAILABLE, details: `stream broke (${reason})` }) }, hooks);
        if (fault?.kind === "stall") session.stallAfter(fault.afterUtterances ?? 0);
        if (fault?.kind === "drop") session.dropAfter(fault.afterMs);
        return;
      }
      const audio = request.audioContent;
      if (!audio || audio.length === 0) return;
      seen.audioBytes += audio.length;
      audioTimer.refresh();
      session.audio(audio);
    });
    // The client's half-close: Google answers what it heard, then ends the stream.
    call.on("end", () => {
      if (session && seen.ended === null) session.closeStream();
      else finish("client", null);
    });
  }

  return {
    streams,
    transcripts,
    setScript(next) {
      script = next;
    },
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) queued.push(fault);
    },
    failAll(fault) {
      always = fault;
    },
    handlers: { streamingRecognize },
    close() {
      for (const stop of [...live]) stop();
    },
  };
}

/** The session's Deepgram-shaped message, said as Google's StreamingRecognizeResponse. */
function translate(call: ServerDuplexStream<RecognizeRequest, unknown>, text: string): void {
  const message = JSON.parse(text) as SessionMessage;
  if (message.type === "SpeechStarted") {
    call.write({ speechEventType: "SPEECH_ACTIVITY_BEGIN" });
    return;
  }
  if (message.type === "UtteranceEnd") {
    call.write({ speechEventType: "SPEECH_ACTIVITY_END" });
    return;
  }
  if (message.type !== "Results") return;
  const transcript = message.channel?.alternatives?.[0]?.transcript ?? "";
  if (transcript === "") return;
  const isFinal = message.is_final === true;
  call.write({ results: [{ alternatives: [{ transcript, confidence: isFinal ? 0.92 : 0 }], isFinal, stability: isFinal ? 0 : 0.8 }] });
  if (isFinal) call.write({ speechEventType: "SPEECH_ACTIVITY_END" });
}

function record(index: number, sampleRate: number): ConnectionRecord {
  return {
    index, requestId: crypto.randomUUID(), query: {}, keyterms: [], authorization: "", sampleRate,
    audioBytes: 0, keepAlives: 0, finalizes: 0, closeStreams: 0, utterances: 0, speechStarted: 0, utteranceEnds: 0, closed: null,
  };
}
