/**
 * Fills one streamed utterance, in order, from pieces that become ready out of order: cached
 * phrase audio (ready at once) and text the TTS voice synthesizes (each request starts as soon
 * as the text is known, so sentence 2 downloads while sentence 1 plays). TTS audio goes through
 * one resample stream per utterance, opened while the first request is still on its way, and is
 * appended chunk by chunk: the caller hears the first words while the rest still downloads.
 */
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { ResampleStream, ResamplerPool } from "../media/resampler.ts";
import type { Utterance } from "../media/playout.ts";

interface Piece {
  /** What the caller hears, for the transcript of what was actually said. */
  readonly text: string;
  /** TTS output at the voice's rate (resampled on the way in), else audio at the call's rate. */
  readonly synthesized: boolean;
  readonly chunks: Int16Array[];
  done: boolean;
  error: unknown;
  /** Utterance sample offsets of this piece once appended. */
  start: number;
  end: number;
  wake: (() => void) | null;
}

export interface FeederDeps {
  tts: TextToSpeech;
  resampler: ResamplerPool;
  /** The call's rate: what the utterance's segments must be in. */
  rate: number;
  signal: AbortSignal;
  /** The first TTS bytes of the utterance's first piece arrived (what the caller hears first); when it was asked for. */
  onFirstAudio?: (requestedAt: number) => void;
  /** The utterance got its first playable samples. */
  onFirstSegment?: () => void;
}

export class UtteranceFeeder {
  private readonly pieces: Piece[] = [];
  private finished = false;
  private appended = 0;
  /** Pieces whose place in the utterance is known (being appended or done). */
  private placed = 0;
  private wakeRun: (() => void) | null = null;
  private stream: Promise<ResampleStream> | null = null;
  private firstAudio = false;
  /** Settles when every piece is appended (or the first TTS failure, which rejects). */
  readonly done: Promise<void>;

  constructor(
    readonly utterance: Utterance,
    private readonly deps: FeederDeps,
  ) {
    utterance.open = true;
    utterance.played = 0;
    this.done = this.run();
    // Owners await `done`; this keeps an abandoned feeder from raising an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Cached audio at the call's rate (a phrase or a digit). */
  addAudio(text: string, audio: Int16Array): void {
    this.push({ text, synthesized: false, chunks: [audio], done: true, error: null, start: 0, end: 0, wake: null });
  }

  /** Text to synthesize; the request starts now. */
  addText(text: string): void {
    const piece: Piece = { text, synthesized: true, chunks: [], done: false, error: null, start: 0, end: 0, wake: null };
    this.push(piece);
    this.stream ??= this.deps.resampler.openStream(this.deps.tts.sampleRate, this.deps.rate);
    this.stream.catch(() => undefined);
    void this.download(piece);
  }

  /** No more pieces: the utterance closes once the last one is appended. */
  finish(): void {
    this.finished = true;
    this.wakeRun?.();
  }

  /** The text the caller has heard so far: whole pieces, then the played share of the current one's words. */
  heard(): string {
    const played = this.utterance.played ?? 0;
    const parts: string[] = [];
    for (let i = 0; i < this.placed; i++) {
      const piece = this.pieces[i] as Piece;
      if (played >= piece.end) {
        parts.push(piece.text);
        continue;
      }
      if (played > piece.start) {
        const words = piece.text.split(/\s+/);
        // Still downloading: its length is not known yet, so estimate it from the text.
        const length = Number.isFinite(piece.end) ? piece.end - piece.start : piece.text.length * SPOKEN_SAMPLES_PER_CHAR * this.deps.rate;
        const share = Math.min(1, (played - piece.start) / Math.max(1, length));
        const n = Math.floor(words.length * share);
        if (n > 0) parts.push(`${words.slice(0, n).join(" ")}…`);
      }
      break;
    }
    return parts.join(" ").trim();
  }

  private push(piece: Piece): void {
    if (this.finished) throw new Error("utterance feeder: a piece was added after finish()");
    this.pieces.push(piece);
    this.wakeRun?.();
  }

  private async download(piece: Piece): Promise<void> {
    const requestedAt = Date.now();
    try {
      for await (const chunk of this.deps.tts.synthesize(piece.text, this.deps.signal)) {
        if (!this.firstAudio && piece === this.pieces[0]) {
          this.firstAudio = true;
          this.deps.onFirstAudio?.(requestedAt);
        }
        piece.chunks.push(chunk);
        piece.wake?.();
      }
    } catch (err) {
      piece.error = err;
    }
    piece.done = true;
    piece.wake?.();
  }

  private async run(): Promise<void> {
    const u = this.utterance;
    try {
      for (let i = 0; ; i++) {
        while (i >= this.pieces.length) {
          if (this.finished) return;
          await new Promise<void>((resolve) => (this.wakeRun = resolve));
          this.wakeRun = null;
        }
        const piece = this.pieces[i] as Piece;
        piece.start = this.appended;
        piece.end = Number.POSITIVE_INFINITY;
        this.placed = i + 1;
        await this.appendPiece(piece);
        piece.end = this.appended;
      }
    } finally {
      u.open = false;
      this.close();
    }
  }

  /** Appends a piece's chunks in order as they arrive, resampling synthesized ones. */
  private async appendPiece(piece: Piece): Promise<void> {
    let next = 0;
    for (;;) {
      if (this.deps.signal.aborted) throw this.deps.signal.reason;
      if (next < piece.chunks.length) {
        const chunk = piece.chunks[next] as Int16Array;
        piece.chunks[next++] = EMPTY;
        if (piece.synthesized) {
          const stream = await (this.stream as Promise<ResampleStream>);
          this.append(await stream.push(chunk));
        } else {
          this.append(chunk);
        }
        continue;
      }
      if (piece.done) {
        if (piece.error !== null) throw piece.error;
        return;
      }
      await new Promise<void>((resolve) => (piece.wake = resolve));
      piece.wake = null;
    }
  }

  private append(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.utterance.segments.push(samples);
    if (this.appended === 0) this.deps.onFirstSegment?.();
    this.appended += samples.length;
  }

  /** Releases the resample stream (the utterance keeps what was appended). */
  close(): void {
    void this.stream?.then((s) => s.close(), () => undefined);
  }
}

const EMPTY = new Int16Array(0);
/** Typical speaking pace of a TTS voice: about 15 characters per second. */
const SPOKEN_SAMPLES_PER_CHAR = 0.065;
