/**
 * Deciding that the caller is talking over the bot. Fed every inbound and outbound frame of a call,
 * it counts a run of caller speech (VAD says speech and the energy gates pass) and decides barge-in
 * once the run reaches minSpeechMs, or earlier when the STT provider also heard speech start. From
 * HOLD_AFTER_MS of it, the run is `tentative`: the bot pauses until it is decided or ends.
 *
 * The echo gate: while the bot talks, the line returns an attenuated copy of it 0-200 ms later, which
 * any VAD calls speech. How attenuated depends on the line (6 dB on the worst analogue hybrid, none
 * at all behind a PBX's echo canceller), so the detector learns it: per block of bot speech, the
 * inbound energy over the outbound energy (the echo delay is small against a block), and the echo
 * ratio is the smallest of the recent blocks (echo is always there while the bot talks, the caller's
 * voice only sometimes). An inbound frame counts when it is ECHO_MARGIN above the echo that ratio
 * predicts from the loudest bot frame of the last ECHO_WINDOW_MS.
 */
import type { Vad } from "../media/vad.ts";

/**
 * The echo assumed before any is measured: G.168's worst hybrid, 6 dB down (×0.5 in amplitude).
 * Until the line is learned (a few hundred ms of bot speech), only a caller about as loud as the
 * bot can cut it off; never the echo.
 */
export const INITIAL_ECHO_RATIO = 0.5;
/** How far above the predicted echo a caller frame must be: 5 dB, for noise and codec error. */
export const ECHO_MARGIN = 1.8;
/** Bot speech per echo measurement, and how many recent measurements the minimum is taken over. */
const ECHO_BLOCK_MS = 500;
const ECHO_BLOCKS = 6;
/** Bot frames quieter than this say nothing about the echo path. */
const LEARN_FLOOR_DBFS = -35;

/**
 * Echo arrives up to ~200 ms late; one frame more covers an echo frame straddling two bot frames, and
 * another the jitter between when inbound frames arrive and when outbound frames are sent.
 */
export const ECHO_WINDOW_MS = 240;

/** Quieter than this is line noise or breath, whatever the VAD says (RMS relative to 32768). */
export const FLOOR_DBFS = -45;

/** Without a VAD, energy alone must tell speech from noise: only fairly loud frames count. */
export const ENERGY_ONLY_FLOOR_DBFS = -35;

/**
 * Non-speech a run survives without ending. Stop consonants close the mouth for 30-60 ms (French
 * "attendez" measures 40 ms under the floor), so one 20 ms frame would split words into short runs.
 * Gap frames do not count as speech; a 100 ms cough 60 ms after another is still two runs.
 */
export const MAX_GAP_MS = 40;

/** Gated local speech that, with the provider's SpeechStarted, is enough to decide at once. */
export const SPEECH_STARTED_MIN_MS = 60;

/**
 * Gated local speech after which the bot holds its breath (`tentative`): the caller hears it stop
 * this soon, before barge-in is decided; a run that ends short lets it go on where it stopped.
 */
export const HOLD_AFTER_MS = 40;

const MIN_SPEECH_MS_RANGE = [20, 2000] as const;

/** Shortest frame the echo window is sized for: the 10 ms frames libfvad accepts. */
const SHORTEST_FRAME_MS = 10;

export interface BargeInOptions {
  sampleRate: number;
  /** BARGE_IN_MIN_SPEECH: caller speech needed to cut the bot off. */
  minSpeechMs: number;
  /** The call's VAD at `sampleRate`; null when libfvad does not support the rate (energy gate only). */
  vad: Vad | null;
  /** The VAD threw: from then on this detector decides on energy alone (told once). */
  onVadFailure?: (error: unknown) => void;
}

function amplitudeOf(dbfs: number): number {
  return 32768 * 10 ** (dbfs / 20);
}

function rmsOf(frame: Int16Array): number {
  const n = frame.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = frame[i] ?? 0;
    sum += v * v;
  }
  return Math.sqrt(sum / n);
}

