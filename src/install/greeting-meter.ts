/**
 * What doctor's synthetic call measures of the greeting: when its first sound arrives, at which
 * rate, and whether frames come at real time (50 per second) rather than in a burst.
 */

/** The window the pacing is judged over, from the first sound. */
const PACING_WINDOW_MS = 1500;
/** ±7 % of 50 frames/s: loopback jitter moves a frame or two across the window's ends, a burst moves many. */
const PACING_TOLERANCE = 0.07;
export const GREETING_LIMIT_MS = 300;

export interface GreetingFigures {
  /** From the call's start to the first non-silent sample; null = none heard. */
  firstAudioMs: number | null;
  /** The rates the audio came at. */
  rates: number[];
  /** 20 ms frames' worth of audio received within PACING_WINDOW_MS of the first sound. */
  framesInWindow: number;
  expectedFrames: number;
  paced: "real time" | "too fast" | "too slow" | "not measured";
}

export class GreetingMeter {
  private readonly startedAt = performance.now();
  private firstAt: number | null = null;
  private samplesInWindow = 0;
  private readonly rates = new Set<number>();

  /** One chunk of the bot's audio as it arrived. */
  heard(samples: Int16Array, rate: number, atMs = performance.now()): void {
    this.rates.add(rate);
    if (this.firstAt === null) {
      if (!samples.some((s) => Math.abs(s) > 64)) return;
      this.firstAt = atMs;
    }
    if (atMs - this.firstAt <= PACING_WINDOW_MS) this.samplesInWindow += (samples.length * 8000) / rate;
  }

  /** The window has passed since the first sound: the call can end. */
  done(atMs = performance.now()): boolean {
    return this.firstAt !== null && atMs - this.firstAt > PACING_WINDOW_MS + 40;
  }

  figures(): GreetingFigures {
    const expectedFrames = PACING_WINDOW_MS / 20;
    const framesInWindow = Math.round(this.samplesInWindow / 160);
    let paced: GreetingFigures["paced"] = "not measured";
    if (this.firstAt !== null) {
      if (framesInWindow > expectedFrames * (1 + PACING_TOLERANCE) + 1) paced = "too fast";
      else if (framesInWindow < expectedFrames * (1 - PACING_TOLERANCE) - 1) paced = "too slow";
      else paced = "real time";
    }
    return {
      firstAudioMs: this.firstAt === null ? null : this.firstAt - this.startedAt,
      rates: [...this.rates],
      framesInWindow,
      expectedFrames,
      paced,
    };
  }
}
