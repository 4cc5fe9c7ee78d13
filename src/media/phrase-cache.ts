/**
 * The phrase cache: every fixed phrase rendered once per sample rate and played from memory, so a
 * greeting starts without a TTS call or a resampling step. Rendering = TTS at its own rate, trim the
 * silence around the speech, resample to the call rate in the pool, bring the peak to −3 dBFS.
 * With a cache directory, rendered phrases are kept on disk and load instantly next start, and
 * diskState() tells whether the disk already holds them (fresh), holds another voice's or
 * language's (stale), or lacks them (missing).
 */
import type { TextToSpeech } from "../ai/tts/types.ts";
import { synthesizeAll } from "../ai/tts/synthesize-all.ts";
import type { Logger } from "../log.ts";
import { MAX_RATE, MIN_RATE, type ResamplerPool } from "./resampler.ts";
import {
  PHRASE_FORMAT_VERSION, PhraseStore, manifestDifferences, phraseSetHashOf, textHashOf, voicebotVersion,
  type PhraseManifest,
} from "./phrase-store.ts";

export interface PhraseCacheOptions {
  texts: Readonly<Record<string, string>>;
  tts: TextToSpeech;
  resampler: ResamplerPool;
  /** null = memory only. */
  cacheDir: string | null;
  log: Logger;
  /** LANGUAGE the texts are in: recorded in the manifest so a language change reads as "stale". */
  language?: string;
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

export type PhraseDiskStateName = "fresh" | "stale" | "missing";

export interface PhraseDiskState {
  state: PhraseDiskStateName;
  /** Why, in a few words: what differs (stale), what is absent (missing), or what is there (fresh). */
  reason: string;
  /** Phrase files on disk for this voice, these texts and the asked rates, out of `expected`. */
  present: number;
  expected: number;
  /** Total size of the `present` files. */
  bytes: number;
  /** What the last successful render was for, if anything is recorded. */
  manifest: PhraseManifest | null;
}

/** Kept before the first and after the last audible sample, so joined phrases and digits sound natural. */
const LEAD_IN_MS = 30;
const TAIL_MS = 150;
/** Comfortable telephone loudness: peaks at −3 dBFS. */
const TARGET_PEAK = Math.round(32767 * 10 ** (-3 / 20));
/** Below this fraction of the peak (−40 dB) a sample counts as silence when trimming. */
const SILENCE_FRACTION = 0.01;
const PHRASE_ID = /^[A-Za-z0-9_-]+$/;
/** A cloud TTS gets a few requests at a time, not all forty phrases at once (rate limits, fast failure). */
const MAX_PARALLEL_SYNTHESES = 4;

interface Rendered {
  audio: Int16Array;
  file: string | null;
  fromDisk: boolean;
}

function peakOf(samples: Int16Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.abs(samples[i] as number);
    if (v > peak) peak = v;
  }
  return peak;
}

/** The speech with exactly LEAD_IN_MS before and TAIL_MS after it (zero-padded where the TTS gave less). */
function trimSilence(samples: Int16Array, sampleRate: number): Int16Array {
  const threshold = Math.max(1, peakOf(samples) * SILENCE_FRACTION);
  let first = 0;
  while (first < samples.length && Math.abs(samples[first] as number) <= threshold) first++;
  if (first === samples.length) return samples;
  let last = samples.length - 1;
  while (Math.abs(samples[last] as number) <= threshold) last--;
  const lead = Math.round((sampleRate * LEAD_IN_MS) / 1000);
  const tail = Math.round((sampleRate * TAIL_MS) / 1000);
  const trimmed = new Int16Array(lead + (last - first + 1) + tail);
  const from = Math.max(0, first - lead);
  const to = Math.min(samples.length, last + 1 + tail);
  trimmed.set(samples.subarray(from, to), lead - (first - from));
  return trimmed;
}

