/**
 * The in-band DTMF detector against what a phone line delivers: the generated digit set (every
 * digit, 40–100 ms, −25 to −5 dBm0, twist ±6 dB, ±1.5 % off, noise at 15 dB SNR, μ-law) at 8 and
 * 16 kHz, the embedded French voice (talking, and the bot's phrases alone and as an echo under
 * the tones), Q.24's short tones and pauses.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { botPhraseTexts, frenchTexts, speechCorpus, type SpeechCorpus } from "../../src/cli/bench-dtmf-speech.ts";
import { digitSet, gaussian, inFrames, seededRandom, throughMulaw } from "../../src/cli/bench-dtmf-set.ts";
import { DtmfDetector } from "../../src/media/dtmf-detector.ts";
import { DTMF_KEYS, dtmfTone } from "../../src/media/dtmf-tones.ts";

const RATES = [8000, 16000] as const;

function detect(audio: Int16Array, rate: number): string {
  let heard = "";
  const detector = new DtmfDetector(rate, (digit) => (heard += digit));
  inFrames(audio, rate, (frame) => detector.push(frame));
  return heard;
}

/** Tones and pauses laid end to end (ms), with a little noise, through μ-law. */
function sequence(rate: number, parts: { digit?: string; ms: number }[], seed = 1): Int16Array {
  const chunks = parts.map((p) => (p.digit ? dtmfTone(p.digit, rate, p.ms, { levelDbm0: -15 }) : new Int16Array((rate * p.ms) / 1000)));
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  const noise = gaussian(seededRandom(seed));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(out[i]! + 40 * noise());
  return throughMulaw(out);
}

describe("in-band DTMF detector", () => {
  for (const rate of RATES) {
    test(`${rate} Hz: every tone of the generated set, each digit exactly once`, () => {
      for (const seed of [14, 15]) {
        const set = digitSet({ sampleRate: rate, seed });
        expect(set.count).toBe(16 * 4 * 3 * 3);
        expect(detect(set.audio, rate)).toBe(set.digits);
      }
    });

    test(`${rate} Hz: 20 ms tones are rejected however they fall on the blocks, 40 ms ones accepted`, () => {
      const random = seededRandom(7);
      for (const digit of DTMF_KEYS) {
        for (let k = 0; k < 6; k++) {
          const lead = Math.round(random() * 30);
          expect(detect(sequence(rate, [{ ms: 20 + lead }, { digit, ms: 20 }, { ms: 100 }]), rate)).toBe("");
          expect(detect(sequence(rate, [{ ms: 20 + lead }, { digit, ms: 40 }, { ms: 100 }]), rate)).toBe(digit);
        }
      }
    });

    test(`${rate} Hz: a repeated key with 40 ms pauses counts each press; a key held 2 s counts once`, () => {
      const presses: { digit?: string; ms: number }[] = [{ ms: 50 }];
      for (let i = 0; i < 5; i++) presses.push({ digit: "5", ms: 50 }, { ms: 40 });
      expect(detect(sequence(rate, presses), rate)).toBe("55555");
      expect(detect(sequence(rate, [{ ms: 30 }, { digit: "#", ms: 2000 }, { ms: 60 }, { digit: "#", ms: 60 }, { ms: 60 }]), rate)).toBe("##");
    });

    test(`${rate} Hz: a tone 3.5 % off is not a digit, 1.5 % off is`, () => {
      for (const digit of DTMF_KEYS) {
        for (const error of [-0.035, 0.035]) {
          expect(detect(throughMulaw(dtmfTone(digit, rate, 100, { levelDbm0: -10, frequencyError: error })), rate)).toBe("");
        }
        for (const error of [-0.015, 0.015]) {
          expect(detect(throughMulaw(dtmfTone(digit, rate, 100, { levelDbm0: -10, frequencyError: error })), rate)).toBe(digit);
        }
      }
    });
  }

  test("a rate change drops the half-heard block, then detects at the new rate", () => {
    let heard = "";
    const detector = new DtmfDetector(8000, (d) => (heard += d));
    detector.push(dtmfTone("7", 8000, 30, { levelDbm0: -10 }));
    detector.setSampleRate(16000);
    detector.push(dtmfTone("7", 16000, 60, { levelDbm0: -10 }));
    expect(detector.held).toBe("7");
    detector.push(new Int16Array(1600));
    expect(detector.held).toBeNull();
    expect(heard).toBe("7");
    expect(() => detector.setSampleRate(4000)).toThrow("at least 8000 Hz");
  });
});

describe("in-band DTMF detector and speech (embedded French voice, μ-law)", () => {
  let talk: SpeechCorpus;
  let bot: SpeechCorpus;

  beforeAll(async () => {
    talk = await speechCorpus({ texts: frenchTexts(3), targetSeconds: 90, rates: RATES });
    const phrases = botPhraseTexts();
    let i = 0;
    bot = await speechCorpus({ texts: () => phrases[i++ % phrases.length]!, targetSeconds: 1e9, maxSentences: phrases.length, rates: RATES });
  }, 120_000);

  for (const rate of RATES) {
    test(`${rate} Hz: talking and the bot's own phrases give no digit`, () => {
      expect(talk.seconds).toBeGreaterThanOrEqual(90);
      expect(detect(talk.audio.get(rate)!, rate)).toBe("");
      expect(detect(bot.audio.get(rate)!, rate)).toBe("");
    });

    test(`${rate} Hz: the bot's phrases as an echo 25 dB down (the line's echo return loss) neither hide a digit nor add one`, () => {
      const set = digitSet({ sampleRate: rate, seed: 21, under: bot.audio.get(rate)!, underGain: 10 ** (-25 / 20) });
      expect(detect(set.audio, rate)).toBe(set.digits);
    });
  }
});
