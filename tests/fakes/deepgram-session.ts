/**
 * One fake Deepgram live connection. It "hears" by energy: linear16 audio is cut into 20 ms frames
 * on the audio timeline; loud frames for `onsetMs` start an utterance, `endMs` of quiet frames end it.
 * What was "said" comes from the script, so tests and the bench choose the words.
 * Per-sample work is a multiply-add on bytes already in hand: nothing is allocated per frame.
 */
import { metadataMessage, resultsMessage, speechStartedMessage, utteranceEndMessage, type ModelDescription } from "./deepgram-messages.ts";

const FRAME_MS = 20;
const FRAME_S = FRAME_MS / 1000;

export interface FakeDeepgramConnection {
  readonly index: number;
  readonly requestId: string;
  /** The query as received (last value of each parameter). */
  readonly query: Readonly<Record<string, string>>;
  /** Every `keyterm` parameter, in order. */
  readonly keyterms: readonly string[];
  readonly authorization: string;
  readonly sampleRate: number;
  readonly audioBytes: number;
  readonly keepAlives: number;
  readonly finalizes: number;
  readonly closeStreams: number;
  readonly utterances: number;
  readonly speechStarted: number;
  readonly utteranceEnds: number;
  readonly closed: { readonly code: number; readonly reason: string; readonly by: "server" | "client" } | null;
}

export type ConnectionRecord = { -readonly [K in keyof FakeDeepgramConnection]: FakeDeepgramConnection[K] };

export interface FakeDeepgramTranscript {
  readonly connection: number;
  /** -1 for the empty result that answers a Finalize with nothing pending. */
  readonly utterance: number;
  readonly text: string;
  readonly isFinal: boolean;
  readonly speechFinal: boolean;
  readonly fromFinalize: boolean;
}

export interface SessionSettings {
  readonly model: ModelDescription;
  readonly vadEvents: boolean;
  readonly interimResults: boolean;
  /** null = endpointing=false: utterances still end on silence, without speech_final. */
  readonly endpointingMs: number | null;
  readonly utteranceEndMs: number | null;
  readonly delayMs: number;
  readonly thresholdDbfs: number;
  readonly onsetMs: number;
  readonly interimEveryMs: number;
}

/** The ServerWebSocket calls a session needs. */
export interface SessionPeer {
  send(text: string): unknown;
  close(code: number, reason: string): void;
}

export interface SessionHooks {
  words(connection: number, utterance: number): string;
  transcriptSent(transcript: FakeDeepgramTranscript): void;
}

interface Utterance {
  readonly index: number;
  readonly words: readonly string[];
  readonly start: number;
  lastSpeechEnd: number;
  speechFrames: number;
  shown: number;
  /** Its final result is sent or scheduled: no more interims. */
  finalized: boolean;
}

