/**
 * The phrase cache: every fixed phrase rendered once per sample rate and played from memory, so a
 * greeting starts without a TTS call or a resampling step. Rendering = TTS at its own rate, trim the
 * silence around the speech, resample to the call rate in the pool, bring the peak to −3 dBFS.
 * With a cache directory, rendered phrases are kept on disk and load instantly next start, and
 * diskState() tells whether the disk already holds them (fresh), holds another voice's or
 * language's (stale), or lacks them (missing).
 * While the set renders (first start, new voice, upgrade) each phrase is usable as soon as it is
 * ready, the `first` ones (the greetings) are synthesized before the rest, and after a voice change
 * the previous voice's files stand in; an utterance is only ever played from one voice's phrases.
 */
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { Logger } from "../log.ts";
import { normalisePeak, peakOf, trimSilence } from "./phrase-audio.ts";
import { PriorityGate } from "./priority-gate.ts";
import { SynthesisTaps, type SynthesisTap } from "./synthesis-tap.ts";
import { MAX_RATE, MIN_RATE, type ResamplerPool } from "./resampler.ts";
import { readDiskState, type PhraseDiskState } from "./phrase-disk-state.ts";
import { PHRASE_FORMAT_VERSION, PhraseStore, phraseSetHashOf, textHashOf, voicebotVersion } from "./phrase-store.ts";

export interface PhraseCacheOptions {
  texts: Readonly<Record<string, string>>;
  tts: TextToSpeech;
  resampler: ResamplerPool;
  /** null = memory only. */
  cacheDir: string | null;
  log: Logger;
  /** LANGUAGE the texts are in: recorded in the manifest so a language change reads as "stale". */
  language?: string;
  /** Phrase ids rendered before the others, in this order: what a call says first (the greetings). */
  first?: readonly string[];
  /** Syntheses at once (default 4): 1 for a voice that runs one request at a time anyway (eSpeak's worker). */
  parallel?: number;
}

export interface PrepareOptions {
  /** Called as each phrase is ready at one of the rates (loaded or rendered); `total` = phrases × rates. */
  onProgress?: (done: number, total: number) => void;
}

/** Phrase × rate pairs synthesized by the TTS versus found on disk or already in memory. */
export interface PrepareReport {
  rendered: number;
  reused: number;
}

export type { PhraseDiskState, PhraseDiskStateName } from "./phrase-disk-state.ts";

const PHRASE_ID = /^[A-Za-z0-9_-]+$/;
/** A cloud TTS gets a few requests at a time, not all forty phrases at once (rate limits, fast failure). */
const MAX_PARALLEL_SYNTHESES = 4;

interface Rendered {
  audio: Int16Array;
  file: string | null;
  fromDisk: boolean;
}

function checkRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) {
    throw new RangeError(`phrase cache: sample rate ${rate} is not allowed; use an integer from ${MIN_RATE} to ${MAX_RATE} Hz`);
  }
}

export class PhraseCache {
  private readonly texts: ReadonlyMap<string, string>;
  private readonly textHashes: Readonly<Record<string, string>>;
  private readonly setHash: string;
  private readonly language: string | null;
  private readonly tts: TextToSpeech;
  private readonly resampler: ResamplerPool;
  private readonly store: PhraseStore | null;
  private readonly log: Logger;
  /** Per rate, each phrase as soon as it is ready: a call never waits for the whole set. */
  private readonly ready = new Map<number, Map<string, Int16Array>>();
  /**
   * Per rate, the same texts in the voice the disk was last built with, while this voice renders
   * (a voice change); dropped once this voice has the whole rate.
   */
  private readonly previous = new Map<number, ReadonlyMap<string, Int16Array>>();
  /** Synthesis order: `first` ids, then the others in the order given. */
  private readonly priority: ReadonlyMap<string, number>;
  private readonly gate: PriorityGate;
  /** One synthesis at a time: live speech of a queued phrase waits for its render rather than behind it. */
  private readonly serial: boolean;
  /** Syntheses queued or running, by text: live speech of the same text listens to them. */
  private readonly taps = new SynthesisTaps();
  private readonly rendering = new Map<number, Promise<PrepareReport>>();
  /** Trimmed TTS output per phrase, shared by every rate (one synthesis serves 8k, 16k and 48k). */
  private readonly sources = new Map<string, Promise<Int16Array>>();
  /** Told the rate each time one phrase is ready there: how prepare() reports progress. */
  private readonly phraseListeners = new Set<(rate: number) => void>();
  /** Manifest writes one after another: two rates finishing together must not lose one's rate. */
  private manifestWrites: Promise<void> = Promise.resolve();

