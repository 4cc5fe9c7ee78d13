/**
 * The server's resident memory over a run, as `ps` shows it: sampled from /proc at a fixed
 * interval for the peak, with a coarser timeline kept for soak reports (is it still growing?).
 */
import type { ProcSample } from "./server-process.ts";

export interface RssPoint {
  /** Seconds from the start of the watch. */
  atSeconds: number;
  rssBytes: number;
  /** The server's live calls then, when known. */
  activeCalls: number | null;
}

export class RssWatch {
  peakBytes: number;
  readonly timeline: RssPoint[] = [];
  private readonly startedAt = performance.now();
  private lastPointAt = -Infinity;
  private readonly timer: ReturnType<typeof setInterval>;

  /**
   * `sample` reads the process (throws once it is gone); `activeCalls` the live calls last seen
   * (null = unknown); a timeline point is kept every `timelineMs`.
   */
  constructor(
    private readonly sample: () => ProcSample,
    startBytes: number,
    private readonly activeCalls: () => number | null,
    sampleMs: number,
    private readonly timelineMs: number,
  ) {
    this.peakBytes = startBytes;
    this.timer = setInterval(() => this.take(), sampleMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private take(): void {
    let rss: number;
    try {
      rss = this.sample().rssBytes;
    } catch {
      return; // the process is gone: whoever started it reports that
    }
    if (rss > this.peakBytes) this.peakBytes = rss;
    const now = performance.now();
    if (now - this.lastPointAt < this.timelineMs) return;
    this.lastPointAt = now;
    this.timeline.push({ atSeconds: Math.round((now - this.startedAt) / 100) / 10, rssBytes: rss, activeCalls: this.activeCalls() });
  }
}
