import { afterAll, describe, expect, test } from "bun:test";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";

/** The Speex engine through the same pool and worker protocol as libsamplerate-js. */
const speex = createResamplerPool({ size: 1, engine: "speex" });
const lsr = createResamplerPool({ size: 1, engine: "libsamplerate" });
afterAll(async () => {
  await speex.close();
  await lsr.close();
});

function sine(rate: number, seconds: number, hz: number, amplitude: number): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

function gainDb(x: Int16Array, amplitude: number): number {
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  let sum = 0;
  for (let i = from; i < to; i++) sum += (x[i] as number) ** 2;
  return 20 * Math.log10((Math.sqrt(sum / (to - from)) * Math.SQRT2) / amplitude);
}

describe("Speex engine", () => {
  for (const [from, to] of [[24000, 8000], [24000, 16000], [22050, 8000], [8000, 48000]] as const) {
    test(`${from} -> ${to} Hz: exact length, flat at 1 and 3.4 kHz, streamed in 20 ms chunks`, async () => {
      for (const hz of [1000, 3400]) {
        const input = sine(from, 1.5, hz, 10000);
        const whole = await speex.resample(input.slice(), from, to);
        expect(whole.length).toBe(Math.round((input.length * to) / from));
        expect(Math.abs(gainDb(whole, 10000))).toBeLessThan(0.5);
        const stream = await speex.openStream(from, to);
        const parts: Int16Array[] = [];
        const chunk = from / 50;
        for (let i = 0; i < input.length; i += chunk) parts.push(await stream.push(input.slice(i, i + chunk)));
        parts.push(await stream.end());
        const total = parts.reduce((n, p) => n + p.length, 0);
        expect(total).toBe(whole.length);
      }
    });
  }

  test("agrees with libsamplerate-js on a voice-band signal (same timing, within a few LSB of level)", async () => {
    const input = sine(24000, 1, 440, 8000);
    const a = await speex.resample(input.slice(), 24000, 8000);
    const b = await lsr.resample(input.slice(), 24000, 8000);
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let i = 200; i < a.length - 200; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    expect(worst).toBeLessThan(80);
  });

  test("an unknown engine is refused with the allowed names", () => {
    expect(() => createResamplerPool({ size: 1, engine: "sox" as "speex" })).toThrow('resampler engine "sox" is not allowed; use one of libsamplerate, speex');
  });
});