  constructor(options: PhraseCacheOptions) {
    const entries = Object.entries(options.texts);
    if (entries.length === 0) throw new Error("phrase cache: no phrase texts given");
    for (const [id, text] of entries) {
      if (!PHRASE_ID.test(id)) throw new Error(`phrase cache: phrase id "${id}" is not allowed; use letters, digits, "_" and "-"`);
      if (typeof text !== "string" || text.trim() === "") {
        throw new Error(`phrase cache: the text of phrase "${id}" is empty; give it something to say`);
      }
    }
    this.texts = new Map(entries);
    const first = options.first ?? [];
    for (const id of first) if (!this.texts.has(id)) throw new Error(`phrase cache: phrase "${id}" is to be rendered first but has no text`);
    const order = [...first, ...[...this.texts.keys()].filter((id) => !first.includes(id))];
    this.priority = new Map(order.map((id, i) => [id, i]));
    const parallel = options.parallel ?? MAX_PARALLEL_SYNTHESES;
    this.gate = new PriorityGate(parallel);
    this.serial = parallel === 1;
    this.textHashes = Object.fromEntries(entries.map(([id, text]) => [id, textHashOf(text)]));
    this.setHash = phraseSetHashOf(this.texts);
    this.language = options.language ?? null;
    this.tts = options.tts;
    this.resampler = options.resampler;
    this.store = options.cacheDir === null ? null : new PhraseStore(options.cacheDir, options.log);
    this.log = options.log;
  }

  get voiceId(): string {
    return this.tts.voiceId;
  }

  get phraseCount(): number {
    return this.texts.size;
  }

  /**
   * Render (or load from disk) every phrase at each rate; resolves when all are in memory. On a
   * failure nothing is left running: the other syntheses are aborted and awaited before it rejects.
   */
  async prepare(rates: readonly number[], options: PrepareOptions = {}): Promise<PrepareReport> {
    const wanted = new Set(rates);
    const total = this.texts.size * wanted.size;
    let done = 0;
    const onProgress = options.onProgress;
    const listener = (rate: number): void => {
      if (onProgress && wanted.has(rate) && done < total) onProgress(++done, total);
    };
    if (onProgress) this.phraseListeners.add(listener);
    try {
      const settled = await Promise.allSettled([...wanted].map((rate) => this.reportFor(rate)));
      const failed = settled.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
      // A rate already in memory (or half rendered by another caller) sent fewer events than phrases.
      if (onProgress && done < total) onProgress(total, total);
      const report: PrepareReport = { rendered: 0, reused: 0 };
      for (const result of settled) {
        if (result.status === "fulfilled") {
          report.rendered += result.value.rendered;
          report.reused += result.value.reused;
        }
      }
      return report;
    } finally {
      this.phraseListeners.delete(listener);
    }
  }

  /** Same for one more rate, on demand (a 48 kHz call); concurrent calls share one render. */
  async ensureRate(rate: number): Promise<void> {
    await this.reportFor(rate);
  }

  /** Every phrase is in memory at `rate`. */
  hasRate(rate: number): boolean {
    return this.ready.get(rate)?.size === this.texts.size;
  }

  /** Phrase × rate pairs in memory now, out of `total` (for /healthz while the set renders). */
  readiness(rates: readonly number[]): { ready: number; total: number } {
    const unique = new Set(rates);
    let ready = 0;
    for (const rate of unique) ready += this.ready.get(rate)?.size ?? 0;
    return { ready, total: this.texts.size * unique.size };
  }

  /** This voice's audio of one phrase, or undefined while it is not ready at `rate`. Never copies: do not modify or transfer it. */
  get(id: string, rate: number): Int16Array | undefined {
    this.text(id);
    return this.ready.get(rate)?.get(id);
  }

  /**
   * The audio of an utterance made of `ids`, every piece from one voice: this voice's phrases when
   * all are ready, else the previous voice's (a voice change, while this one renders), else null:
   * then the caller should hear the text through the live voice rather than wait.
   */
  audioFor(ids: readonly string[], rate: number): Int16Array[] | null {
    return this.currentAudioFor(ids, rate) ?? this.pick(this.previous.get(rate), ids);
  }

