/**
 * Keypad digits heard in the caller's audio, for legs whose wire carries no DTMF events
 * (mod_audio_stream while ESL is down or not configured; PBXes that leave digits in-band). It runs
 * on the caller's inbound audio at the leg's rate, before anything else touches it, and hands the
 * call the same digits the wire would. DTMF_INBAND: `auto` listens only while the leg has no DTMF
 * events, `on` always, `off` never. When a digit comes both ways (wire and tone) within
 * DUPLICATE_MS of each other, or while its tone still sounds, it counts once.
 */
import { DtmfDetector } from "../media/dtmf-detector.ts";
import type { CallLeg } from "../transports/types.ts";

export type InbandMode = "auto" | "on" | "off";

/** A wire digit and the same digit in-band this close together (or while its tone sounds) are one key press. */
export const DUPLICATE_MS = 200;

export class InbandDtmf {
  /** Made when listening first starts: most legs carry DTMF events and never need it (its set-up is a tenth of a call's start). */
  private detector: DtmfDetector | null = null;
  private listening = false;
  /** The last digit each way and when it was last seen (in-band: until its tone stopped). */
  private inbandDigit = "";
  private inbandAt = -Infinity;
  private wireDigit = "";
  private wireAt = -Infinity;

  constructor(
    private readonly mode: Exclude<InbandMode, "off">,
    private readonly leg: Pick<CallLeg, "dtmfEvents" | "sampleRate">,
    private readonly onDigit: (digit: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Inbound PCM as the leg delivered it. Allocation-free once listening. */
  push(samples: Int16Array): void {
    const listen = this.mode === "on" || !this.leg.dtmfEvents;
    if (!listen) {
      this.listening = false;
      return;
    }
    let detector = this.detector;
    if (detector === null) detector = this.detector = new DtmfDetector(this.leg.sampleRate, this.heard);
    // Audio skipped while not listening leaves the detector's half-heard block stale.
    else if (!this.listening) detector.reset();
    this.listening = true;
    detector.push(samples);
    if (detector.held !== null && detector.held === this.inbandDigit) this.inbandAt = this.now();
  }

  /** A digit from the wire: false when its tone was already heard (the call has it). */
  fromWire(digit: string): boolean {
    const at = this.now();
    const duplicate = digit === this.inbandDigit && (this.detector?.held === digit || at - this.inbandAt <= DUPLICATE_MS);
    this.wireDigit = digit;
    this.wireAt = at;
    return !duplicate;
  }

  setSampleRate(sampleRate: number): void {
    this.detector?.setSampleRate(sampleRate);
  }

  private readonly heard = (digit: string): void => {
    const at = this.now();
    this.inbandDigit = digit;
    this.inbandAt = at;
    if (digit === this.wireDigit && at - this.wireAt <= DUPLICATE_MS) return;
    this.onDigit(digit);
  };
}