/** Scales in place so the peak sits at −3 dBFS; silence is left alone. */
function normalisePeak(samples: Int16Array): void {
  const peak = peakOf(samples);
  if (peak === 0) return;
  const gain = TARGET_PEAK / peak;
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round((samples[i] as number) * gain);
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
  private readonly ready = new Map<number, ReadonlyMap<string, Int16Array>>();
  private readonly rendering = new Map<number, Promise<PrepareReport>>();
  /** Trimmed TTS output per phrase, shared by every rate (one synthesis serves 8k, 16k and 48k). */
  private readonly sources = new Map<string, Promise<Int16Array>>();
  /** Told the rate each time one phrase is ready there: how prepare() reports progress. */
  private readonly phraseListeners = new Set<(rate: number) => void>();
  private synthesizing = 0;
  private readonly slotWaiters: (() => void)[] = [];
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

  hasRate(rate: number): boolean {
    return this.ready.has(rate);
  }

  /** Rendered audio, or undefined if that rate is not ready. Never copies: do not modify or transfer it. */
  get(id: string, rate: number): Int16Array | undefined {
    const phrases = this.ready.get(rate);
    if (!phrases) return undefined;
    const audio = phrases.get(id);
    if (!audio) throw new Error(`phrase cache: unknown phrase id "${id}"`);
    return audio;
  }

  text(id: string): string {
    const text = this.texts.get(id);
    if (text === undefined) throw new Error(`phrase cache: unknown phrase id "${id}"`);
    return text;
  }

  /** Whether the disk holds every phrase for this voice and these texts at `rates`, without rendering anything. */
  async diskState(rates: readonly number[]): Promise<PhraseDiskState> {
    for (const rate of rates) checkRate(rate);
    const unique = [...new Set(rates)].sort((a, b) => a - b);
    const expected = this.texts.size * unique.length;
    if (!this.store) return { state: "missing", reason: "no cache directory (memory only)", present: 0, expected, bytes: 0, manifest: null };
    let present = 0;
    let bytes = 0;
    const gaps: string[] = [];
    for (const rate of unique) {
      let here = 0;
      for (const [id, text] of this.texts) {
        const size = await this.store.sizeOf(this.store.fileFor(this.tts.voiceId, rate, id, text));
        if (size === null) continue;
        here++;
        bytes += size;
      }
      present += here;
      if (here === 0) gaps.push(`nothing at ${rate} Hz`);
      else if (here < this.texts.size) gaps.push(`${this.texts.size - here} of ${this.texts.size} phrases absent at ${rate} Hz`);
    }
    const manifest = await this.store.readManifest();
    const base = { present, expected, bytes, manifest };
    if (gaps.length === 0) {
      return { ...base, state: "fresh", reason: `all ${expected} phrases on disk for ${this.tts.voiceId} at ${unique.join(", ")} Hz` };
    }
    const differences = manifest
      ? manifestDifferences(manifest, { voiceId: this.tts.voiceId, language: this.language, phrases: this.textHashes })
      : [];
    if (differences.length > 0) return { ...base, state: "stale", reason: differences.join("; ") };
    const reason = present === 0 && !manifest ? "never built" : `${gaps.join("; ")} for ${this.tts.voiceId}`;
    return { ...base, state: "missing", reason };
  }

  /** Deletes the cache directories of every other voice; returns their directory names. */
  async pruneOtherVoices(): Promise<string[]> {
    return this.store ? this.store.pruneOtherVoices(this.tts.voiceId) : [];
  }

  private reportFor(rate: number): Promise<PrepareReport> {
    try {
      checkRate(rate);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.ready.has(rate)) return Promise.resolve({ rendered: 0, reused: this.texts.size });
    let pending = this.rendering.get(rate);
    if (!pending) {
      pending = this.renderRate(rate).finally(() => this.rendering.delete(rate));
      this.rendering.set(rate, pending);
    }
    return pending;
  }

  private async renderRate(rate: number): Promise<PrepareReport> {
    const started = performance.now();
    const ids = [...this.texts.keys()];
    const abort = new AbortController();
    const settled = await Promise.allSettled(ids.map(async (id) => {
      try {
        const result = await this.phraseAt(id, this.texts.get(id) as string, rate, abort.signal);
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
    const phrases = new Map<string, Int16Array>();
    results.forEach((result, i) => phrases.set(ids[i] as string, result.audio));
    if (this.store) {
      const keep = new Set(results.flatMap((result) => (result.file ? [result.file] : [])));
      await this.store.prune(this.store.dirFor(this.tts.voiceId, rate), new Set(ids), keep);
    }
    this.ready.set(rate, phrases);
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
      const rates = new Set(this.ready.keys());
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
    if (this.store && file) {
      const audio = await this.store.load(file, rate);
      if (audio) return { audio, file, fromDisk: true };
    }
    const source = await this.sourceOf(id, text, signal);
    // The pool takes ownership of what it is given: the shared source stays ours.
    const audio = await this.resampler.resample(source.slice(), this.tts.sampleRate, rate);
    normalisePeak(audio);
    if (this.store && file) await this.store.save(file, rate, audio);
    return { audio, file, fromDisk: false };
  }

  private sourceOf(id: string, text: string, signal: AbortSignal): Promise<Int16Array> {
    const key = `${id}\n${text}`;
    let source = this.sources.get(key);
    if (!source) {
      source = this.withSynthesisSlot(signal, () => this.synthesize(id, text, signal));
      source.catch(() => this.sources.delete(key));
      this.sources.set(key, source);
    }
    return source;
  }

  private async withSynthesisSlot<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    while (this.synthesizing >= MAX_PARALLEL_SYNTHESES) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    if (signal.aborted) {
      // This waiter was woken for a free slot it will not use: pass the slot on.
      this.slotWaiters.shift()?.();
      throw signal.reason;
    }
    this.synthesizing++;
    try {
      return await work();
    } finally {
      this.synthesizing--;
      this.slotWaiters.shift()?.();
    }
  }

  private async synthesize(id: string, text: string, signal: AbortSignal): Promise<Int16Array> {
    let joined: Int16Array;
    try {
      joined = await synthesizeAll(this.tts, text, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const message = error instanceof Error ? error.message : String(error);
      // Provider errors usually name the voice already; say it once.
      const voice = message.includes(this.tts.voiceId) ? "" : ` with voice ${this.tts.voiceId}`;
      throw new Error(`cannot synthesize phrase "${id}"${voice}: ${message}`, { cause: error });
    }
    // An aborted TTS may end its stream quietly: a cut-off phrase must never be kept.
    if (signal.aborted) throw signal.reason;
    if (peakOf(joined) === 0) this.log.warn("phrase renders as silence", { phrase: id, voice: this.tts.voiceId });
    return trimSilence(joined, this.tts.sampleRate);
  }
}
