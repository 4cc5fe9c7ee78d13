/**
 * Google Cloud Speech-to-Text v1 StreamingRecognize through the official client (gRPC), behind the
 * SpeechToText interface. v1, not v2: v1 streams LINEAR16 at 8/16 kHz with the `telephony` model,
 * voice-activity events and phrase hints with no recognizer resource to create per project.
 *
 * What Google lacks, done the nearest correct way: there is no Finalize (Google's own endpointing
 * ends an utterance with a final result, mapped to speechFinal, so finalize() asks nothing) and no
 * KeepAlive (a stream with no audio for ~10 s is ended; keepAlive() sends 20 ms of silence). A
 * stream is capped at ~5 minutes: before the cap a new stream opens, new audio goes to it, and the
 * old one is half-closed so it still delivers the words it heard (the rollover).
 *
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
  once(event: "end", listener: () => void): unknown;
  once(event: "error", listener: (error: unknown) => void): unknown;
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

export function createGoogleStt(options: GoogleSttOptions): SpeechToText {
  if (!/^[A-Za-z0-9._-]+$/.test(options.model)) throw new Error(`Google STT: model ${JSON.stringify(options.model)} is not allowed; use e.g. telephony`);
  const client = new SpeechClient(googleClientOptions(options));
  const id = `google:${options.model}`;
  return {
    id,
    open: async (stt, handlers) => {
      if (stt.sampleRate !== 8000 && stt.sampleRate !== 16000) throw new Error(`Google STT: sample rate ${stt.sampleRate} is not allowed; 8000 or 16000`);
      const stream = new GoogleStream(client, id, options, stt, handlers);
      stream.start();
      return stream;
    },
  };
}

class GoogleStream implements SttStream {
  private current: RecognizeStream | null = null;
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

  start(): void {
    // Retries are ours: the call re-opens once on its own (recognizer-link.ts).
    const stream = (this.client as unknown as RawSpeechClient)._streamingRecognize({ retry: null });
    stream.on("data", (response: RecognizeResponse) => this.received(response));
    stream.on("error", (error: unknown) => this.failed(stream, error));
    stream.on("end", () => {
      if (stream === this.current && !this.closed) this.failed(stream, new Error("the stream ended"));
    });
    stream.write(this.request);
    this.current = stream;
    if (this.rollTimer !== null) clearTimeout(this.rollTimer);
    this.rollTimer = setTimeout(() => this.rollOver(), this.o.rolloverMs ?? DEFAULT_ROLLOVER_MS);
  }

  send(pcm: Int16Array): void {
    if (this.closed || this.current === null) return;
    // A copy: the caller reuses its frame buffer, and the client serializes later.
    this.current.write({ audioContent: Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength)) });
  }

  keepAlive(): void {
    if (this.closed || this.current === null) return;
    this.current.write({ audioContent: this.silence });
  }

  /** Google has no Finalize: its endpointing sends the final result, which already ends the turn. */
  finalize(): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rollTimer !== null) clearTimeout(this.rollTimer);
    const last = this.current;
    this.current = null;
    let failure: ProviderError | null = null;
    if (last !== null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          last.cancel();
          resolve();
        }, CLOSE_WAIT_MS);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        last.once("end", done);
        // Refused while flushing (a key, a model): say why rather than a clean close.
        last.once("error", (error: unknown) => {
          const f = grpcFailure(error);
          if (f.status !== 499) failure = new ProviderError(this.id, f.message, f.status, f.retryable);
          done();
        });
        last.end();
      });
    }
    this.handlers.onClosed(failure);
  }

  /** The next stream takes the audio from now on; the old one is half-closed and still delivers what it heard. */
  private rollOver(): void {
    if (this.closed) return;
    const old = this.current;
    this.start();
    old?.end();
    this.o.log.debug("google stream rolled over", { id: this.id });
  }

  private received(response: RecognizeResponse): void {
    if (this.closed && this.current === null) return;
    const event = String(response.speechEventType ?? "");
    if (event === "SPEECH_ACTIVITY_BEGIN") this.handlers.onEvent({ type: "speechStarted" });
    else if (event === "SPEECH_ACTIVITY_END") this.handlers.onEvent({ type: "utteranceEnd" });
    const results = response.results ?? [];
    if (results.length === 0) return;
    const isFinal = results.some((r) => r.isFinal === true);
    const text = results.map((r) => r.alternatives?.[0]?.transcript ?? "").join("").trim();
    if (text === "") return;
    this.handlers.onEvent({ type: "transcript", text, isFinal, speechFinal: isFinal, fromFinalize: false });
  }

  private failed(stream: RecognizeStream, error: unknown): void {
    // An old stream after the rollover, or any stream after close(): nothing the call needs to know.
    if (stream !== this.current || this.closed) return;
    const failure = grpcFailure(error);
    if (failure.status === 400 && /maximum allowed stream duration/i.test(failure.message)) {
      this.o.log.warn("google stream hit its duration cap before the rollover; reopening", { id: this.id });
      this.start();
      return;
    }
    this.closed = true;
    this.current = null;
    if (this.rollTimer !== null) clearTimeout(this.rollTimer);
    stream.cancel();
    this.handlers.onClosed(new ProviderError(this.id, failure.message, failure.status, failure.retryable));
  }
}
