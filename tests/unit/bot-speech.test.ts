/**
 * The call's first words from the phrase cache drop most of the silence every cached phrase keeps
 * before its speech; later words, and words after a greeting the pre-roll began, keep all of it.
 */
import { expect, test } from "bun:test";
import { BotSpeech, type SpeechHost } from "../../src/call/bot-speech.ts";
import { PreRoll } from "../../src/call/pre-roll.ts";
import type { CallClockTarget, SessionDeps } from "../../src/call/session-deps.ts";
import type { DialogAction, PhraseId } from "../../src/dialog/types.ts";
import { trimSilence } from "../../src/media/phrase-audio.ts";
import { Playout, type Utterance } from "../../src/media/playout.ts";

const RATE = 8000;

/** A cached phrase: 30 ms of silence, then 100 ms of sound, then its tail. */
const cached = trimSilence(Int16Array.from({ length: 1600 }, (_, i) => (i >= 400 && i < 1200 ? 8000 : 0)), RATE);

function speech(preRoll: PreRoll | null): { speech: BotSpeech; queued: Utterance[] } {
  const queued: Utterance[] = [];
  const playout = new Playout(RATE);
  playout.enqueue = (u) => void queued.push(u);
  const host = { callId: 1, id: "call", playout, ended: false, signal: new AbortController().signal, feed: () => undefined, pauseSilence: () => undefined, awaitCaller: () => undefined };
  const deps = {
    phrases: { audioFor: (keys: readonly PhraseId[]) => keys.map(() => cached) },
    texts: { welcome: "Bonjour", goodbye: "Au revoir" },
    store: { addTurn: () => 1, finishTurn: () => undefined },
    preRoll,
  };
  return { speech: new BotSpeech(host as unknown as SpeechHost, deps as unknown as SessionDeps), queued };
}

const say = (utteranceId: number, phrase: PhraseId): Extract<DialogAction, { type: "say" }> => ({ type: "say", utteranceId, parts: [{ phrase }], interruptible: false, awaitInput: false });

test("without a pre-roll, the call's first words start 5 ms before their speech; the next keep their 30 ms", () => {
  const { speech: s, queued } = speech(null);
  s.say(say(1, "welcome"));
  s.say(say(2, "goodbye"));
  expect(queued[0]?.segments[0]?.length).toBe(cached.length - RATE * 0.025);
  expect(queued[0]?.segments[0]?.buffer).toBe(cached.buffer);
  expect(queued[1]?.segments[0]).toBe(cached);
});

test("after a greeting the pre-roll began, no word of the session's is the call's first", () => {
  const preRoll = new PreRoll(RATE, { keys: ["welcome"], audio: [cached] }, {} as CallClockTarget);
  const { speech: s, queued } = speech(preRoll);
  s.say(say(1, "goodbye"));
  expect(queued[0]?.segments[0]).toBe(cached);
});
