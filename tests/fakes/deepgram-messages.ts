/**
 * The JSON messages the fake Deepgram sends, shaped as the real live API's (SDK
 * `listen/resources/v1/types`): Results, SpeechStarted, UtteranceEnd, Metadata.
 */

export interface ModelDescription {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly uuid: string;
}

export function describeModel(model: string): ModelDescription {
  return { name: `general-${model}`, version: "2025-01-01.0", arch: model, uuid: "00000000-0000-4000-8000-00000000f4ce" };
}

export interface ResultsFields {
  readonly requestId: string;
  readonly model: ModelDescription;
  /** All the words of the utterance; the first `shown` are in this result. */
  readonly words: readonly string[];
  readonly shown: number;
  /** Audio seconds since the stream began. */
  readonly start: number;
  readonly duration: number;
  readonly isFinal: boolean;
  readonly speechFinal: boolean;
  readonly fromFinalize: boolean;
}

function round3(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** Word timings spread evenly over the stretch of audio, as a recognizer would report them. */
export function resultsMessage(f: ResultsFields): string {
  const count = Math.min(f.shown, f.words.length);
  const step = count > 0 ? f.duration / count : 0;
  const words = [];
  for (let i = 0; i < count; i++) {
    const punctuated = f.words[i] as string;
    words.push({
      word: punctuated.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, ""),
      start: round3(f.start + i * step),
      end: round3(f.start + (i + 1) * step),
      confidence: 0.98,
      punctuated_word: punctuated,
    });
  }
  return JSON.stringify({
    type: "Results",
    channel_index: [0, 1],
    duration: round3(f.duration),
    start: round3(f.start),
    is_final: f.isFinal,
    speech_final: f.speechFinal,
    channel: { alternatives: [{ transcript: f.words.slice(0, count).join(" "), confidence: count > 0 ? 0.98 : 0, words }] },
    metadata: {
      request_id: f.requestId,
      model_info: { name: f.model.name, version: f.model.version, arch: f.model.arch },
      model_uuid: f.model.uuid,
    },
    from_finalize: f.fromFinalize,
  });
}

export function speechStartedMessage(timestamp: number): string {
  return JSON.stringify({ type: "SpeechStarted", channel: [0], timestamp: round3(timestamp) });
}

export function utteranceEndMessage(lastWordEnd: number): string {
  return JSON.stringify({ type: "UtteranceEnd", channel: [0, 1], last_word_end: round3(lastWordEnd) });
}

export function metadataMessage(requestId: string, model: ModelDescription, durationSeconds: number): string {
  return JSON.stringify({
    type: "Metadata",
    transaction_key: "deprecated",
    request_id: requestId,
    sha256: "0".repeat(64),
    created: new Date().toISOString(),
    duration: round3(durationSeconds),
    channels: 1,
    models: [model.uuid],
    model_info: { [model.uuid]: { name: model.name, version: model.version, arch: model.arch } },
  });
}

/** Deepgram's JSON error body for a refused handshake. */
export function errorResponse(status: number, errCode: string, errMsg: string): Response {
  return Response.json({ err_code: errCode, err_msg: errMsg, request_id: crypto.randomUUID() }, { status });
}
