/**
 * Keypad digits heard in the audio (in-band DTMF), for wires that carry no DTMF events. Goertzel
 * filters on the 8 keypad frequencies and their second harmonics over 12.75 ms blocks (102 samples
 * at 8 kHz, 204 at 16 kHz: the same time and selectivity at any rate), in two banks offset by half
 * a block, so a verdict comes every 6.4 ms. A step holds a digit only if:
 * - each tone is at least MIN_TONE_DBM0 (Q.24: −25 dBm0 and up must be detected);
 * - the twist is at most TWIST_DB either way, as measured: Q.24 leaves it to administrations
 *   (8 dB normal / 4 dB reverse is common), a real line shows ±6 dB, and the filters lose up to
 *   1.5 dB more on a tone 1.5 % off;
 * - the best row and the best column are each RELATIVE_PEAK_DB above the other rows and columns;
 * - the two tones hold TONE_ENERGY_RATIO of the block's energy (speech spreads over many harmonics
 *   and formants: eSpeak's French never went above 0.57; a keypad tone gives 0.75 to 1);
 * - neither tone has a second harmonic within HARMONIC_DB of it (voiced speech does; a keypad not);
 *   for a row, what the column tone leaks into that bin is allowed for.
 * A digit counts after HOLD_STEPS agreeing steps and is released by RELEASE_STEPS without it,
 * before any digit counts again: a 40 ms tone (Q.24's shortest accepted) gives at least 4 whole
 * blocks however it falls, a 20 ms one at most 3 that pass the energy ratio, and Q.24's shortest
 * pause (40 ms) at least 4 without the tone. So a held key is one digit, a repeated key with a
 * pause two. Frequency: ±1.5 % passes; ±3.5 % fails the energy ratio or the peak check (measured:
 * 0 of 3,456 such tones detected), ±2.5 % passes about a third of the time.
 * Per sample 32 filter updates; nothing allocated after construction.
 */
import { DBM0_PEAK, DTMF_COLUMNS, DTMF_KEYS, DTMF_ROWS } from "./dtmf-tones.ts";

const BLOCK_SECONDS = 102 / 8000;
const MIN_TONE_DBM0 = -32;
const TWIST_DB = 10;
const RELATIVE_PEAK_DB = 4.5;
const TONE_ENERGY_RATIO = 0.65;
const HARMONIC_DB = 12;
/** Half-block steps that must agree before a digit counts, and without it before it is released. */
const HOLD_STEPS = 4;
const RELEASE_STEPS = 3;
const FREQUENCIES = [...DTMF_ROWS, ...DTMF_COLUMNS, ...DTMF_ROWS.map((f) => 2 * f), ...DTMF_COLUMNS.map((f) => 2 * f)];
/** Frequency errors over which the leak of a column tone into a row's harmonic bin is bounded. */
const LEAK_ERRORS = [-0.02, -0.015, -0.01, -0.005, 0, 0.005, 0.01, 0.015, 0.02];

const dbPower = (db: number): number => 10 ** (db / 10);

/** Power response of an N-sample Goertzel at `bin` Hz to a unit tone at `tone` Hz, relative to a tone on the bin. */
function response(tone: number, bin: number, n: number, rate: number): number {
  const delta = (2 * Math.PI * (tone - bin)) / rate;
  if (Math.abs(delta) < 1e-12) return 1;
  const r = Math.sin((n * delta) / 2) / (n * Math.sin(delta / 2));
  return r * r;
}

export class DtmfDetector {
  private n = 0;
  private coefficients = new Float64Array(16);
  /** Goertzel state of two banks of 16 filters whose blocks are offset by half a block. */
  private readonly s1 = new Float64Array(32);
  private readonly s2 = new Float64Array(32);
  private readonly filled = new Int32Array(2);
  private readonly energy = new Float64Array(2);
  private readonly power = new Float64Array(16);
  /** How much of a column tone shows in each row's second-harmonic bin: [row * 4 + column], with a 3 dB margin. */
  private readonly leak = new Float64Array(16);
  private minPower = 0;
  /** The digit being held (index into DTMF_KEYS), or −1. */
  private current = -1;
  private candidate = -1;
  private agreeing = 0;
  private missing = 0;

  /** `onDigit` is called once per key press, as soon as the digit is certain (32–38 ms into the tone). */
  constructor(sampleRate: number, private readonly onDigit: (digit: string) => void) {
    this.setSampleRate(sampleRate);
  }

  /** The digit whose tone is sounding now, or null. */
  get held(): string | null {
    return this.current < 0 ? null : DTMF_KEYS[this.current]!;
  }

