/**
 * The recognizer's deadline for one caller turn: from the caller's speech end (the local
 * detector's), a final result (even an empty one) or an utterance end must arrive within the
 * deadline, else the recognizer counts as failed for that turn. A result that came after the
 * caller's last loud frame already answers the turn.
 */
export class SttDeadline {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the recognizer last gave a final result or an utterance end. */
  private lastResultAt = 0;

  constructor(
    readonly deadlineMs: number,
    /** The deadline passed with no answer; `speechEndAt` is the turn's speech end. */
    private readonly onMissed: (speechEndAt: number) => void,
  ) {
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) throw new Error(`STT deadline ${deadlineMs} ms is not allowed; it must be a positive number of milliseconds`);
  }

  /** Waiting for the recognizer's answer to a turn. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** The caller stopped speaking at `speechEndAt`; returns whether an answer is now awaited. */
  watch(speechEndAt: number): boolean {
    if (this.lastResultAt >= speechEndAt) return false;
    this.stop();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.lastResultAt < speechEndAt) this.onMissed(speechEndAt);
    }, Math.max(0, speechEndAt + this.deadlineMs - Date.now()));
    return true;
  }

  /** The recognizer answered (a final or an utterance end): any pending deadline is met. */
  answered(): void {
    this.lastResultAt = Date.now();
    this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