interface PendingFinal {
  readonly utterance: Utterance;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class FakeListenSession {
  stalled = false;
  /** Utterances whose final may still go out before results stop; null = no limit. */
  private finalsLeft: number | null = null;
  lastActivity = performance.now();
  private readonly frameSamples: number;
  private readonly thresholdSumSq: number;
  private readonly onsetFrames: number;
  private readonly interimFrames: number;
  private readonly endFrames: number;
  private sumSq = 0;
  private frameFill = 0;
  private framesSeen = 0;
  /** Low byte of a sample split across two messages; -1 = none. */
  private carry = -1;
  private speechRun = 0;
  private speechRunStart = 0;
  private silenceRun = 0;
  private nextUtterance = 0;
  private current: Utterance | null = null;
  private pending: PendingFinal[] = [];
  private utteranceEndTimer: ReturnType<typeof setTimeout> | null = null;
  private dropTimer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;

  constructor(
    readonly record: ConnectionRecord,
    private readonly settings: SessionSettings,
    private readonly peer: SessionPeer,
    private readonly hooks: SessionHooks,
  ) {
    this.frameSamples = Math.max(1, Math.round((record.sampleRate * FRAME_MS) / 1000));
    const threshold = 32768 * 10 ** (settings.thresholdDbfs / 20);
    this.thresholdSumSq = threshold * threshold * this.frameSamples;
    this.onsetFrames = Math.max(1, Math.round(settings.onsetMs / FRAME_MS));
    this.interimFrames = Math.max(1, Math.round(settings.interimEveryMs / FRAME_MS));
    this.endFrames = Math.max(1, Math.ceil(this.endMs() / FRAME_MS));
  }

  get isEnded(): boolean {
    return this.ended;
  }

  audio(bytes: Uint8Array): void {
    if (this.ended) return;
    this.record.audioBytes += bytes.length;
    this.lastActivity = performance.now();
    const n = bytes.length;
    let i = 0;
    if (this.carry >= 0 && n > 0) {
      this.sample(((this.carry | ((bytes[0] as number) << 8)) << 16) >> 16);
      this.carry = -1;
      i = 1;
    }
    for (; i + 1 < n; i += 2) {
      const s = (((bytes[i] as number) | ((bytes[i + 1] as number) << 8)) << 16) >> 16;
      this.sumSq += s * s;
      if (++this.frameFill === this.frameSamples) this.frame();
    }
    if (i < n) this.carry = bytes[i] as number;
  }

  keepAlive(): void {
    this.record.keepAlives++;
    this.lastActivity = performance.now();
  }

  finalize(): void {
    this.record.finalizes++;
    if (this.ended || this.stalled) return;
    let answered = this.flushPending(true);
    const u = this.current;
    if (u !== null && !u.finalized) {
      u.finalized = true;
      this.sendResults(u, u.words.length, true, false, true);
      answered = true;
      // Deepgram's words after a Finalize are new ones: speech that goes on starts the next utterance.
      this.current = null;
      this.silenceRun = 0;
      this.speechRun = 0;
    }
    if (!answered) {
      const now = this.framesSeen * FRAME_S;
      this.sendResults({ index: -1, words: [], start: now, lastSpeechEnd: now, speechFrames: 0, shown: 0, finalized: true }, 0, true, false, true);
    }
  }

  closeStream(): void {
    this.record.closeStreams++;
    if (this.ended || this.stalled) return;
    this.flushPending(false);
    const u = this.current;
    if (u !== null && !u.finalized) this.sendResults(u, u.words.length, true, false, false);
    this.current = null;
    this.peer.send(metadataMessage(this.record.requestId, this.settings.model, this.framesSeen * FRAME_S));
    this.closeWith(1000, "");
  }

  /** Results stop (the socket stays open) once `utterances` more utterances got their final. */
  stallAfter(utterances: number): void {
    this.finalsLeft = utterances;
    if (utterances <= 0) this.stalled = true;
  }

  /** Closes like Deepgram after `ms` (a fault: 1011 mid-stream). */
  dropAfter(ms: number): void {
    if (this.ended) return;
    if (this.dropTimer !== null) clearTimeout(this.dropTimer);
    this.dropTimer = setTimeout(() => this.closeWith(1011, "NET-0000"), ms);
  }

  closeWith(code: number, reason: string): void {
    if (this.ended) return;
    this.stop();
    this.record.closed = { code, reason, by: "server" };
    this.peer.close(code, reason);
  }

  clientClosed(code: number, reason: string): void {
    if (this.ended) return;
    this.stop();
    this.record.closed = { code, reason, by: "client" };
  }

  private stop(): void {
    this.ended = true;
    for (const p of this.pending) clearTimeout(p.timer);
    this.pending = [];
    if (this.utteranceEndTimer !== null) clearTimeout(this.utteranceEndTimer);
    if (this.dropTimer !== null) clearTimeout(this.dropTimer);
    this.utteranceEndTimer = null;
    this.dropTimer = null;
  }

  private endMs(): number {
    return this.settings.endpointingMs ?? this.settings.utteranceEndMs ?? 1000;
  }

  private sample(s: number): void {
    this.sumSq += s * s;
    if (++this.frameFill === this.frameSamples) this.frame();
  }

  private frame(): void {
    const loud = this.sumSq >= this.thresholdSumSq;
    this.sumSq = 0;
    this.frameFill = 0;
    const frameStart = this.framesSeen * FRAME_S;
    this.framesSeen++;
    const u = this.current;
    if (u === null) {
      if (!loud) {
        this.speechRun = 0;
        return;
      }
      if (this.speechRun === 0) this.speechRunStart = frameStart;
      if (++this.speechRun >= this.onsetFrames) this.startUtterance(frameStart + FRAME_S);
      return;
    }
    if (loud) {
      this.silenceRun = 0;
      u.lastSpeechEnd = frameStart + FRAME_S;
      u.speechFrames++;
      if (this.settings.interimResults && !u.finalized && u.words.length > 0 && u.speechFrames % this.interimFrames === 0) {
        u.shown = Math.min(u.words.length, u.shown + 1);
        this.sendResults(u, u.shown, false, false, false);
      }
      return;
    }
    if (++this.silenceRun >= this.endFrames) this.endUtterance(u);
  }

  private startUtterance(now: number): void {
    if (this.utteranceEndTimer !== null) clearTimeout(this.utteranceEndTimer);
    this.utteranceEndTimer = null;
    const index = this.nextUtterance++;
    this.record.utterances++;
    const words = this.hooks.words(this.record.index, index).split(/\s+/).filter((w) => w !== "");
    this.current = { index, words, start: this.speechRunStart, lastSpeechEnd: now, speechFrames: this.speechRun, shown: 0, finalized: false };
    this.speechRun = 0;
    this.silenceRun = 0;
    if (this.settings.vadEvents) {
      this.record.speechStarted++;
      this.emit(speechStartedMessage(this.speechRunStart));
    }
  }

  private endUtterance(u: Utterance): void {
    this.current = null;
    this.silenceRun = 0;
    const speechFinal = this.settings.endpointingMs !== null;
    if (!u.finalized) {
      u.finalized = true;
      if (this.settings.delayMs <= 0) this.sendResults(u, u.words.length, true, speechFinal, false);
      else {
        const entry: PendingFinal = {
          utterance: u,
          timer: setTimeout(() => {
            this.pending = this.pending.filter((p) => p !== entry);
            this.sendResults(u, u.words.length, true, speechFinal, false);
          }, this.settings.delayMs),
        };
        this.pending.push(entry);
      }
    }
    const utteranceEndMs = this.settings.utteranceEndMs;
    if (this.settings.interimResults && utteranceEndMs !== null) {
      // Deepgram counts utterance_end_ms from the last word; endMs of that gap has already passed.
      const wait = Math.max(0, utteranceEndMs - this.endMs()) + this.settings.delayMs;
      this.utteranceEndTimer = setTimeout(() => {
        this.utteranceEndTimer = null;
        this.record.utteranceEnds++;
        this.emit(utteranceEndMessage(u.lastSpeechEnd));
      }, wait);
    }
  }

  /** Sends the finals still waiting for `delayMs`; true if there were any. */
  private flushPending(fromFinalize: boolean): boolean {
    const due = this.pending;
    if (due.length === 0) return false;
    this.pending = [];
    for (const p of due) {
      clearTimeout(p.timer);
      this.sendResults(p.utterance, p.utterance.words.length, true, this.settings.endpointingMs !== null, fromFinalize);
    }
    return true;
  }

  private sendResults(u: Utterance, shown: number, isFinal: boolean, speechFinal: boolean, fromFinalize: boolean): void {
    if (this.ended || this.stalled) return;
    const text = u.words.slice(0, shown).join(" ");
    this.hooks.transcriptSent({ connection: this.record.index, utterance: u.index, text, isFinal, speechFinal, fromFinalize });
    if (isFinal && u.index >= 0 && this.finalsLeft !== null && --this.finalsLeft <= 0) this.stalled = true;
    this.peer.send(
      resultsMessage({
        requestId: this.record.requestId,
        model: this.settings.model,
        words: u.words,
        shown,
        start: u.start,
        duration: Math.max(0, u.lastSpeechEnd - u.start),
        isFinal,
        speechFinal,
        fromFinalize,
      }),
    );
  }

  private emit(text: string): void {
    if (this.ended || this.stalled) return;
    this.peer.send(text);
  }
}
