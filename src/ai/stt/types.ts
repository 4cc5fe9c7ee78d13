/** Streamed PCM in, transcripts and speech-start events out. One implementation per provider. */
export interface SttOptions {
  /** Rate of the PCM that will be sent (the call's own rate: no resampling on the way in). */
  sampleRate: number;
  /** BCP-47, e.g. "fr-FR". */
  language: string;
  /** Words the recognizer should favour: company name, product words. */
  keyterms: readonly string[];
}

export type SttEvent =
  | {
      type: "transcript";
      text: string;
      /** This stretch of audio will not be revised again. */
      isFinal: boolean;
      /** The provider's endpointing saw the end of the caller's sentence. */
      speechFinal: boolean;
      /** The result answers a finalize() request. */
      fromFinalize: boolean;
    }
  /** The provider saw no word for utterance_end_ms after the last one. */
  | { type: "utteranceEnd" }
  /** The provider's own voice-activity detection heard speech begin. */
  | { type: "speechStarted" };

export interface SttHandlers {
  onEvent(event: SttEvent): void;
  /** The stream is gone: null after close(), else why (the call may reconnect once). */
  onClosed(error: Error | null): void;
}

export interface SttStream {
  /** One frame of audio; dropped (never throws) if the stream is not open. */
  send(pcm: Int16Array): void;
  /** Keeps the stream open while no audio is sent (the bot is speaking). */
  keepAlive(): void;
  /** Asks for the pending results now (the end of a caller's turn). */
  finalize(): void;
  /** Flushes, then closes; onClosed(null) follows. Safe to call twice. */
  close(): Promise<void>;
}

export interface SpeechToText {
  /** e.g. "deepgram:nova-3". */
  readonly id: string;
  /** Resolves once the stream is open; rejects with a specific error (auth, unreachable, timeout). */
  open(options: SttOptions, handlers: SttHandlers): Promise<SttStream>;
}
