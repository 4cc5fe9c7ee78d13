/**
 * The caller's silence, timed on the dialog's behalf (the dialog has no timers of its own).
 * The countdown runs only while the bot waits for an answer: it is paused while the bot speaks,
 * and any caller activity (a key, speech) starts it over. After the warning has been spoken,
 * the rest of SILENCE_HANGUP_TIMEOUT runs; activity then cancels the warned state.
 */
export class SilenceTimers {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private warned = false;

  constructor(
    private readonly warningMs: number,
    private readonly hangupMs: number,
    private readonly onWarning: () => void,
    private readonly onTimeout: () => void,
  ) {}

  /**
   * The bot has finished asking and waits: start (or resume) the countdown, `patienceMs` later
   * when the caller was asked to do something first.
   */
  arm(patienceMs = 0): void {
    if (this.timer !== null) return;
    if (this.warned) {
      this.timer = setTimeout(this.fireTimeout, this.hangupMs - this.warningMs);
    } else {
      this.timer = setTimeout(this.fireWarning, this.warningMs + patienceMs);
    }
  }

  /** The bot is speaking: no countdown meanwhile. */
  pause(): void {
    this.clear();
  }

  /** The caller did something: they are there. */
  reset(): void {
    this.warned = false;
    this.clear();
  }

  stop(): void {
    this.clear();
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly fireWarning = (): void => {
    this.timer = null;
    this.warned = true;
    this.onWarning();
  };

  private readonly fireTimeout = (): void => {
    this.timer = null;
    this.onTimeout();
  };
}
