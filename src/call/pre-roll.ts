/**
 * A call's greeting begun before its session is built. In a storm the admission queue builds the
 * sessions a slice at a time (rows, recorder, dialog, first prompt): a thousand of them are a few
 * hundred milliseconds of work, and the last caller would hear nothing that long. The greeting
 * needs none of it. Once the caller's first audio has come (a PBX is there, and the rate is known),
 * the dialog's opening phrases play from the phrase cache on the shared clock; the session, once
 * built, takes over the same playout and clock slot, and its dialog's first `say` adopts the
 * utterance already playing instead of starting it again. The recording starts with the session.
 */
import type { PhraseId } from "../dialog/types.ts";
import { Playout, type Utterance } from "../media/playout.ts";
import type { CallLeg } from "../transports/types.ts";
import type { CallMetrics } from "./metrics.ts";
import type { CallClockTarget } from "./session-deps.ts";

/** The opening phrases, and their audio at the call's rate from the phrase cache. */
export interface Opening {
  keys: readonly PhraseId[];
  audio: Int16Array[];
}

export class PreRoll {
  readonly playout: Playout;
  private readonly utterance: Utterance;
  /** The session's utterance for the same words, once adopted: its row and events from then on. */
  private owner: Utterance | null = null;
  private started = false;
  private ended = false;

  constructor(
    rate: number,
    private readonly opening: Opening,
    /** What the clock ticks until the session takes its slot. */
    readonly clockTarget: CallClockTarget,
  ) {
    this.playout = new Playout(rate);
    this.utterance = {
      id: 0,
      keys: opening.keys,
      segments: opening.audio,
      interruptible: false,
      onStart: () => {
        this.started = true;
        this.owner?.onStart();
      },
      onEnd: (interrupted) => {
        this.ended = true;
        this.owner?.onEnd(interrupted);
      },
    };
    this.playout.enqueue(this.utterance);
  }

  /** One frame to the PBX before the session exists. Allocation-free. */
  tick(leg: CallLeg, metrics: CallMetrics): void {
    if (leg.sendAudio(this.playout.nextFrame())) metrics.framesSent++;
  }

  /**
   * The dialog's first `say`: true when it says the opening (its row and events are `spoken`'s
   * from now on, as if it had been played from the start), false when it must be played as usual.
   */
  adopt(keys: readonly string[], spoken: Utterance): boolean {
    if (this.owner !== null || keys.join(" ") !== this.opening.keys.join(" ")) return false;
    this.owner = spoken;
    this.utterance.interruptible = spoken.interruptible;
    if (this.started) spoken.onStart();
    if (this.ended) spoken.onEnd(false);
    return true;
  }
}