  /** A new rate: the block in progress and any held digit are dropped. */
  setSampleRate(sampleRate: number): void {
    if (!(sampleRate >= 8000)) throw new RangeError(`in-band DTMF needs a sample rate of at least 8000 Hz, not ${sampleRate}`);
    const n = 2 * Math.round((sampleRate * BLOCK_SECONDS) / 2);
    this.n = n;
    this.coefficients = Float64Array.from(FREQUENCIES, (f) => 2 * Math.cos((2 * Math.PI * f) / sampleRate));
    const tonePower = (DBM0_PEAK * 10 ** (MIN_TONE_DBM0 / 20)) ** 2 / 2;
    // Goertzel power of a tone of mean power p over n samples is p·n²/2.
    this.minPower = (tonePower * n * n) / 2;
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        let worst = 0;
        for (const e of LEAK_ERRORS) {
          const tone = DTMF_COLUMNS[c]! * (1 + e);
          worst = Math.max(worst, response(tone, 2 * DTMF_ROWS[r]!, n, sampleRate) / response(tone, DTMF_COLUMNS[c]!, n, sampleRate));
        }
        this.leak[r * 4 + c] = worst * 2;
      }
    }
    this.reset();
  }

  /** Forget the block in progress and any digit being held (the audio had a gap). */
  reset(): void {
    this.s1.fill(0);
    this.s2.fill(0);
    this.energy.fill(0);
    this.filled[0] = 0;
    this.filled[1] = this.n / 2;
    this.current = -1;
    this.candidate = -1;
    this.agreeing = 0;
    this.missing = 0;
  }

  /** Inbound PCM of any length at the detector's rate. Allocation-free. */
  push(samples: Int16Array): void {
    const s1 = this.s1;
    const s2 = this.s2;
    const k = this.coefficients;
    const n = this.n;
    let filled0 = this.filled[0]!;
    let filled1 = this.filled[1]!;
    let energy0 = this.energy[0]!;
    let energy1 = this.energy[1]!;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i]!;
      energy0 += x * x;
      energy1 += x * x;
      for (let f = 0; f < 16; f++) {
        const c = k[f]!;
        const a = x + c * s1[f]! - s2[f]!;
        s2[f] = s1[f]!;
        s1[f] = a;
        const b = x + c * s1[f + 16]! - s2[f + 16]!;
        s2[f + 16] = s1[f + 16]!;
        s1[f + 16] = b;
      }
      // The two banks' blocks overlap by half: one of them ends every n/2 samples.
      if (++filled0 === n) {
        this.endBlock(0, energy0);
        filled0 = 0;
        energy0 = 0;
      }
      if (++filled1 === n) {
        this.endBlock(1, energy1);
        filled1 = 0;
        energy1 = 0;
      }
    }
    this.filled[0] = filled0;
    this.filled[1] = filled1;
    this.energy[0] = energy0;
    this.energy[1] = energy1;
  }

  private endBlock(bank: number, energy: number): void {
    const p = this.power;
    const base = bank * 16;
    for (let f = 0; f < 16; f++) {
      const a = this.s1[base + f]!;
      const b = this.s2[base + f]!;
      p[f] = a * a + b * b - this.coefficients[f]! * a * b;
      this.s1[base + f] = 0;
      this.s2[base + f] = 0;
    }
    this.track(this.classify(energy));
  }

  /** The digit this block holds, or −1. */
  private classify(energy: number): number {
    const p = this.power;
    let row = 0;
    let col = 4;
    for (let i = 1; i < 4; i++) {
      if (p[i]! > p[row]!) row = i;
      if (p[4 + i]! > p[col]!) col = 4 + i;
    }
    const rowPower = p[row]!;
    const colPower = p[col]!;
    if (rowPower < this.minPower || colPower < this.minPower) return -1;
    const twist = dbPower(TWIST_DB);
    if (colPower > rowPower * twist || rowPower > colPower * twist) return -1;
    const peak = dbPower(-RELATIVE_PEAK_DB);
    for (let i = 0; i < 4; i++) {
      if (i !== row && p[i]! > rowPower * peak) return -1;
      if (4 + i !== col && p[4 + i]! > colPower * peak) return -1;
    }
    if ((2 * (rowPower + colPower)) / this.n < TONE_ENERGY_RATIO * energy) return -1;
    const harmonic = dbPower(-HARMONIC_DB);
    const key = row * 4 + (col - 4);
    if (p[8 + row]! > rowPower * harmonic + colPower * this.leak[key]!) return -1;
    if (p[8 + col]! > colPower * harmonic) return -1;
    return key;
  }

  private track(hit: number): void {
    if (this.current >= 0) {
      this.missing = hit === this.current ? 0 : this.missing + 1;
      if (this.missing < RELEASE_STEPS) return;
      // Released: the blocks that ended it do not count toward the next digit.
      this.current = -1;
      this.candidate = -1;
      this.agreeing = 0;
      return;
    }
    if (hit < 0) {
      this.candidate = -1;
      this.agreeing = 0;
      return;
    }
    this.agreeing = hit === this.candidate ? this.agreeing + 1 : 1;
    this.candidate = hit;
    if (this.agreeing < HOLD_STEPS) return;
    this.current = hit;
    this.missing = 0;
    this.onDigit(DTMF_KEYS[hit]!);
  }
}
