/**
 * 8 kHz PCM for tests that build what a line carries: speech at a known peak, silence, gain,
 * delay (echo), mixing, and deterministic line hiss.
 */
export const RATE = 8000;

/** Speech at RATE with its peak at `peak`, so every test knows its levels. */
export function normalized(pcm: Int16Array, peak: number): Int16Array {
  let max = 1;
  for (const v of pcm) max = Math.max(max, Math.abs(v));
  return pcm.map((v) => Math.round((v * peak) / max));
}

export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const silence = (ms: number): Int16Array => new Int16Array((RATE * ms) / 1000);

export function gain(pcm: Int16Array, db: number): Int16Array {
  const factor = 10 ** (db / 20);
  return pcm.map((v) => Math.round(v * factor));
}

/** `pcm` as it comes back `ms` later (the head is silence), same length. */
export function delayed(pcm: Int16Array, ms: number): Int16Array {
  const out = new Int16Array(pcm.length);
  out.set(pcm.subarray(0, pcm.length - (RATE * ms) / 1000), (RATE * ms) / 1000);
  return out;
}

/** Sample-wise sum, clipped, as long as the longer input. */
export function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, (a[i] ?? 0) + (b[i] ?? 0)));
  return out;
}

/** Deterministic white noise at `dbfs` RMS: the line's own hiss. */
export function hiss(samples: number, dbfs: number): Int16Array {
  const out = new Int16Array(samples);
  const amplitude = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3);
  let state = 12345;
  for (let i = 0; i < samples; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round(((state / 2 ** 32) * 2 - 1) * amplitude);
  }
  return out;
}
