/**
 * The conversation figures a caller notices, measured on the caller's side of the wire: how long
 * after they stop speaking the bot's voice starts, and how long the bot goes on talking once they
 * speak over it. Pure bookkeeping over frame times, allocation-free per frame.
 */

/** Bot speech separated by less than this is one stretch (pauses between words). */
const BOT_GAP_MS = 300;
/** The bot counts as stopped after this much silence. */
const STOP_CONFIRM_MS = 300;

export class TurnTimer {
  /** Caller speech end → first bot speech frame, one per caller utterance the bot answered. */
  readonly responseMs: number[] = [];
  /** Caller speech onset (over the bot) → end of the bot's last frame with any sound in it. */
  readonly bargeInStopMs: number[] = [];
  private lastLoudSentMs = Number.NEGATIVE_INFINITY;
  private awaitingResponse = false;
  private lastBotSpeechMs = Number.NEGATIVE_INFINITY;
  private lastBotFrameMs = 20;
  private lastBotSoundMs = Number.NEGATIVE_INFINITY;
  private botSpeechStartMs = Number.NEGATIVE_INFINITY;
  private interrupting = false;
  private onsetMs: number | null = null;
  /** The caller finished (last loud frame, or a key) and waits for the bot; null when not waiting. */
  private waitingSinceMs: number | null = null;
  /** The caller spoke or pressed a key since the bot's last speech: a pause then is the caller's. */
  private callerActed = false;
  private longestMs = 0;

  /**
   * The longest silence the caller did not cause: their speech end or key → the bot's next speech,
   * a pause inside the bot's speech with no caller activity, or a wait the call ended in.
   */
  longestSilenceMs(endMs: number): number {
    return Math.max(this.longestMs, this.waitingSinceMs === null ? 0 : endMs - this.waitingSinceMs);
  }

  /** The caller pressed a key: the bot's next words answer it. */
  callerKey(nowMs: number): void {
    this.callerActed = true;
    this.waitingSinceMs = nowMs;
  }

  /** When the caller's current speech over the bot became loud, until the bot is heard stopping; else null. */
  get bargeInOnsetMs(): number | null {
    return this.onsetMs;
  }

  /** How long the bot has been talking without a pause, at `nowMs` (0 when it is quiet). */
  botSpeakingForMs(nowMs: number): number {
    return nowMs - this.lastBotSpeechMs < BOT_GAP_MS ? nowMs - this.botSpeechStartMs : 0;
  }

  /** The caller starts an utterance; `overBot`: on purpose, while the bot talks. */
  callerStarts(overBot: boolean): void {
    this.callerActed = true;
    this.waitingSinceMs = null;
    this.interrupting = overBot;
    this.onsetMs = null;
    this.awaitingResponse = false;
  }

  /** One 20 ms frame of the caller's utterance was sent. */
  callerFrame(loud: boolean, nowMs: number): void {
    if (!loud) return;
    this.lastLoudSentMs = nowMs;
    if (this.interrupting && this.onsetMs === null) this.onsetMs = nowMs;
  }

  /** The caller's utterance is over: its answer is awaited (if the bot is quiet by then). */
  callerEnds(nowMs: number): void {
    this.awaitingResponse = nowMs - this.lastBotSpeechMs >= BOT_GAP_MS;
    this.waitingSinceMs = Math.min(nowMs, this.lastLoudSentMs);
  }

  /**
   * One frame from the bot arrived; `speech` as the listener judged it, `sound` when anything at all
   * is audible (a word's quiet tail is still the bot talking: only silence means it stopped).
   */
  botFrame(speech: boolean, sound: boolean, arrivalMs: number, durationMs: number): void {
    if (sound) {
      this.lastBotSoundMs = arrivalMs;
      this.lastBotFrameMs = durationMs;
    }
    if (speech) {
      if (this.waitingSinceMs !== null) this.longestMs = Math.max(this.longestMs, arrivalMs - this.waitingSinceMs);
      else if (!this.callerActed && Number.isFinite(this.lastBotSpeechMs)) this.longestMs = Math.max(this.longestMs, arrivalMs - this.lastBotSpeechMs);
      this.waitingSinceMs = null;
      this.callerActed = false;
      if (arrivalMs - this.lastBotSpeechMs >= BOT_GAP_MS) this.botSpeechStartMs = arrivalMs;
      this.lastBotSpeechMs = arrivalMs;
      if (this.awaitingResponse && arrivalMs > this.lastLoudSentMs) {
        this.responseMs.push(arrivalMs - this.lastLoudSentMs);
        this.awaitingResponse = false;
      }
      return;
    }
    if (this.onsetMs !== null && arrivalMs - this.lastBotSoundMs >= STOP_CONFIRM_MS) {
      this.bargeInStopMs.push(Math.max(0, this.lastBotSoundMs + this.lastBotFrameMs - this.onsetMs));
      this.onsetMs = null;
      this.interrupting = false;
    }
  }
}
