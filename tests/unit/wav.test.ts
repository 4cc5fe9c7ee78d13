import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import { decodeWav, encodeWav, readWav, toCallRate, WavFormatError, writeWav } from "../../src/simulate/wav.ts";

const dir = mkdtempSync(join(tmpdir(), "voicebot-wav-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Header {
  format?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  /** Extra chunks placed before "data" (id, body). */
  before?: [string, Uint8Array][];
  extensibleSubformat?: number;
}

/** A WAV built by hand, so the tests do not trust the encoder they check. */
function wavBytes(data: Uint8Array, h: Header = {}): Uint8Array {
  const { format = 1, channels = 1, rate = 8000, bits = 16, before = [], extensibleSubformat } = h;
  const fmtSize = extensibleSubformat === undefined ? 16 : 40;
  const fmt = new Uint8Array(fmtSize);
  const f = new DataView(fmt.buffer);
  f.setUint16(0, format, true);
  f.setUint16(2, channels, true);
  f.setUint32(4, rate, true);
  f.setUint32(8, (rate * channels * bits) / 8, true);
  f.setUint16(12, (channels * bits) / 8, true);
  f.setUint16(14, bits, true);
  if (extensibleSubformat !== undefined) {
    f.setUint16(16, 22, true);
    f.setUint16(24, extensibleSubformat, true);
  }
  const chunks: [string, Uint8Array][] = [["fmt ", fmt], ...before, ["data", data]];
  const size = 12 + chunks.reduce((n, [, body]) => n + 8 + body.length + (body.length & 1), 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const tag = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  tag(0, "RIFF");
  view.setUint32(4, size - 8, true);
  tag(8, "WAVE");
  let at = 12;
  for (const [id, body] of chunks) {
    tag(at, id);
    view.setUint32(at + 4, body.length, true);
    out.set(body, at + 8);
    at += 8 + body.length + (body.length & 1);
  }
  return out;
}

function s16(...samples: number[]): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  samples.forEach((s, i) => view.setInt16(2 * i, s, true));
  return out;
}

describe("WAV", () => {
  test("encode then decode gives the same samples and rate", () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const pcm = decodeWav(encodeWav(samples, 16000), "x.wav");
    expect(pcm.sampleRate).toBe(16000);
    expect(Array.from(pcm.samples)).toEqual(Array.from(samples));
  });

  test("writeWav then readWav round-trips through a file", () => {
    const path = join(dir, "round.wav");
    const samples = Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    writeWav(path, samples, 8000);
    const pcm = readWav(path);
    expect(pcm.sampleRate).toBe(8000);
    expect(pcm.samples).toEqual(samples);
  });

  test("stereo is downmixed to mono by averaging the channels", () => {
    const pcm = decodeWav(wavBytes(s16(100, 300, -1000, -2000, 32767, 32767), { channels: 2, rate: 44100 }), "st.wav");
    expect(pcm.sampleRate).toBe(44100);
    expect(Array.from(pcm.samples)).toEqual([200, -1500, 32767]);
  });

  test("skips unknown chunks, odd-sized ones included, and accepts WAVE_FORMAT_EXTENSIBLE PCM", () => {
    const before: [string, Uint8Array][] = [["LIST", new Uint8Array(5)], ["fact", new Uint8Array(4)]];
    expect(Array.from(decodeWav(wavBytes(s16(1, 2, 3), { before }), "l.wav").samples)).toEqual([1, 2, 3]);
    const ext = decodeWav(wavBytes(s16(7, -7), { format: 0xfffe, extensibleSubformat: 1, rate: 16000 }), "e.wav");
    expect(Array.from(ext.samples)).toEqual([7, -7]);
  });

  test("reads to the end when the data size was left at 0 by a streaming writer", () => {
    const bytes = wavBytes(s16(5, 6, 7, 8));
    new DataView(bytes.buffer).setUint32(40, 0, true);
    expect(Array.from(decodeWav(bytes, "stream.wav").samples)).toEqual([5, 6, 7, 8]);
  });

  test("refuses what it cannot play, naming the file and the format", () => {
    const cases: [Uint8Array, string][] = [
      [new TextEncoder().encode("hello, not a wav file"), "bad.wav: not a WAV file (no RIFF/WAVE header)"],
      [wavBytes(new Uint8Array(8), { format: 3, bits: 32 }), "bad.wav: 32-bit float is not supported; only 16-bit PCM is"],
      [wavBytes(new Uint8Array(6), { bits: 24 }), "bad.wav: 24-bit PCM is not supported; only 16-bit PCM is"],
      [wavBytes(new Uint8Array(4), { format: 7, bits: 8 }), "bad.wav: format code 7 is not supported"],
      [wavBytes(new Uint8Array(4), { format: 0xfffe, extensibleSubformat: 3, bits: 32 }), "bad.wav: 32-bit float is not supported"],
      [wavBytes(new Uint8Array(4), { rate: 500 }), "bad.wav: sample rate 500 Hz is outside 1000..192000"],
      [wavBytes(new Uint8Array(4)).subarray(0, 36), `bad.wav: no "data" chunk`],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeWav(bytes, "bad.wav")).toThrow(message);
      expect(() => decodeWav(bytes, "bad.wav")).toThrow(WavFormatError);
    }
  });

  test("a missing file is a WavFormatError naming the path", () => {
    const path = join(dir, "nope.wav");
    expect(() => readWav(path)).toThrow(`${path}: cannot be read`);
  });

  test("a file already at the call rate is used as is; others go through the resampler pool", async () => {
    const samples = Int16Array.from({ length: 22050 }, (_, i) => Math.round(5000 * Math.sin((2 * Math.PI * 300 * i) / 22050)));
    const pool = createResamplerPool({ size: 1 });
    try {
      const same = await toCallRate({ sampleRate: 8000, samples }, 8000, pool);
      expect(same).toBe(samples);
      const resampled = await toCallRate({ sampleRate: 22050, samples }, 8000, pool);
      expect(Math.abs(resampled.length - 8000)).toBeLessThanOrEqual(1);
    } finally {
      await pool.close();
    }
  });
});
