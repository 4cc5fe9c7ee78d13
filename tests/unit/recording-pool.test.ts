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

  test("released slots are reused; a chunk left free is dropped once the others keep the reserve, and memory shrinks back", () => {
    const pool = new RecordingPool();
    const slots = Array.from({ length: 2 * SLOTS_PER_CHUNK }, () => pool.take(8000));
    pool.newChunks();
    const first = slots[0] as (typeof slots)[number];
    pool.release(first.id);
    expect(pool.take(8000).id).toBe(first.id);
    for (const s of slots) pool.release(s.id);
    // The first chunk emptied while the second was full: kept (the reserve). The second emptied with none in use: dropped.
    expect(pool.dropped()).toEqual([1]);
    expect(pool.usage).toEqual({ slots: 0, bytes: SLOTS_PER_CHUNK * 16000 });
    expect(pool.allChunks().map((c) => c.id)).toEqual([0]);
    expect(pool.dropped()).toEqual([]);
  });

  test("once the first swap has made its chunks, recorders swapping slots every second make none and drop none; when they stop, one chunk is left", () => {
    const pool = new RecordingPool();
    let held = Array.from({ length: 100 }, () => pool.take(8000));
    const swap = () => {
      // Each recorder takes a fresh slot, and the worker gives the full one back a moment later.
      const fresh = held.map(() => pool.take(8000));
      for (const slot of held) pool.release(slot.id);
      held = fresh;
    };
    swap();
    expect(pool.newChunks()).toHaveLength(Math.ceil(200 / SLOTS_PER_CHUNK));
    pool.dropped();
    for (let second = 0; second < 20; second++) swap();
    expect(pool.newChunks()).toEqual([]);
    expect(pool.dropped()).toEqual([]);
    for (const slot of held) pool.release(slot.id);
    expect(pool.allChunks()).toHaveLength(1);
  });

  test("wholly free chunks are kept while the others have fewer free slots than there are in use", () => {
    const pool = new RecordingPool();
    const slots = Array.from({ length: 4 * SLOTS_PER_CHUNK }, () => pool.take(8000));
    pool.newChunks();
    const releaseChunk = (n: number) => {
      for (const s of slots.slice(n * SLOTS_PER_CHUNK, (n + 1) * SLOTS_PER_CHUNK)) pool.release(s.id);
    };
    // Chunks 3 then 2 empty: 96, then 64 slots in use, never as many free elsewhere: both kept.
    releaseChunk(3);
    releaseChunk(2);
    expect(pool.dropped()).toEqual([]);
    // Chunk 1 empties: 32 in use, and one free chunk keeps 32 free: the two newest go.
    releaseChunk(1);
    expect(pool.dropped()).toEqual([3, 2]);
    releaseChunk(0);
    expect(pool.dropped()).toEqual([1]);
    expect(pool.usage).toEqual({ slots: 0, bytes: SLOTS_PER_CHUNK * 16000 });
  });
});
