/**
 * The phrase cache: every fixed phrase rendered once per sample rate and played from memory, so a
 * greeting starts without a TTS call or a resampling step. Rendering = TTS at its own rate, trim the
 * silence around the speech, resample to the call rate in the pool, bring the peak to −3 dBFS.
 * With a cache directory, rendered phrases are kept on disk and load instantly next start.
 */
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { Logger } from "../log.ts";
import { MAX_RATE, MIN_RATE, type ResamplerPool } from "./resampler.ts";
import { PhraseStore } from "./phrase-store.ts";

export interface PhraseCacheOptions {
  texts: Readonly<Record<string, string>>;
  tts: TextToSpeech;
  resampler: ResamplerPool;
  /** null = memory only. */
  cacheDir: string | null;
  log: Logger;
}

/** Kept before the first and after the last audible sample, so joined phrases and digits sound natural. */
const LEAD_IN_MS = 30;
const TAIL_MS = 150;
/** Comfortable telephone loudness: peaks at −3 dBFS. */
const TARGET_PEAK = Math.round(32767 * 10 ** (-3 / 20));
/** Below this fraction of the peak (−40 dB) a sample counts as silence when trimming. */
const SILENCE_FRACTION = 0.01;
const PHRASE_ID = /^[A-Za-z0-9_-]+$/;

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
  private readonly tts: TextToSpeech;
  private readonly resampler: ResamplerPool;
  private readonly store: PhraseStore | null;
  private readonly log: Logger;
  private readonly ready = new Map<number, ReadonlyMap<string, Int16Array>>();
  private readonly rendering = new Map<number, Promise<void>>();
  /** Trimmed TTS output per phrase, shared by every rate (one synthesis serves 8k, 16k and 48k). */
  private readonly sources = new Map<string, Promise<Int16Array>>();

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
    this.tts = options.tts;
    this.resampler = options.resampler;
    this.store = options.cacheDir === null ? null : new PhraseStore(options.cacheDir, options.log);
    this.log = options.log;
  }

  /** Render (or load from disk) every phrase at each rate; resolves when all are in memory. */
  async prepare(rates: readonly number[]): Promise<void> {
    await Promise.all(rates.map((rate) => this.ensureRate(rate)));
  }

  /** Same for one more rate, on demand (a 48 kHz call); concurrent calls share one render. */
  ensureRate(rate: number): Promise<void> {
    try {
      checkRate(rate);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.ready.has(rate)) return Promise.resolve();
    let pending = this.rendering.get(rate);
    if (!pending) {
      pending = this.renderRate(rate).finally(() => this.rendering.delete(rate));
      this.rendering.set(rate, pending);
    }
    return pending;
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

  private async renderRate(rate: number): Promise<void> {
    const started = performance.now();
    const ids = [...this.texts.keys()];
    const results = await Promise.all(ids.map((id) => this.phraseAt(id, this.texts.get(id) as string, rate)));
    const phrases = new Map<string, Int16Array>();
    results.forEach((result, i) => phrases.set(ids[i] as string, result.audio));
    if (this.store) {
      const keep = new Set(results.flatMap((result) => (result.file ? [result.file] : [])));
      await this.store.prune(this.store.dirFor(this.tts.voiceId, rate), new Set(ids), keep);
    }
    this.ready.set(rate, phrases);
    const loaded = results.filter((result) => result.fromDisk).length;
    this.log.info("phrases ready at rate", {
      rate,
      phrases: ids.length,
      rendered: ids.length - loaded,
      loaded,
      voice: this.tts.voiceId,
      ms: Math.round(performance.now() - started),
    });
  }

  private async phraseAt(id: string, text: string, rate: number): Promise<Rendered> {
    const file = this.store ? this.store.fileFor(this.tts.voiceId, rate, id, text) : null;
    if (this.store && file) {
      const audio = await this.store.load(file, rate);
      if (audio) return { audio, file, fromDisk: true };
    }
    const source = await this.sourceOf(id, text);
    // The pool takes ownership of what it is given: the shared source stays ours.
    const audio = await this.resampler.resample(source.slice(), this.tts.sampleRate, rate);
    normalisePeak(audio);
    if (this.store && file) await this.store.save(file, rate, audio);
    return { audio, file, fromDisk: false };
  }

  private sourceOf(id: string, text: string): Promise<Int16Array> {
    const key = `${id}\n${text}`;
    let source = this.sources.get(key);
    if (!source) {
      source = this.synthesize(id, text);
      source.catch(() => this.sources.delete(key));
      this.sources.set(key, source);
    }
    return source;
  }

  private async synthesize(id: string, text: string): Promise<Int16Array> {
    const chunks: Int16Array[] = [];
    let total = 0;
    for await (const chunk of this.tts.synthesize(text)) {
      chunks.push(chunk);
      total += chunk.length;
    }
    const joined = new Int16Array(total);
    let at = 0;
    for (const chunk of chunks) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    if (peakOf(joined) === 0) this.log.warn("phrase renders as silence", { phrase: id, voice: this.tts.voiceId });
    return trimSilence(joined, this.tts.sampleRate);
  }
}
