/** Text in, streamed PCM out. One implementation per provider; the offline one needs no key. */
export interface TextToSpeech {
  /** e.g. "espeak-ng:fr" — part of the phrase cache key, so a voice change invalidates the cache. */
  readonly voiceId: string;
  /** Rate of the PCM the provider produces (eSpeak-NG: 22050, OpenAI pcm: 24000). */
  readonly sampleRate: number;
  /** Mono Int16 chunks at `sampleRate`, as they are produced. Aborting ends the stream early. */
  synthesize(text: string, signal?: AbortSignal): AsyncIterable<Int16Array>;
  /**
   * The same voice producing `rate` itself, for a voice that can (Deepgram Aura): a call's speech
   * then needs no resampling. Absent, or `this` for a rate it cannot produce.
   */
  atRate?(rate: number): TextToSpeech;
  close(): Promise<void>;
}

/** The voice a call at `rate` speaks with: the voice at that rate when it can produce it. */
export function voiceAtRate(tts: TextToSpeech, rate: number): TextToSpeech {
  return tts.atRate?.(rate) ?? tts;
}