  /** Same from this voice only: for an utterance that also has live speech in it. */
  currentAudioFor(ids: readonly string[], rate: number): Int16Array[] | null {
    for (const id of ids) this.text(id);
    return this.pick(this.ready.get(rate), ids);
  }

  /**
   * Loads, for the texts this cache speaks, what the disk holds in the voice of its last build
   * when that is another voice (the configured voice changed): calls use it while this voice
   * renders. Reads at once (tens of ms at most), so start-up can do it before the listeners open.
   * Returns that voice's id and the phrase × rate pairs loaded; null when there is none.
   */
  loadPreviousVoice(rates: readonly number[]): { voiceId: string; loaded: number } | null {
    const manifest = this.store?.readManifestNow();
    if (!this.store || !manifest || manifest.format !== PHRASE_FORMAT_VERSION || manifest.voiceId === this.tts.voiceId) return null;
    let loaded = 0;
    for (const rate of new Set(rates)) {
      checkRate(rate);
      const phrases = new Map<string, Int16Array>();
      for (const [id, text] of this.texts) {
        const audio = this.store.loadNow(this.store.fileFor(manifest.voiceId, rate, id, text), rate);
        if (audio) phrases.set(id, audio);
      }
      if (phrases.size > 0 && !this.hasRate(rate)) this.previous.set(rate, phrases);
      loaded += phrases.size;
    }
    return loaded > 0 ? { voiceId: manifest.voiceId, loaded } : null;
  }

  text(id: string): string {
    const text = this.texts.get(id);
    if (text === undefined) throw new Error(`phrase cache: unknown phrase id "${id}"`);
    return text;
  }

  /** Whether the disk holds every phrase for this voice and these texts at `rates`, without rendering anything. */
  async diskState(rates: readonly number[]): Promise<PhraseDiskState> {
    for (const rate of rates) checkRate(rate);
    return readDiskState(this.store, { voiceId: this.tts.voiceId, language: this.language, phrases: this.textHashes }, this.texts, rates);
  }

  /** Deletes the cache directories of every other voice; returns their directory names. */
  async pruneOtherVoices(): Promise<string[]> {
    return this.store ? this.store.pruneOtherVoices(this.tts.voiceId) : [];
  }

  /**
   * `live` (the call's voice), except that a phrase text this cache is synthesizing right now is
   * heard from that synthesis, from its first chunk, rather than asked again. With a voice that
   * says one thing at a time (parallel 1) a queued synthesis is moved to the front and heard too,
   * since a new request would only wait behind it. Only for the same voice at the same rate.
   */
  liveVoice(live: TextToSpeech): TextToSpeech {
    return this.taps.voice(live, this.tts, (text) => this.serial && this.gate.promote(text));
  }

  private pick(phrases: ReadonlyMap<string, Int16Array> | undefined, ids: readonly string[]): Int16Array[] | null {
    if (!phrases) return null;
    const audio: Int16Array[] = [];
    for (const id of ids) {
      const one = phrases.get(id);
      if (!one) return null;
      audio.push(one);
    }
    return audio;
  }

  private reportFor(rate: number): Promise<PrepareReport> {
    try {
      checkRate(rate);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.hasRate(rate)) return Promise.resolve({ rendered: 0, reused: this.texts.size });
    let pending = this.rendering.get(rate);
    if (!pending) {
      pending = this.renderRate(rate).finally(() => this.rendering.delete(rate));
      this.rendering.set(rate, pending);
    }
    return pending;
  }

  private async renderRate(rate: number): Promise<PrepareReport> {
    const started = performance.now();
    // Asked in priority order: the first to ask takes a free synthesis slot without queueing.
    const ids = [...this.texts.keys()].sort((a, b) => (this.priority.get(a) as number) - (this.priority.get(b) as number));
    const abort = new AbortController();
    let here = this.ready.get(rate);
    if (!here) this.ready.set(rate, (here = new Map()));
    const phrases = here;
    const settled = await Promise.allSettled(ids.map(async (id) => {
      try {
        const result = await this.phraseAt(id, this.texts.get(id) as string, rate, abort.signal);
        phrases.set(id, result.audio);
        for (const listener of this.phraseListeners) listener(rate);
        return result;
      } catch (error) {
        // The first failure is the one worth reporting; the rest of this rate is cancelled.
        if (!abort.signal.aborted) abort.abort(error);
        throw error;
      }
    }));
    if (abort.signal.aborted) throw abort.signal.reason;
    const results = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    this.previous.delete(rate);
    if (this.store) {
      const keep = new Set(results.flatMap((result) => (result.file ? [result.file] : [])));
      await this.store.prune(this.store.dirFor(this.tts.voiceId, rate), new Set(ids), keep);
    }
    if (this.store) await this.recordManifest(this.store);
    const loaded = results.filter((result) => result.fromDisk).length;
    this.log.info("phrases ready at rate", {
      rate,
      phrases: ids.length,
      rendered: ids.length - loaded,
      loaded,
      voice: this.tts.voiceId,
      ms: Math.round(performance.now() - started),
    });
    return { rendered: ids.length - loaded, reused: loaded };
  }

