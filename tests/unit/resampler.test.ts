import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createResamplerPool, defaultPoolSize } from "../../src/media/resampler-pool.ts";
import { concat } from "../support/pcm-8k.ts";

const pool = createResamplerPool({ size: 2 });
afterAll(() => pool.close());

function sine(rate: number, seconds: number, hz: number, amplitude: number): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** Amplitude from the RMS of the middle of the signal (edges excluded). */
function amplitudeOf(x: Int16Array): number {
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  let sum = 0;
  for (let i = from; i < to; i++) sum += (x[i] as number) ** 2;
  return Math.sqrt(sum / (to - from)) * Math.SQRT2;
}

function frequencyOf(x: Int16Array, rate: number): number {
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  let crossings = 0;
  for (let i = from + 1; i < to; i++) if (((x[i - 1] as number) < 0) !== ((x[i] as number) < 0)) crossings++;
  return (crossings / 2) * (rate / (to - from));
}

async function streamed(samples: Int16Array, from: number, to: number, chunkMs: number): Promise<{ out: Int16Array; tail: number }> {
  const stream = await pool.openStream(from, to);
  const chunk = (from * chunkMs) / 1000;
  const parts: Int16Array[] = [];
  for (let i = 0; i < samples.length; i += chunk) parts.push(await stream.push(samples.slice(i, i + chunk)));
  const tail = await stream.end();
  parts.push(tail);
  return { out: concat(parts), tail: tail.length };
}

describe("whole-buffer resample", () => {
  const cases: [number, number][] = [
    [24000, 8000],
    [22050, 8000],
    [22050, 16000],
    [22050, 48000],
    [8000, 16000],
  ];
  for (const [from, to] of cases) {
    test(`${from} -> ${to} Hz: length, amplitude and frequency of a 1 kHz sine`, async () => {
      for (const seconds of [1, 0.537, 2.3]) {
        const input = sine(from, seconds, 1000, 10000);
        const n = input.length;
        const out = await pool.resample(input, from, to);
        expect(Math.abs(out.length - Math.round((n * to) / from))).toBeLessThanOrEqual(1);
        const gainDb = 20 * Math.log10(amplitudeOf(out) / 10000);
        expect(Math.abs(gainDb)).toBeLessThan(1);
        expect(Math.abs(frequencyOf(out, to) - 1000)).toBeLessThan(10);
      }
    });
  }

  test("the end of the signal is not lost (the filter tail is flushed)", async () => {
    const out = await pool.resample(sine(22050, 1, 1000, 10000), 22050, 8000);
    let lastPeak = 0;
    for (let i = out.length - 8; i < out.length; i++) lastPeak = Math.max(lastPeak, Math.abs(out[i] as number));
    expect(lastPeak).toBeGreaterThan(3000);
  });

  test("same rate returns an equal copy; empty input gives empty output", async () => {
    const input = sine(8000, 0.1, 440, 5000);
    const out = await pool.resample(input, 8000, 8000);
    expect(out).not.toBe(input);
    expect(Array.from(out)).toEqual(Array.from(input));
    expect((await pool.resample(new Int16Array(0), 22050, 8000)).length).toBe(0);
  });

  test("a whole buffer is transferred; a view into a larger buffer is copied and the buffer kept", async () => {
    const whole = sine(16000, 0.1, 440, 5000);
    await pool.resample(whole, 16000, 8000);
    expect(whole.length).toBe(0);
    const big = sine(16000, 0.2, 440, 5000);
    const before = Array.from(big);
    const out = await pool.resample(big.subarray(800, 2400), 16000, 8000);
    expect(out.length).toBe(800);
    expect(Array.from(big)).toEqual(before);
  });

  test("full-scale input is clamped, not wrapped", async () => {
    const square = new Int16Array(8000);
    for (let i = 0; i < square.length; i++) square[i] = Math.floor(i / 20) % 2 === 0 ? 32767 : -32768;
    const out = await pool.resample(square, 8000, 16000);
    // The Gibbs overshoot would wrap to the opposite sign without clamping.
    for (let i = 100; i < out.length - 100; i += 40) {
      const expected = Math.floor(i / 2 / 20) % 2 === 0 ? 1 : -1;
      expect(Math.sign(out[i + 10] as number)).toBe(expected);
    }
  });

  test("bad input gets a clear error", async () => {
    await expect(pool.resample(new Int16Array(10), 0, 8000)).rejects.toThrow("fromRate 0 is not allowed");
    await expect(pool.resample(new Int16Array(10), 8000, 8000.5)).rejects.toThrow("toRate 8000.5 is not allowed");
    await expect(pool.resample(new Int16Array(10), 100, 192000)).rejects.toThrow("ratio of 1920");
    await expect(pool.resample(new Float32Array(10) as unknown as Int16Array, 8000, 16000)).rejects.toThrow("must be an Int16Array");
    await expect(pool.openStream(8000, -1)).rejects.toThrow("toRate -1 is not allowed");
    expect(() => createResamplerPool({ size: 0 })).toThrow("pool size 0 is not allowed");
    expect(() => createResamplerPool({ size: 1, quality: "good" as "best" })).toThrow('quality "good" is not allowed');
  });
});

