import { describe, expect, test } from "bun:test";
import { RecordingPool, SLOTS_PER_CHUNK } from "../../src/media/recording-pool.ts";

describe("RecordingPool", () => {
  test("slots are distinct, of the size asked, and a chunk is announced to the worker once", () => {
    const pool = new RecordingPool();
    const slots = Array.from({ length: SLOTS_PER_CHUNK + 1 }, () => pool.take(8000));
    expect(new Set(slots.map((s) => s.id)).size).toBe(SLOTS_PER_CHUNK + 1);
    expect(slots.every((s) => s.samples.length === 8000 && s.samples.buffer instanceof SharedArrayBuffer)).toBe(true);
    const chunks = pool.newChunks();
    expect(chunks.map((c) => c.slotBytes)).toEqual([16000, 16000]);
    expect(pool.newChunks()).toEqual([]);
    // A slot's samples are where the worker reads them: chunk id × SLOTS_PER_CHUNK + index.
    const last = slots[SLOTS_PER_CHUNK] as (typeof slots)[number];
    last.samples[0] = 1234;
    const chunk = chunks.find((c) => c.id === Math.floor(last.id / SLOTS_PER_CHUNK));
    const offset = (last.id % SLOTS_PER_CHUNK) * 16000;
    expect(new Int16Array(chunk?.buffer as SharedArrayBuffer, offset, 1)[0]).toBe(1234);
    expect(pool.take(16000).samples.length).toBe(16000);
    expect(pool.usage.slots).toBe(SLOTS_PER_CHUNK + 2);
  });

  test("released slots are reused; a chunk left free is dropped while another of its size has room, and memory shrinks back", () => {
    const pool = new RecordingPool();
    const slots = Array.from({ length: 2 * SLOTS_PER_CHUNK }, () => pool.take(8000));
    pool.newChunks();
    const first = slots[0] as (typeof slots)[number];
    pool.release(first.id);
    expect(pool.take(8000).id).toBe(first.id);
    for (const s of slots) pool.release(s.id);
    // The first chunk emptied while the second was full: kept. The second emptied next to a free first: dropped.
    expect(pool.dropped()).toEqual([1]);
    expect(pool.usage).toEqual({ slots: 0, bytes: SLOTS_PER_CHUNK * 16000 });
    expect(pool.allChunks().map((c) => c.id)).toEqual([0]);
    expect(pool.dropped()).toEqual([]);
  });
});