  private recordManifest(store: PhraseStore): Promise<void> {
    const write = this.manifestWrites.then(async () => {
      const previous = await store.readManifest();
      const rates = new Set([...this.ready.keys()].filter((rate) => this.hasRate(rate)));
      const sameBuild = previous !== null && previous.format === PHRASE_FORMAT_VERSION
        && previous.voiceId === this.tts.voiceId && previous.phraseSetHash === this.setHash;
      if (sameBuild) for (const rate of previous.rates) rates.add(rate);
      await store.writeManifest({
        format: PHRASE_FORMAT_VERSION,
        voiceId: this.tts.voiceId,
        language: this.language,
        phraseSetHash: this.setHash,
        phrases: { ...this.textHashes },
        rates: [...rates].sort((a, b) => a - b),
        builtAt: new Date().toISOString(),
        version: voicebotVersion,
      });
    });
    this.manifestWrites = write.catch(() => undefined);
    return write;
  }

  private async phraseAt(id: string, text: string, rate: number, signal: AbortSignal): Promise<Rendered> {
    const file = this.store ? this.store.fileFor(this.tts.voiceId, rate, id, text) : null;
    // Ready since an earlier attempt at this rate that failed on another phrase.
    const kept = this.ready.get(rate)?.get(id);
    if (kept) return { audio: kept, file, fromDisk: true };
    if (this.store && file) {
      const audio = await this.store.load(file, rate);
      if (audio) return { audio, file, fromDisk: true };
    }
    const source = await this.sourceOf(id, text, signal);
    // The pool takes ownership of what it is given: the shared source stays ours.
    const audio = await this.resampler.resample(source.slice(), this.tts.sampleRate, rate);
    normalisePeak(audio);
    // Playable before it is on disk: a call arriving now must not wait for the write.
    if (!signal.aborted) this.ready.get(rate)?.set(id, audio);
    if (this.store && file) await this.store.save(file, rate, audio);
    return { audio, file, fromDisk: false };
  }

  private sourceOf(id: string, text: string, signal: AbortSignal): Promise<Int16Array> {
    const key = `${id}\n${text}`;
    let source = this.sources.get(key);
    if (!source) {
      const tap = this.taps.add(text);
      source = this.gate.run(this.priority.get(id) ?? this.texts.size, signal, () => this.synthesize(id, text, signal, tap), text);
      source.catch(() => this.sources.delete(key)).finally(() => {
        this.taps.remove(text, tap);
      });
      this.sources.set(key, source);
    }
    return source;
  }

  private async synthesize(id: string, text: string, signal: AbortSignal, tap: SynthesisTap): Promise<Int16Array> {
    tap.started = true;
    try {
      for await (const chunk of this.tts.synthesize(text, signal)) tap.push(chunk);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Provider errors usually name the voice already; say it once.
      const voice = message.includes(this.tts.voiceId) ? "" : ` with voice ${this.tts.voiceId}`;
      const failure = new Error(`cannot synthesize phrase "${id}"${voice}: ${message}`, { cause: error });
      tap.end(failure);
      if (signal.aborted) throw signal.reason;
      throw failure;
    }
    // An aborted TTS may end its stream quietly: a cut-off phrase must never be kept.
    if (signal.aborted) {
      tap.end(new Error(`phrase "${id}" was cut off: its render was cancelled`));
      throw signal.reason;
    }
    tap.end(null);
    const joined = tap.joined();
    if (peakOf(joined) === 0) this.log.warn("phrase renders as silence", { phrase: id, voice: this.tts.voiceId });
    return trimSilence(joined, this.tts.sampleRate);
  }
}