describe("streams", () => {
  for (const [from, to] of [
    [24000, 8000],
    [22050, 8000],
    [8000, 16000],
    [16000, 48000],
  ] as const) {
    test(`${from} -> ${to} Hz in 20 ms chunks equals the whole-buffer result; end() flushes the tail`, async () => {
      const input = sine(from, 1.5, 1000, 12000);
      const whole = await pool.resample(input.slice(), from, to);
      const { out, tail } = await streamed(input, from, to, 20);
      expect(tail).toBeGreaterThan(0);
      expect(Math.abs(out.length - whole.length)).toBeLessThanOrEqual(1);
      let maxDiff = 0;
      for (let i = 0; i < Math.min(out.length, whole.length); i++) {
        maxDiff = Math.max(maxDiff, Math.abs((out[i] as number) - (whole[i] as number)));
      }
      expect(maxDiff).toBeLessThanOrEqual(2);
      expect(Math.abs(20 * Math.log10(amplitudeOf(out) / 12000))).toBeLessThan(1);
    });
  }

  test("equal rates pass chunks through; a stream refuses pushes after end() or close()", async () => {
    const same = await pool.openStream(16000, 16000);
    const chunk = sine(16000, 0.02, 440, 1000);
    expect(await same.push(chunk)).toBe(chunk);
    expect((await same.end()).length).toBe(0);
    await expect(same.push(chunk)).rejects.toThrow("already ended or closed");

    const stream = await pool.openStream(24000, 8000);
    expect((await stream.push(sine(24000, 0.02, 440, 1000))).length).toBeGreaterThan(0);
    stream.close();
    stream.close();
    await expect(stream.push(sine(24000, 0.02, 440, 1000))).rejects.toThrow("already ended or closed");
    await expect(stream.end()).rejects.toThrow("already ended or closed");
  });

  test("many streams at once keep their own filter state", async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => sine(24000, 0.5, 300 + i * 100, 8000));
    const results = await Promise.all(inputs.map((input) => streamed(input, 24000, 8000, 20)));
    results.forEach(({ out }, i) => {
      expect(Math.abs(out.length - 4000)).toBeLessThanOrEqual(1);
      expect(Math.abs(frequencyOf(out, 8000) - (300 + i * 100))).toBeLessThan(10);
    });
  });
});

describe("pool", () => {
  test("a pool of 2 handles 50 concurrent requests, each getting its own answer", async () => {
    const levels = Array.from({ length: 50 }, (_, i) => (i + 1) * 200);
    const outs = await Promise.all(
      levels.map((level, i) => {
        const input = new Int16Array(22050 + i * 37).fill(level);
        return pool.resample(input, 22050, i % 2 === 0 ? 8000 : 16000);
      }),
    );
    outs.forEach((out, i) => {
      const to = i % 2 === 0 ? 8000 : 16000;
      expect(Math.abs(out.length - Math.round(((22050 + i * 37) * to) / 22050))).toBeLessThanOrEqual(1);
      // A constant passes a low-pass filter unchanged: the middle carries this request's own level.
      expect(Math.abs((out[out.length >> 1] as number) - (levels[i] as number))).toBeLessThanOrEqual(2);
    });
  });

  test("defaultPoolSize leaves a core for the event loop", () => {
    expect(defaultPoolSize()).toBe(Math.max(1, navigator.hardwareConcurrency - 1));
  });

  test("after close() requests fail clearly", async () => {
    const closing = createResamplerPool({ size: 1 });
    await closing.close();
    await expect(closing.resample(new Int16Array(100), 16000, 8000)).rejects.toThrow("resampler pool is closed");
    await expect(closing.openStream(16000, 8000)).rejects.toThrow("resampler pool is closed");
  });

  for (const [name, ending] of [
    ["after close()", "await pool.close();"],
    ["when idle and never closed", ""],
  ] as const) {
    test(`the workers let the process exit ${name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "voicebot-resampler-"));
      const script = join(dir, "exit.ts");
      const poolModule = join(import.meta.dir, "../../src/media/resampler-pool.ts");
      writeFileSync(
        script,
        `import { createResamplerPool } from ${JSON.stringify(poolModule)};
const pool = createResamplerPool({ size: 2 });
const out = await pool.resample(new Int16Array(24000), 24000, 8000);
const stream = await pool.openStream(24000, 8000);
await stream.push(new Int16Array(480));
stream.close();
${ending}
console.log("resampled", out.length);
`,
      );
      const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe" });
      const guard = setTimeout(() => child.kill(), 30_000);
      const code = await child.exited;
      clearTimeout(guard);
      rmSync(dir, { recursive: true, force: true });
      expect(await new Response(child.stdout).text()).toBe("resampled 8000\n");
      expect(code).toBe(0);
    });
  }
});
