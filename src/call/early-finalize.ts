/**
 * When to ask the recognizer for the caller's words before its own endpointing would send them.
 * Deepgram ends an utterance after ENDPOINTING_MS (300) of silence, then needs its processing
 * time; a Finalize answers at once. So at the caller's first real pause (EARLY_FINALIZE_MS of quiet
 * after a run of speech) the final is asked for, and the reply starts that much sooner. Words the
 * caller adds after such a pause reach the bot as a barge-in on a reply not yet heard, and the model
 * answers both parts.
 */

/** Longer than the pauses inside a word (stops: 30–60 ms) or between the words of a phrase. */
export const EARLY_FINALIZE_MS = 100;
const FRAME_MS = 20;
const QUIET_FRAMES = EARLY_FINALIZE_MS / FRAME_MS;
/** Loud frames in one run that make it worth finalizing: not a click or a breath. */
const MIN_SPEECH_FRAMES = 6;

export class EarlyFinalize {
  /** Loud caller frames (the bot silent) in the current run of speech, and quiet ones since the last. */
  private speechFrames = 0;
  private quietFrames = 0;

  /** Per exact 20 ms inbound frame; true once per pause that should finalize. Allocation-free. */
  push(loud: boolean, botSpeaking: boolean): boolean {
    if (loud) {
      this.quietFrames = 0;
      // The bot's own voice coming back as echo is not the caller's turn.
      if (!botSpeaking) this.speechFrames++;
      return false;
    }
    if (++this.quietFrames !== QUIET_FRAMES) return false;
    const spoke = this.speechFrames >= MIN_SPEECH_FRAMES;
    this.speechFrames = 0;
    return spoke;
  }
}
