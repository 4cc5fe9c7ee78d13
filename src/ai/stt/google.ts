/**
 * Google Cloud Speech-to-Text v1 StreamingRecognize through the official client (gRPC), behind the
 * SpeechToText interface. v1, not v2: v1 streams LINEAR16 at 8/16 kHz with the `telephony` model,
 * voice-activity events and phrase hints with no recognizer resource to create per project.
 *
 * Google has no Finalize and no KeepAlive; the nearest correct things: finalize() half-closes the
 * stream, which makes Google send the final result of what it heard and end the stream (an end
 * with nothing final answers "nothing pending", as Deepgram's empty result does), while the next
 * stream already takes the audio; keepAlive() sends 20 ms of silence (Google ends a stream that
 * gets no audio for ~10 s). A stream is capped at ~5 minutes: before the cap the same switch
 * happens (the rollover), so a long call loses no words.
 *
 * Each call has its own client, hence its own HTTP/2 connection: Google's front ends take about
 * 100 concurrent streams per connection, fewer than a busy appliance's calls.
 * The client is imported from its v1 module, not the package index (see tts/google.ts: the index
 * pulls in a protobuf module that `bun build --compile --bytecode` cannot compile).
 */
import { SpeechClient } from "@google-cloud/speech/build/src/v1/speech_client";
import type { Logger } from "../../log.ts";
import { googleClientOptions, grpcFailure, type GoogleEndpoint } from "../google-grpc.ts";
import { ProviderError } from "../provider-error.ts";
import type { SpeechToText, SttHandlers, SttOptions, SttStream } from "./types.ts";

/** Google ends a stream at ~305 s; a new one starts well before. */
const DEFAULT_ROLLOVER_MS = 290_000;
/** How long close() waits for the last results. */
const CLOSE_WAIT_MS = 2000;
/** A half-closed stream that has not ended by then is dead: cancelled, no longer awaited. */
const HALF_CLOSED_WAIT_MS = 5000;

export interface GoogleSttOptions extends GoogleEndpoint {
  /** GOOGLE_STT_MODEL, e.g. telephony. */
  model: string;
  log: Logger;
  /** How long one stream lives before the next replaces it (tests make it short). */
  rolloverMs?: number;
}

/** The generated client's bidi call: StreamingRecognizeRequest objects in, responses out. */
interface RecognizeStream {
  write(request: object): boolean;
  end(): void;
  cancel(): void;
  on(event: "data", listener: (response: RecognizeResponse) => void): unknown;
  on(event: "error", listener: (error: unknown) => void): unknown;
  on(event: "end", listener: () => void): unknown;
}

/**
 * The v1 module's generated bidi call (a CancellableStream taking call options), which the package
 * index's streamingRecognize helper wraps; the declared types only name the helper.
 */
interface RawSpeechClient {
  _streamingRecognize(options: { retry: null }): RecognizeStream;
}

interface RecognizeResponse {
  results?: { alternatives?: { transcript?: string | null }[] | null; isFinal?: boolean | null }[] | null;
  speechEventType?: string | number | null;
}

/** One StreamingRecognize call of a caller's chain of streams. */
interface Leg {
  readonly stream: RecognizeStream;
  /** Audio went to it since it opened. */
  heard: boolean;
  /** Half-closed: by finalize() (its answers are fromFinalize), by the rollover, or by close(). */
  ending: "finalize" | "rollover" | "close" | null;
  /** A final result came after the half-close. */
  answered: boolean;
  /** Ended, failed or cancelled. */
  done: boolean;
}

export function createGoogleStt(options: GoogleSttOptions): SpeechToText {
  if (!/^[A-Za-z0-9._-]+$/.test(options.model)) throw new Error(`Google STT: model ${JSON.stringify(options.model)} is not allowed; use e.g. telephony`);
  // One auth client for every call (its access token is shared); a connection per call.
  const clientOptions = { ...googleClientOptions(options), "grpc.use_local_subchannel_pool": 1 };
  const id = `google:${options.model}`;
  // The first client of the process costs ~90 ms (the client's protos are loaded): paid at start-up, not by the first call.
  void new SpeechClient(clientOptions).close();
  return {
    id,
    open: async (stt, handlers) => {
      if (stt.sampleRate !== 8000 && stt.sampleRate !== 16000) throw new Error(`Google STT: sample rate ${stt.sampleRate} is not allowed; 8000 or 16000`);
      const stream = new GoogleStream(new SpeechClient(clientOptions), id, options, stt, handlers);
      stream.start();
      return stream;
    },
  };
}

class GoogleStream implements SttStream {
  private current: Leg | null = null;
  private readonly ending = new Set<Leg>();
  private rollTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly silence: Buffer;
  private readonly request: object;

  constructor(
    private readonly client: SpeechClient,
    private readonly id: string,
    private readonly o: GoogleSttOptions,
    stt: SttOptions,
    private readonly handlers: SttHandlers,
  ) {
    this.silence = Buffer.alloc((stt.sampleRate / 50) * 2);
    this.request = {
      streamingConfig: {
        config: {
          encoding: "LINEAR16",
          sampleRateHertz: stt.sampleRate,
          languageCode: stt.language,
          model: o.model,
          enableAutomaticPunctuation: true,
          speechContexts: stt.keyterms.length > 0 ? [{ phrases: [...stt.keyterms] }] : [],
        },
        interimResults: true,
        enableVoiceActivityEvents: true,
      },
    };
  }

