/**
 * What the bot says in one call: each `say` of the dialog becomes an utterance on the call's
 * playout, from the phrase cache when every phrase is ready at the call's rate, else from the live
 * voice; its start and end are stored as a bot turn and its end reported to the dialog.
 */
import type { DialogAction, DialogEvent, PhraseId } from "../dialog/types.ts";
import { speechText } from "../dialog/phrases.ts";
import type { Logger } from "../log.ts";
import { callStartSegments } from "../media/phrase-audio.ts";
import type { Playout, Utterance } from "../media/playout.ts";
import type { SessionDeps } from "./session-deps.ts";
import { phraseKeys } from "./speech.ts";
import { feedTextPrompt } from "./text-prompt.ts";

/** The call a BotSpeech speaks in. */
export interface SpeechHost {
  readonly callId: number;
  readonly id: string;
  readonly log: Logger;
  readonly playout: Playout;
  /** The call has ended: an utterance ending now reports nothing. */
  readonly ended: boolean;
  /** Aborted when the call ends: stops its live-voice downloads. */
  readonly signal: AbortSignal;
  feed(event: DialogEvent): void;
  pauseSilence(): void;
  /** A prompt that awaits an answer was played: the caller's turn, `patienceMs` and what the PBX still plays from now. */
  awaitCaller(patienceMs: number): void;
}

type Say = Extract<DialogAction, { type: "say" }>;

export class BotSpeech {
  /** Something was said already (a pre-roll has begun the greeting): only the call's first words start with a shorter lead-in. */
  private spokeBefore: boolean;

  constructor(private readonly host: SpeechHost, private readonly deps: SessionDeps) {
    this.spokeBefore = deps.preRoll !== null;
  }

  /**
   * Fixed phrases play from the phrase cache when all are ready at this call's rate; otherwise (the
   * cache is still rendering: first start, new voice, an unusual rate) the live voice says them at
   * once, like a prompt with free text, instead of the caller waiting for the render.
   */
  say(action: Say): void {
    const { playout, log } = this.host;
    const rate = playout.rate;
    const keys = phraseKeys(action.parts);
    const audio = action.parts.some((part) => "text" in part) ? null : this.deps.phrases.audioFor(keys, rate);
    const utterance = this.spoken(action, audio === null ? [] : keys);
    const first = !this.spokeBefore;
    this.spokeBefore = true;
    if (audio !== null) {
      if (this.deps.preRoll?.adopt(keys, utterance)) return;
      utterance.segments = first ? callStartSegments(audio, rate) : audio;
      playout.enqueue(utterance);
      return;
    }
    playout.enqueue(utterance);
    feedTextPrompt(utterance, action.parts, { ...this.deps, callUuid: this.host.id, rate, signal: this.host.signal, log });
    // This call's next prompts (and other calls at an unusual rate) then come from the cache; a failure is start-up's to report.
    if (keys.length > 0 && !this.deps.phrases.hasRate(rate)) this.deps.phrases.ensureRate(rate).catch((err: unknown) => log.debug("phrases not rendered at this rate yet", { rate, error: String(err) }));
  }

  /**
   * The call's rate changed: what was queued plays again from its start at the new rate. Streamed
   * speech (a reply, synthesized text) was resampled for the old rate: it is cut, and so are
   * phrases not ready at the new one.
   */
  retune(rate: number): void {
    const { playout } = this.host;
    for (const u of playout.retune(rate)) {
      const audio = u.keys.length === 0 ? null : this.deps.phrases.audioFor(u.keys, rate);
      if (audio === null) {
        u.onEnd(true);
        continue;
      }
      u.segments = audio;
      playout.enqueue(u);
    }
  }

  /** An utterance whose start and end are stored as a bot turn and reported to the dialog. */
  private spoken(action: Say, keys: PhraseId[]): Utterance {
    const { host, deps } = this;
    const { utteranceId: id, awaitInput, interruptible } = action;
    const text = speechText(action.parts, deps.texts);
    const patienceMs = action.patienceMs ?? 0;
    let turnId: number | null = null;
    return {
      id,
      keys,
      interruptible,
      segments: [],
      onStart: () => {
        host.pauseSilence();
        if (turnId === null) turnId = deps.store.addTurn(host.callId, { speaker: "bot", text, startedAt: Date.now() });
      },
      onEnd: (interrupted) => {
        if (turnId !== null) deps.store.finishTurn(turnId, { endedAt: Date.now(), interrupted });
        if (interrupted || host.ended) return;
        host.feed({ type: "spoken", utteranceId: id });
        if (awaitInput) host.awaitCaller(patienceMs);
      },
    };
  }
}
