/**
 * Worker: one recording segment (two raw s16le mono files) → one stereo MP3, read and written in
 * chunks. Crash-safe: the MP3 is written as `<out>.part`, synced, then renamed; a crash leaves the
 * raw files and at most a `.part`, which the next run removes and redoes.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { MP3_CHUNK_SAMPLES, StereoMp3Encoder } from "./mp3-encoder.ts";

export interface Mp3Job {
  id: number;
  callerPath: string;
  botPath: string;
  rate: number;
  kbps: number;
  /** The final MP3 path; `<out>.part` while it is written. */
  out: string;
}

export type Mp3JobResult =
  /** `encodeMs`: the worker's own time on the job (one thread: its speed per worker). */
  | { id: number; ok: true; audioSeconds: number; encodeMs: number; bytes: number }
  | { id: number; ok: false; error: string };

declare const self: Worker;

const left = new Int16Array(MP3_CHUNK_SAMPLES);
const right = new Int16Array(MP3_CHUNK_SAMPLES);

/** Fills `into` from the file; a shorter channel reads as silence. Returns samples read. */
function readChunk(fd: number, into: Int16Array): number {
  const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
  let got = 0;
  while (got < bytes.length) {
    const n = readSync(fd, bytes, got, bytes.length - got, null);
    if (n === 0) break;
    got += n;
  }
  const samples = got >> 1;
  into.fill(0, samples);
  return samples;
}

function convert(job: Mp3Job): Mp3JobResult {
  const started = performance.now();
  const part = `${job.out}.part`;
  const caller = openSync(job.callerPath, "r");
  const bot = openSync(job.botPath, "r");
  const out = openSync(part, "w", 0o640);
  let bytes = 0;
  try {
    const total = Math.max(fstatSync(caller).size, fstatSync(bot).size) >> 1;
    const encoder = new StereoMp3Encoder(job.rate, job.kbps);
    const write = (mp3: Uint8Array): void => {
      if (mp3.length === 0) return;
      writeSync(out, mp3);
      bytes += mp3.length;
    };
    for (let done = 0; done < total; done += MP3_CHUNK_SAMPLES) {
      const n = Math.min(MP3_CHUNK_SAMPLES, total - done);
      readChunk(caller, left);
      readChunk(bot, right);
      write(n === MP3_CHUNK_SAMPLES ? encoder.encode(left, right) : encoder.encode(left.subarray(0, n), right.subarray(0, n)));
    }
    write(encoder.flush());
    fsyncSync(out);
    closeSync(out);
    renameSync(part, job.out);
    return { id: job.id, ok: true, audioSeconds: total / job.rate, encodeMs: performance.now() - started, bytes };
  } catch (err) {
    try {
      closeSync(out);
    } catch {
      // already closed before the rename failed
    }
    try {
      unlinkSync(part);
    } catch {
      // nothing written yet
    }
    return { id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    closeSync(caller);
    closeSync(bot);
  }
}

self.onmessage = (event: MessageEvent<Mp3Job>) => {
  self.postMessage(convert(event.data));
};
