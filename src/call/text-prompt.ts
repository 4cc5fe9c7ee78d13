/**
 * A prompt with free text in it (a callback time, a name): its cached phrases and its synthesized
 * text are fed to one streamed utterance in the order the dialog wrote them.
 */
import { forCall } from "../ai/call-context.ts";
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { PhraseId, SpeechPart } from "../dialog/types.ts";
import type { Logger } from "../log.ts";
import type { PhraseCache } from "../media/phrase-cache.ts";
import type { Utterance } from "../media/playout.ts";
import type { ResamplerPool } from "../media/resampler.ts";
import { phraseKeys } from "./speech.ts";
import { UtteranceFeeder } from "./utterance-feeder.ts";

export interface TextPromptDeps {
  tts: TextToSpeech;
  resampler: ResamplerPool;
  phrases: PhraseCache;
  texts: Readonly<Record<PhraseId, string>>;
  /** The call's UUID: the voice's warnings (deadline, offline fallback) name it. */
  callUuid: string;
  /** The call's rate, which the phrases are rendered at first if needed. */
  rate: number;
  /** The call's end: stops the downloads. */
  signal: AbortSignal;
  log: Logger;
}

/** Fills `utterance` (already queued) with `parts`; a voice failure is logged, and the utterance ends early. */
export function feedTextPrompt(utterance: Utterance, parts: readonly SpeechPart[], deps: TextPromptDeps): void {
  forCall(deps.callUuid, () => feed(utterance, parts, deps));
}

function feed(utterance: Utterance, parts: readonly SpeechPart[], deps: TextPromptDeps): void {
  const { phrases, texts, rate, signal } = deps;
  const feeder = new UtteranceFeeder(utterance, { tts: deps.tts, resampler: deps.resampler, rate, signal });
  phrases.ensureRate(rate).then(() => {
    for (const part of parts) {
      if ("text" in part) feeder.addText(part.text);
      else for (const key of phraseKeys([part])) feeder.addAudio(texts[key], phrases.get(key, rate) as Int16Array);
    }
    feeder.finish();
  }, () => feeder.finish());
  feeder.done.catch((err: unknown) => {
    if (!signal.aborted) deps.log.warn("a prompt's synthesized text could not be spoken", { error: String(err) });
  });
}
