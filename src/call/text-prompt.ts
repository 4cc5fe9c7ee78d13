/**
 * A prompt with free text in it (a callback time, a name): its cached phrases and its synthesized
 * text are fed to one streamed utterance in the order the dialog wrote them. A phrase not rendered
 * at the call's rate yet (the cache is still rendering) is said by the live voice, so the utterance
 * never waits for the cache and is all one voice.
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
  /** The call's rate. */
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
  // A phrase the cache is rendering right now is heard from that render, not asked of the voice again.
  const tts = phrases.liveVoice(deps.tts);
  const feeder = new UtteranceFeeder(utterance, { tts, resampler: deps.resampler, rate, signal });
  for (const part of parts) {
    if ("text" in part) feeder.addText(part.text);
    else for (const key of phraseKeys([part])) {
      // Only this voice's phrases (never a previous voice's) beside its live speech.
      const audio = phrases.get(key, rate);
      if (audio) feeder.addAudio(texts[key], audio);
      else feeder.addText(texts[key]);
    }
  }
  feeder.finish();
  feeder.done.catch((err: unknown) => {
    if (!signal.aborted) deps.log.warn("a prompt's synthesized text could not be spoken", { error: String(err) });
  });
}
