/**
 * Stereo MP3 from two mono Int16 channels (caller left, bot right) with @breezystack/lamejs
 * (`lamejs` 1.2.1 is broken: STACK-NOTES). CPU-heavy: run it in a worker (mp3-worker.ts).
 */
import { Mp3Encoder } from "@breezystack/lamejs";

/** MPEG-1 layer III bitrates (32, 44.1, 48 kHz) and MPEG-2/2.5 ones (8 to 24 kHz), in kbit/s. */
const MPEG1_KBPS = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MPEG2_KBPS = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const MP3_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
/** Samples per MP3 frame at MPEG-2/2.5 rates; feeding whole frames keeps lamejs from buffering odd tails. */
export const MP3_CHUNK_SAMPLES = 1152 * 4;

function allowedKbps(rate: number): readonly number[] {
  return rate >= 32000 ? MPEG1_KBPS : MPEG2_KBPS;
}

/** Null when the pair works, else what is wrong and what is allowed. */
export function mp3SettingsProblem(rate: number, kbps: number): string | null {
  if (!MP3_RATES.includes(rate)) return `a ${rate} Hz recording cannot be MP3: MP3 takes ${MP3_RATES.join(", ")} Hz`;
  const allowed = allowedKbps(rate);
  if (!allowed.includes(kbps)) return `--bitrate ${kbps}k is not an MP3 bitrate at ${rate} Hz: use one of ${allowed.map((k) => `${k}k`).join(", ")}`;
  return null;
}

export class StereoMp3Encoder {
  private readonly encoder: Mp3Encoder;

  constructor(readonly rate: number, readonly kbps: number) {
    const problem = mp3SettingsProblem(rate, kbps);
    if (problem) throw new RangeError(problem);
    this.encoder = new Mp3Encoder(2, rate, kbps);
  }

  /** Both channels the same length; returns the MP3 bytes ready so far (a view lamejs may reuse: copy or write it now). */
  encode(left: Int16Array, right: Int16Array): Uint8Array {
    return this.encoder.encodeBuffer(left, right);
  }

  flush(): Uint8Array {
    return this.encoder.flush();
  }
}
