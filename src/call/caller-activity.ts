/**
 * Is the caller talking? A plain energy detector on inbound PCM, enough to keep the silence
 * timers from firing at someone who is speaking in keypad mode. (Barge-in for the AI mode needs
 * a real VAD gated against echo; that is a different job.)
 */
const SPEECH_RMS = 330; // ≈ −40 dBFS: above line noise, below any voice
const START_MS = 200;
const END_MS = 800;

export type ActivityChange = "speech-start" | "speech-end" | null;

export class CallerActivity {
  private speechSamples = 0;
  private quietSamples = 0;
  private speaking = false;
  /** Whether the last frame pushed was above the speech threshold. */
  loud = false;
  /** Whether any frame came yet: the call reaches its dialog with the first (CallSession.begin). */
  heard = false;
  private startSamples: number;
  private endSamples: number;

  constructor(sampleRate: number) {
    this.startSamples = (sampleRate * START_MS) / 1000;
    this.endSamples = (sampleRate * END_MS) / 1000;
  }

  setSampleRate(sampleRate: number): void {
    this.startSamples = (sampleRate * START_MS) / 1000;
    this.endSamples = (sampleRate * END_MS) / 1000;
    this.speechSamples = 0;
    this.quietSamples = 0;
  }

  /** Per inbound frame: allocation-free. */
  push(samples: Int16Array): ActivityChange {
    this.heard = true;
    let sum = 0;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as number;
      sum += s * s;
    }
    const loud = samples.length > 0 && sum / samples.length > SPEECH_RMS * SPEECH_RMS;
    this.loud = loud;
    if (loud) {
      this.speechSamples += samples.length;
      this.quietSamples = 0;
      if (!this.speaking && this.speechSamples >= this.startSamples) {
        this.speaking = true;
        return "speech-start";
      }
    } else {
      this.quietSamples += samples.length;
      if (this.quietSamples >= this.startSamples) this.speechSamples = 0;
      if (this.speaking && this.quietSamples >= this.endSamples) {
        this.speaking = false;
        return "speech-end";
      }
    }
    return null;
  }
}
