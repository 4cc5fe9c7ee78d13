/**
 * The audio `voicebot bench --dtmf` and the detector's tests run through it: a generated set of
 * keypad digits (every digit, 40–100 ms, −25 to −5 dBm0, twist ±6 dB, ±1.5 % frequency error,
 * white noise at 15 dB SNR) and the phone line (G.711 μ-law) that speech and tones both cross.
 * Deterministic: a seeded generator, so a figure can be reproduced.
 */
import { DTMF_KEYS, dtmfTone } from "../media/dtmf-tones.ts";
import { linearToMulaw, MULAW_TO_LINEAR } from "../transports/mulaw.ts";

export const DURATIONS_MS = [40, 60, 80, 100] as const;
export const LEVELS_DBM0 = [-25, -15, -5] as const;
export const TWISTS_DB = [-6, 0, 6] as const;
export const FREQUENCY_ERRORS = [-0.015, 0, 0.015] as const;
export const SNR_DB = 15;
/** Between two digits: Q.24's shortest accepted pause is 40 ms; the set uses 40–100 ms. */
const GAPS_MS = [40, 60, 100] as const;

/** xorshift32: the same numbers on every machine. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from a seeded generator. */
export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Every sample through a G.711 μ-law encoder and decoder, in place: what a phone line leaves of the audio. */
export function throughMulaw(pcm: Int16Array): Int16Array {
  for (let i = 0; i < pcm.length; i++) pcm[i] = MULAW_TO_LINEAR[linearToMulaw(pcm[i]!)]!;
  return pcm;
}

export interface DigitSet {
  sampleRate: number;
  /** The digits, in the order they sound. */
  digits: string;
  /** The whole run: tones, pauses and noise, through μ-law. */
  audio: Int16Array;
  /** Tones in the set (each combination of duration, level, twist and frequency error, for every digit). */
  count: number;
}

export interface DigitSetOptions {
  sampleRate: number;
  seed?: number;
  /** Added to the tones before the line: e.g. the bot's own voice as an echo (same rate). */
  under?: Int16Array;
  /** Gain applied to `under` (e.g. 10^(−15/20) for an echo 15 dB down). */
  underGain?: number;
}

/**
 * Every digit at every duration, level, twist and frequency error, in a shuffled order, each
 * after a pause, with noise at SNR_DB below the tone pair's power throughout (pauses included).
 */
export function digitSet(options: DigitSetOptions): DigitSet {
  const { sampleRate } = options;
  const random = seededRandom(options.seed ?? 14);
  const normal = gaussian(random);
  const tones: { digit: string; ms: number; level: number; twist: number; error: number }[] = [];
  for (const digit of DTMF_KEYS) {
    for (const ms of DURATIONS_MS) {
      for (const level of LEVELS_DBM0) {
        for (const twist of TWISTS_DB) tones.push({ digit, ms, level, twist, error: FREQUENCY_ERRORS[tones.length % 3]! });
      }
    }
  }
  for (let i = tones.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [tones[i], tones[j]] = [tones[j]!, tones[i]!];
  }
  const parts: Float64Array[] = [];
  let digits = "";
  let total = 0;
  for (const t of tones) {
    const gap = Math.round((sampleRate * GAPS_MS[Math.floor(random() * GAPS_MS.length)]!) / 1000) + Math.floor(random() * 100);
    const tone = dtmfTone(t.digit, sampleRate, t.ms, { levelDbm0: t.level, twistDb: t.twist, frequencyError: t.error, phase: random() * 2 * Math.PI });
    let power = 0;
    for (const s of tone) power += s * s;
    const noise = Math.sqrt(power / tone.length / 10 ** (SNR_DB / 10));
    const part = new Float64Array(gap + tone.length);
    for (let i = 0; i < part.length; i++) part[i] = (i >= gap ? tone[i - gap]! : 0) + noise * normal();
    parts.push(part);
    digits += t.digit;
    total += part.length;
  }
  const audio = new Int16Array(total + Math.round(sampleRate / 10));
  const under = options.under;
  const gain = options.underGain ?? 1;
  let at = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++, at++) {
      const echo = under && under.length > 0 ? under[at % under.length]! * gain : 0;
      audio[at] = Math.max(-32768, Math.min(32767, Math.round(part[i]! + echo)));
    }
  }
  return { sampleRate, digits, audio: throughMulaw(audio), count: tones.length };
}

/** Feeds `audio` to `push` in 20 ms frames, the way a call's inbound audio arrives. */
export function inFrames(audio: Int16Array, sampleRate: number, push: (frame: Int16Array) => void): void {
  const n = sampleRate / 50;
  for (let at = 0; at < audio.length; at += n) push(audio.subarray(at, Math.min(audio.length, at + n)));
}