  /** A new leg takes the audio from now on. */
  start(): void {
    // Retries are ours: the call re-opens once on its own (recognizer-link.ts).
    const stream = (this.client as unknown as RawSpeechClient)._streamingRecognize({ retry: null });
    const leg: Leg = { stream, heard: false, ending: null, answered: false, done: false };
    stream.on("data", (response: RecognizeResponse) => this.received(leg, response));
    stream.on("error", (error: unknown) => this.failed(leg, error));
    stream.on("end", () => this.ended(leg));
    stream.write(this.request);
    this.current = leg;
    if (this.rollTimer !== null) clearTimeout(this.rollTimer);
    this.rollTimer = setTimeout(() => this.switchLeg("rollover"), this.o.rolloverMs ?? DEFAULT_ROLLOVER_MS);
  }

  send(pcm: Int16Array): void {
    const leg = this.current;
    if (this.closed || leg === null) return;
    leg.heard = true;
    // A copy: the caller reuses its frame buffer, and the client serializes later.
    leg.stream.write({ audioContent: Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)) });
  }

  keepAlive(): void {
    if (this.closed || this.current === null) return;
    this.current.stream.write({ audioContent: this.silence });
  }

  finalize(): void {
    if (this.closed || this.current === null) return;
    if (this.current.heard) {
      this.switchLeg("finalize");
      return;
    }
    // Nothing sent since the last switch: nothing pending unless an earlier finalize is still out
    // (its answer will come), else answered at once (after this call returns).
    if (this.finalizePending()) return;
    queueMicrotask(() => {
      if (!this.closed) this.handlers.onEvent({ type: "transcript", text: "", isFinal: true, speechFinal: false, fromFinalize: true });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rollTimer !== null) clearTimeout(this.rollTimer);
    for (const leg of this.ending) leg.stream.cancel();
    const last = this.current;
    this.current = null;
    let failure: ProviderError | null = null;
    if (last !== null && !last.done) {
      last.ending = "close";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          last.stream.cancel();
          resolve();
        }, CLOSE_WAIT_MS);
        last.stream.on("end", () => {
          clearTimeout(timer);
          resolve();
        });
        // Refused while flushing (a key, a model): say why rather than a clean close.
        last.stream.on("error", (error: unknown) => {
          const f = grpcFailure(error);
          if (f.status !== 499) failure = new ProviderError(this.id, f.message, f.status, f.retryable);
          clearTimeout(timer);
          resolve();
        });
        last.stream.end();
      });
    }
    await this.client.close().catch(() => undefined);
    this.handlers.onClosed(failure);
  }

  /** The next leg takes the audio; the old one is half-closed and still delivers what it heard. */
  private switchLeg(why: "finalize" | "rollover"): void {
    const old = this.current;
    if (this.closed || old === null) return;
    this.start();
    old.ending = why;
    this.ending.add(old);
    old.stream.end();
    setTimeout(() => {
      if (!old.done) old.stream.cancel();
    }, HALF_CLOSED_WAIT_MS);
    if (why === "rollover") this.o.log.debug("google stream rolled over", { id: this.id });
  }

  private received(leg: Leg, response: RecognizeResponse): void {
    if (this.closed && leg.ending !== "close") return;
    const event = String(response.speechEventType ?? "");
    if (event === "SPEECH_ACTIVITY_BEGIN") this.handlers.onEvent({ type: "speechStarted" });
    else if (event === "SPEECH_ACTIVITY_END") this.handlers.onEvent({ type: "utteranceEnd" });
    const results = response.results ?? [];
    if (results.length === 0) return;
    const isFinal = results.some((r) => r.isFinal === true);
    const text = results.map((r) => r.alternatives?.[0]?.transcript ?? "").join("").trim();
    if (text === "") return;
    if (isFinal && leg.ending !== null) leg.answered = true;
    this.handlers.onEvent({ type: "transcript", text, isFinal, speechFinal: isFinal, fromFinalize: leg.ending === "finalize" });
  }

  private ended(leg: Leg): void {
    if (leg.done) return;
    leg.done = true;
    this.ending.delete(leg);
    if (leg === this.current && !this.closed) {
      this.failed(leg, new Error("the stream ended"));
      return;
    }
    // A finalize Google answered with nothing final: nothing was pending, said as Deepgram says it —
    // unless an earlier finalize is still unanswered (a stalled stream must not look answered).
    if (leg.ending === "finalize" && !leg.answered && !this.closed && !this.finalizePending()) {
      this.handlers.onEvent({ type: "transcript", text: "", isFinal: true, speechFinal: false, fromFinalize: true });
    }
  }

  private finalizePending(): boolean {
    for (const leg of this.ending) if (leg.ending === "finalize") return true;
    return false;
  }

  private failed(leg: Leg, error: unknown): void {
    leg.done = true;
    this.ending.delete(leg);
    // A leg half-closed by a switch, or any leg after close(): nothing the call needs to know.
    if (leg !== this.current || this.closed) return;
    const failure = grpcFailure(error);
    if (failure.status === 400 && /maximum allowed stream duration/i.test(failure.message)) {
      this.o.log.warn("google stream hit its duration cap before the rollover; reopening", { id: this.id });
      this.start();
      return;
    }
    this.closed = true;
    this.current = null;
    if (this.rollTimer !== null) clearTimeout(this.rollTimer);
    leg.stream.cancel();
    for (const other of this.ending) other.stream.cancel();
    void this.client.close().catch(() => undefined);
    this.handlers.onClosed(new ProviderError(this.id, failure.message, failure.status, failure.retryable));
  }
}
