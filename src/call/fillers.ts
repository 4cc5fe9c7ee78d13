/**
 * What covers a late reply: "Un instant, s'il vous plaît." when the reply has no audio 1 s after
 * the caller stopped speaking, then, if it still has none 1 s after that phrase ended (the model
 * was switched, the offline voice took over), "Je m'en occupe, encore un petit instant.", up to
 * MAX_FILLERS phrases in all. Each plays before the reply, which must not have started. While
 * the recognizer has not answered (no reply asked for yet), the first phrase plays alone.
 */
import type { PhraseCache } from "../media/phrase-cache.ts";
import type { Playout, Utterance } from "../media/playout.ts";
import type { CallMetrics } from "./metrics.ts";

/** "Nothing ready 1 s after the caller stopped speaking" → the filler phrase; still nothing 1 s after it → another. */
export const FILLER_AFTER_MS = 1000;
/** Fillers per reply at most: the provider deadlines end a wait before a fourth would be due. */
const MAX_FILLERS = 3;

export interface FillerHost {
  readonly playout: Playout;
  readonly phrases: PhraseCache;
  readonly metrics: CallMetrics;
}

export class Fillers {
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `waiting(u)`: the reply whose utterance is `u` is still the one the caller waits for. */
  constructor(
    private readonly host: FillerHost,
    private readonly delayMs: number,
    private readonly waiting: (reply: Utterance) => boolean,
  ) {}

  /** A reply was just asked for: cover it if it has no audio `delayMs` after the caller's speech end. */
  arm(reply: Utterance, speechEndAt: number): void {
    this.stop();
    this.schedule(reply, Math.max(0, speechEndAt + this.delayMs - Date.now()), 0);
  }

  /** No reply yet, the caller's words not recognized: "one moment" alone, if still waiting `delayMs` after their speech end and nothing plays. */
  armAlone(speechEndAt: number, waiting: () => boolean): void {
    this.stop();
    this.timer = setTimeout(() => {
      this.timer = null;
      const { playout, phrases, metrics } = this.host;
      const audio = phrases.get("filler", playout.rate);
      if (!waiting() || playout.busy || !audio) return;
      playout.enqueue({ id: 0, keys: ["filler"], segments: [audio], interruptible: true, onStart: () => undefined, onEnd: () => undefined });
      metrics.fillers++;
    }, Math.max(0, speechEndAt + this.delayMs - Date.now()));
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(reply: Utterance, delayMs: number, played: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      const { playout, phrases, metrics } = this.host;
      if (!this.waiting(reply) || reply.segments.length > 0 || playout.head !== reply) return;
      const key = played === 0 ? "filler" : "stillWorking";
      const audio = phrases.get(key, playout.rate);
      if (!audio) return;
      const filler: Utterance = {
        id: 0, keys: [key], segments: [audio], interruptible: true, onStart: () => undefined,
        onEnd: (interrupted) => {
          if (!interrupted && played + 1 < MAX_FILLERS) this.schedule(reply, this.delayMs, played + 1);
        },
      };
      if (playout.insertBeforeHead(filler)) metrics.fillers++;
    }, delayMs);
  }
}
