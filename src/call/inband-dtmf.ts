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
  private readonly detector: DtmfDetector;
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
  ) {
    this.detector = new DtmfDetector(leg.sampleRate, this.heard);
  }

  /** Inbound PCM as the leg delivered it. Allocation-free. */
  push(samples: Int16Array): void {
    const listen = this.mode === "on" || !this.leg.dtmfEvents;
    // Audio skipped while not listening leaves the detector's half-heard block stale.
    if (listen && !this.listening) this.detector.reset();
    this.listening = listen;
    if (!listen) return;
    this.detector.push(samples);
    if (this.detector.held !== null && this.detector.held === this.inbandDigit) this.inbandAt = this.now();
  }

  /** A digit from the wire: false when its tone was already heard (the call has it). */
  fromWire(digit: string): boolean {
    const at = this.now();
    const duplicate = digit === this.inbandDigit && (this.detector.held === digit || at - this.inbandAt <= DUPLICATE_MS);
    this.wireDigit = digit;
    this.wireAt = at;
    return !duplicate;
  }

  setSampleRate(sampleRate: number): void {
    this.detector.setSampleRate(sampleRate);
  }

  private readonly heard = (digit: string): void => {
    const at = this.now();
    this.inbandDigit = digit;
    this.inbandAt = at;
    if (digit === this.wireDigit && at - this.wireAt <= DUPLICATE_MS) return;
    this.onDigit(digit);
  };
}