export class BargeInDetector {
  private readonly sampleRate: number;
  private readonly minSpeechMs: number;
  private vad: Vad | null;
  private floor: number;
  private readonly onVadFailure: (error: unknown) => void;
  /** RMS of the bot's recent outbound frames, oldest overwritten first. */
  private readonly outboundRms: Float64Array;
  private outboundNext = 0;
  private outboundMs = 0;
  private speaking = false;
  private decided = false;
  private runMs = 0;
  /** Non-speech since the run's last speech frame. */
  private gapMs = 0;
  /** The provider heard speech start during the current run. */
  private providerHeard = false;
  /** The caller's current run of speech while the bot is silent, and its gap (see trackBeforeBot). */
  private beforeRunMs = 0;
  private beforeGapMs = 0;
  private readonly energyFloor = amplitudeOf(ENERGY_ONLY_FLOOR_DBFS);
  /** Amplitude ratio of the echo to the bot's speech, as learned (INITIAL_ECHO_RATIO before). */
  private echoRatio = INITIAL_ECHO_RATIO;
  private readonly learnFloor = amplitudeOf(LEARN_FLOOR_DBFS);
  private blockIn = 0;
  private blockOut = 0;
  private blockMs = 0;
  private readonly blockRatios = new Float64Array(ECHO_BLOCKS).fill(Number.POSITIVE_INFINITY);
  private blockNext = 0;

