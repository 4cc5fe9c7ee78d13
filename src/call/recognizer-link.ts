/**
 * A call's stream to the speech recognizer: opened at the call's rate, reopened once when its
 * socket fails (or throws when given audio: as good as lost), and reported lost when that fails
 * too, so the conversation can move the call to the keypad. Each failure counts against the
 * provider (metrics, circuit breaker).
 */
import type { CircuitBreaker } from "../ai/circuit-breaker.ts";
import type { SpeechToText, SttEvent, SttStream } from "../ai/stt/types.ts";
import type { Logger } from "../log.ts";
import { countProviderError, type CallMetrics } from "./metrics.ts";

export interface RecognizerSettings {
  stt: SpeechToText;
  sttBreaker: CircuitBreaker | null;
  language: string;
  keyterms: readonly string[];
}

/** The recognizer's uses, made once: the per-frame send must not allocate a closure. */
type SttUse = (stt: SttStream, pcm: Int16Array) => void;
const SEND: SttUse = (stt, pcm) => stt.send(pcm);
const FINALIZE: SttUse = (stt) => stt.finalize();
const KEEP_ALIVE: SttUse = (stt) => stt.keepAlive();
const NO_AUDIO = new Int16Array(0);

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class RecognizerLink {
  private stream: SttStream | null = null;
  private reconnected = false;
  private stopped = false;
  private rate = 0;
  /** Per frame: a bound use and no closure, so the path to the recognizer allocates nothing. */
  readonly send = (pcm: Int16Array): void => this.use(SEND, pcm);

  constructor(
    private readonly host: { readonly log: Logger; readonly metrics: CallMetrics },
    private readonly settings: RecognizerSettings,
    private readonly onEvent: (event: SttEvent) => void,
    /** The reconnect failed too: recognition is gone for this call. */
    private readonly onLost: () => void,
  ) {}

  get provider(): string {
    return this.settings.stt.id;
  }

  /** Opens a stream at `rate`, closing the one open at another rate. */
  open(rate: number): void {
    this.rate = rate;
    const old = this.stream;
    this.stream = null;
    void old?.close();
    void this.connect(false);
  }

  finalize(): void {
    this.use(FINALIZE);
  }

  keepAlive(): void {
    this.use(KEEP_ALIVE);
  }

  stop(): void {
    this.stopped = true;
    const stream = this.stream;
    this.stream = null;
    void stream?.close();
  }

  /** One use of the stream; one that throws is as good as lost. */
  private use(use: SttUse, pcm: Int16Array = NO_AUDIO): void {
    const stream = this.stream;
    if (stream === null) return;
    try {
      use(stream, pcm);
    } catch (error) {
      this.onClosed(stream, new Error(`the recognizer threw: ${describeError(error)}`));
      void Promise.resolve().then(() => stream.close()).catch(() => undefined);
    }
  }

  private async connect(retry: boolean): Promise<void> {
    const { stt, language, keyterms } = this.settings;
    try {
      const stream = await stt.open(
        { sampleRate: this.rate, language, keyterms },
        { onEvent: (e) => this.onEvent(e), onClosed: (error) => this.onClosed(stream, error) },
      );
      if (this.stopped) {
        void stream.close();
        return;
      }
      this.stream = stream;
      if (retry) this.host.log.info("speech recognition reconnected");
    } catch (err) {
      this.onClosed(null, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onClosed(stream: SttStream | null, error: Error | null): void {
    if (this.stopped || error === null) return;
    if (stream !== null && this.stream !== stream) return;
    this.stream = null;
    this.host.log.warn("speech recognition lost", { provider: this.provider, error: error.message, reconnecting: !this.reconnected });
    countProviderError(this.host.metrics, this.provider, error);
    this.settings.sttBreaker?.failure(error.message);
    if (!this.reconnected) {
      this.reconnected = true;
      this.host.metrics.sttReconnects++;
      void this.connect(true);
      return;
    }
    this.onLost();
  }
}
