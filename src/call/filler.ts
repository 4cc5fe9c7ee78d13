/**
 * "Un instant, s'il vous plaît." when a caller is kept waiting: FILLER_AFTER_MS after their speech
 * end, before the reply asked for if it has no audio yet, or alone while the recognizer has not
 * answered; a reply still silent that long after the phrase ended gets "still working on it", up
 * to MAX_FILLERS phrases in all.
 */
import type { PhraseCache } from "../media/phrase-cache.ts";
import type { Playout, Utterance } from "../media/playout.ts";
import type { CallMetrics } from "./metrics.ts";

/** "Nothing ready 1 s after the caller stopped speaking" → the filler phrase; still nothing 1 s after it → another. */
export const FILLER_AFTER_MS = 1000;
/** Fillers per reply: the deadlines end a reply's wait well before a third would be due. */
const MAX_FILLERS = 3;

export interface FillerHost {
  readonly playout: Playout;
  readonly phrases: PhraseCache;
  readonly metrics: CallMetrics;
  expedite(): void;
}

/** What the caller still waits for when a filler is due: a reply (its utterance heads the queue, silent), the recognizer's words, or nothing. */
export type Waiting = "reply" | "words" | null;

export class Filler {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly host: FillerHost,
    private readonly delayMs: number,
  ) {}

  /** From the caller's speech end; `waiting` is asked when each phrase is due. Replaces any armed one. */
  arm(speechEndAt: number, waiting: () => Waiting): void {
    this.clear();
    this.schedule(Math.max(0, speechEndAt + this.delayMs - Date.now()), waiting, 0);
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number, waiting: () => Waiting, played: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      const what = waiting();
      if (what === null) return;
      const { playout } = this.host;
      const key = played === 0 ? "filler" : "stillWorking";
      const audio = this.host.phrases.get(key, playout.rate);
      if (!audio) return;
      const filler: Utterance = {
        id: 0, keys: [key], segments: [audio], interruptible: true, onStart: () => undefined,
        onEnd: (interrupted) => {
          if (!interrupted && what === "reply" && played + 1 < MAX_FILLERS) this.schedule(this.delayMs, waiting, played + 1);
        },
      };
      if (what === "words") playout.enqueue(filler);
      else if (!playout.insertBeforeHead(filler)) return;
      this.host.metrics.fillers++;
      this.host.expedite();
    }, delayMs);
  }
}
