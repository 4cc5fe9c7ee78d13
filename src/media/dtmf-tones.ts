/** The keypad's tone pairs (ITU-T Q.23) and a generator of test tones at a given level and twist. */

export const DTMF_ROWS = [697, 770, 852, 941] as const;
export const DTMF_COLUMNS = [1209, 1336, 1477, 1633] as const;
/** Digits by row then column: DTMF_KEYS[row * 4 + column]. */
export const DTMF_KEYS = "123A456B789C*0#D";

/** Peak amplitude of a 0 dBm0 sine in 16-bit linear PCM: G.711 μ-law's full-scale sine (±32124) is +3.17 dBm0. */
export const DBM0_PEAK = 32124 / 10 ** (3.17 / 20);

export interface ToneOptions {
  /** Mean level of the two tones in dBm0 (each tone: level ∓ twist/2). */
  levelDbm0: number;
  /** High (column) tone minus low (row) tone, in dB: positive = "normal" twist, the high tone louder. */
  twistDb?: number;
  /** Relative error of both frequencies, e.g. 0.015 = 1.5 % high. */
  frequencyError?: number;
  /** Phase of both tones at the first sample, in radians. */
  phase?: number;
}

/** One digit's tone pair, `ms` long at `sampleRate`, not clipped (levels up to about −1 dBm0 fit). */
export function dtmfTone(digit: string, sampleRate: number, ms: number, options: ToneOptions): Int16Array {
  const key = DTMF_KEYS.indexOf(digit);
  if (key < 0 || digit.length !== 1) throw new Error(`"${digit}" is not a keypad digit (0-9 * # A-D)`);
  const twist = options.twistDb ?? 0;
  const scale = 1 + (options.frequencyError ?? 0);
  const low = DTMF_ROWS[key >> 2]! * scale;
  const high = DTMF_COLUMNS[key & 3]! * scale;
  const lowAmp = DBM0_PEAK * 10 ** ((options.levelDbm0 - twist / 2) / 20);
  const highAmp = DBM0_PEAK * 10 ** ((options.levelDbm0 + twist / 2) / 20);
  const phase = options.phase ?? 0;
  const out = new Int16Array(Math.round((sampleRate * ms) / 1000));
  for (let i = 0; i < out.length; i++) {
    const t = i / sampleRate;
    const v = lowAmp * Math.sin(2 * Math.PI * low * t + phase) + highAmp * Math.sin(2 * Math.PI * high * t + phase * 1.7);
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}
