/**
 * File mode's wait for ESL: with the community mod_audio_stream, a `streamAudio` message only
 * reaches the caller through its `mod_audio_stream::play` event and our `uuid_broadcast`, and an
 * event fired while voicebot's ESL connection is down or reconnecting is lost for good. So while
 * ESL is down a call's chunks are held here, in order, and sent when it is back.
 *
 * What is still worth playing: a barge-in or the bot stopping drops what waits (`clear`), as does
 * the end of the call (`close`). Nothing waits longer than `limitMs`: a backlog older than that is
 * stale (the caller has sat in silence; replaying it would answer a moment that has passed), and
 * ESL down that long means the call cannot be heard at all, so `onExpired` tells the call why and
 * the call ends. Within the limit everything plays, oldest first: what waited is one greeting or
 * one reply, whose start the caller needs as much as its end.
 */
import type { Logger } from "../log.ts";

/** One `streamAudio` message of the bot's audio, ready to send, and how long it plays. */
export interface Chunk {
  readonly text: string;
  readonly durationMs: number;
}

/** The counters behind `voicebot_esl_playback_deferred_total` and `…_dropped_total`. */
export interface BacklogStats {
  playbackDeferred: number;
  playbackDropped: number;
}

export interface BacklogOptions {
  readonly limitMs: number;
  readonly log: Logger;
  readonly stats: BacklogStats;
  /** The oldest chunk waited `limitMs` and ESL is still down: the chunks are dropped, `detail` says why. */
  onExpired(detail: string): void;
}

/** How long the bot's audio may wait for ESL before the call is given up (file mode). */
export const ESL_WAIT_LIMIT_MS = 5000;

export class PlaybackBacklog {
  private chunks: Chunk[] = [];
  /** When the oldest waiting chunk was held (performance.now()). */
  private since = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly o: BacklogOptions) {}

  get length(): number {
    return this.chunks.length;
  }

  /** Audio waiting, in ms (each chunk's own length; the gaps between files are the caller's to add). */
  get durationMs(): number {
    return sum(this.chunks);
  }

  /**
   * Holds chunks (sent later, after those already held unless `first`). The first of a gap starts
   * the limit's clock and logs once; `first` is for chunks sent before the loss whose `::play` was lost.
   */
  hold(chunks: readonly Chunk[], first = false): void {
    if (chunks.length === 0) return;
    this.o.stats.playbackDeferred += chunks.length;
    if (this.chunks.length === 0) {
      this.since = performance.now();
      this.timer = setTimeout(() => this.expire(), this.o.limitMs);
      this.o.log.warn(`ESL is down: the bot's audio waits for it (file mode; the call ends if ESL is not back within ${this.o.limitMs} ms)`);
    }
    this.chunks = first ? [...chunks, ...this.chunks] : this.chunks.concat(chunks);
  }

  /** ESL is back: every waiting chunk, oldest first, for sending now. */
  release(): Chunk[] {
    const chunks = this.take();
    if (chunks.length > 0) {
      this.o.log.info("ESL is back: playing the bot's audio that waited for it", {
        chunks: chunks.length, audio_ms: Math.round(sum(chunks)), waited_ms: Math.round(performance.now() - this.since),
      });
    }
    return chunks;
  }

  /** Barge-in or stop: what waits is no longer wanted (not a loss: it would have been cut anyway). */
  clear(): void {
    const chunks = this.take();
    if (chunks.length > 0) this.o.log.debug("dropped the bot's audio waiting for ESL: the bot was stopped", { chunks: chunks.length });
  }

  /** The call is over: what still waits was never heard because ESL was down. */
  close(): void {
    const chunks = this.take();
    if (chunks.length === 0) return;
    this.o.stats.playbackDropped += chunks.length;
    this.o.log.info("the call ended while the bot's audio waited for ESL: dropped", { chunks: chunks.length, audio_ms: Math.round(sum(chunks)) });
  }

  private expire(): void {
    const chunks = this.take();
    this.o.stats.playbackDropped += chunks.length;
    const seconds = (sum(chunks) / 1000).toFixed(1);
    this.o.onExpired(`ESL to FreeSWITCH stayed down for ${this.o.limitMs} ms while the bot had ${seconds} s of audio to play (file mode needs ESL's uuid_broadcast): dropped it`);
  }

  private take(): Chunk[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }
}

function sum(chunks: readonly Chunk[]): number {
  let ms = 0;
  for (const chunk of chunks) ms += chunk.durationMs;
  return ms;
}