  constructor(options: BargeInOptions) {
    const { sampleRate, minSpeechMs, vad, onVadFailure = () => {} } = options;
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
      throw new RangeError(`barge-in: sampleRate ${sampleRate} is not allowed; use a positive integer in Hz`);
    }
    const [lowest, highest] = MIN_SPEECH_MS_RANGE;
    if (!Number.isFinite(minSpeechMs) || minSpeechMs < lowest || minSpeechMs > highest) {
      throw new RangeError(`barge-in: minSpeechMs ${minSpeechMs} is not allowed; use ${lowest} to ${highest} ms`);
    }
    if (vad && vad.sampleRate !== sampleRate) {
      throw new RangeError(`barge-in: the VAD runs at ${vad.sampleRate} Hz but the call is at ${sampleRate} Hz; they must match`);
    }
    this.sampleRate = sampleRate;
    this.minSpeechMs = minSpeechMs;
    this.vad = vad;
    this.onVadFailure = onVadFailure;
    this.floor = amplitudeOf(vad ? FLOOR_DBFS : ENERGY_ONLY_FLOOR_DBFS);
    this.outboundRms = new Float64Array(Math.ceil(ECHO_WINDOW_MS / SHORTEST_FRAME_MS));
  }

  /** A run long enough to hold the bot, not yet a barge-in: the bot should pause until it is one or ends. */
  get tentative(): boolean {
    return this.speaking && !this.decided && this.runMs >= HOLD_AFTER_MS;
  }

  /** Caller speech counted in the current run, in ms (0 while the bot is silent). */
  get speechMs(): number {
    return this.runMs;
  }

  /**
   * Whether the bot is playing audio; a change starts afresh (see reset()), except that a caller
   * already talking when the bot starts (they went on after a pause that ended their turn) is
   * counted from their run's start: the bot holds at once instead of talking over them.
   */
  botSpeaking(speaking: boolean): void {
    if (speaking === this.speaking) return;
    this.speaking = speaking;
    this.reset();
    if (speaking) {
      this.runMs = this.beforeRunMs;
      this.gapMs = this.beforeGapMs;
    }
    this.beforeRunMs = 0;
    this.beforeGapMs = 0;
  }

  /** The bot's frame just sent (silence included): its level bounds the echo to expect. */
  outbound(frame: Int16Array): void {
    const ring = this.outboundRms;
    ring[this.outboundNext] = rmsOf(frame);
    this.outboundNext = (this.outboundNext + 1) % ring.length;
    this.outboundMs = (frame.length * 1000) / this.sampleRate;
  }

  /** The caller's frame just received; true exactly once, when barge-in is decided. */
  inbound(frame: Int16Array): boolean {
    if (this.decided) return false;
    const rms = rmsOf(frame);
    const frameMs = (frame.length * 1000) / this.sampleRate;
    if (!this.speaking) {
      this.trackBeforeBot(rms, frameMs);
      return false;
    }
    const voiced = this.voiced(frame);
    const loudest = this.loudestOutbound();
    if (loudest >= this.learnFloor) this.learnEcho(rms, frameMs);
    if (voiced && rms >= this.floor && rms > this.echoRatio * ECHO_MARGIN * loudest) {
      this.runMs += frameMs;
      this.gapMs = 0;
    } else if (this.runMs > 0 && this.gapMs + frameMs <= MAX_GAP_MS) {
      this.gapMs += frameMs;
    } else {
      this.endRun();
    }
    if (this.runMs >= this.minSpeechMs || (this.providerHeard && this.runMs >= SPEECH_STARTED_MIN_MS)) {
      this.decided = true;
      return true;
    }
    return false;
  }

  /**
   * The STT provider's SpeechStarted event. True when it decides barge-in now; heard during a run too
   * short yet, it lets that run decide at SPEECH_STARTED_MIN_MS. Heard with no local run at all, it is
   * most likely the provider hearing the bot's echo, and is ignored.
   */
  speechStarted(): boolean {
    if (!this.speaking || this.decided || this.runMs === 0) return false;
    if (this.runMs >= SPEECH_STARTED_MIN_MS) {
      this.decided = true;
      return true;
    }
    this.providerHeard = true;
    return false;
  }

  /**
   * Forgets the current run and any decision (after a barge-in, or when the bot stops). The echo
   * history stays: the line keeps returning the bot's last words for a while.
   */
  reset(): void {
    this.decided = false;
    this.endRun();
  }

  /** The VAD's verdict; a VAD that throws is dropped, and the louder energy-only floor takes over. */
  private voiced(frame: Int16Array): boolean {
    if (this.vad === null) return true;
    try {
      return this.vad.isSpeech(frame);
    } catch (error) {
      this.vad = null;
      this.floor = amplitudeOf(ENERGY_ONLY_FLOOR_DBFS);
      this.onVadFailure(error);
      return true;
    }
  }

  /** While the bot is silent there is no echo: energy alone (the VAD's cost saved) keeps the caller's current run. */
  private trackBeforeBot(rms: number, frameMs: number): void {
    if (rms >= this.energyFloor) {
      this.beforeRunMs += frameMs;
      this.beforeGapMs = 0;
    } else if (this.beforeRunMs > 0 && this.beforeGapMs + frameMs <= MAX_GAP_MS) {
      this.beforeGapMs += frameMs;
    } else {
      this.beforeRunMs = 0;
      this.beforeGapMs = 0;
    }
  }

  private endRun(): void {
    this.runMs = 0;
    this.gapMs = 0;
    this.providerHeard = false;
  }

  /** Adds a frame to the current echo block; a full block becomes a measurement. */
  private learnEcho(inboundRms: number, frameMs: number): void {
    const out = this.outboundRms[(this.outboundNext - 1 + this.outboundRms.length) % this.outboundRms.length] ?? 0;
    this.blockIn += inboundRms * inboundRms;
    this.blockOut += out * out;
    this.blockMs += frameMs;
    if (this.blockMs < ECHO_BLOCK_MS) return;
    this.blockRatios[this.blockNext] = this.blockOut > 0 ? Math.sqrt(this.blockIn / this.blockOut) : Number.POSITIVE_INFINITY;
    this.blockNext = (this.blockNext + 1) % ECHO_BLOCKS;
    let smallest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < ECHO_BLOCKS; i++) smallest = Math.min(smallest, this.blockRatios[i] as number);
    this.echoRatio = Math.min(INITIAL_ECHO_RATIO, smallest);
    this.blockIn = 0;
    this.blockOut = 0;
    this.blockMs = 0;
  }

  /** The loudest outbound frame within the echo window. */
  private loudestOutbound(): number {
    const ring = this.outboundRms;
    const frames = this.outboundMs > 0 ? Math.min(ring.length, Math.ceil(ECHO_WINDOW_MS / this.outboundMs)) : 0;
    let loudest = 0;
    for (let k = 1; k <= frames; k++) {
      const rms = ring[(this.outboundNext - k + ring.length) % ring.length] ?? 0;
      if (rms > loudest) loudest = rms;
    }
    return loudest;
  }
}
