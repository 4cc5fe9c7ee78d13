import { describe, expect, test } from "bun:test";
import { SynthesisTap } from "../../src/media/synthesis-tap.ts";

async function all(chunks: AsyncIterable<Int16Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of chunks) out.push(...chunk);
  return out;
}

describe("SynthesisTap", () => {
  test("a late listener hears from the first chunk, then the rest as it comes; the render keeps its chunks", async () => {
    const tap = new SynthesisTap();
    tap.push(Int16Array.of(1, 2));
    const heard = all(tap.listen());
    await Bun.sleep(1);
    tap.push(Int16Array.of(3));
    tap.end(null);
    expect(await heard).toEqual([1, 2, 3]);
    expect([...tap.joined()]).toEqual([1, 2, 3]);
  });

  test("chunks handed to a listener are copies: detaching them leaves the render whole", async () => {
    const tap = new SynthesisTap();
    tap.push(Int16Array.of(4, 5));
    tap.end(null);
    for await (const chunk of tap.listen()) structuredClone(chunk.buffer, { transfer: [chunk.buffer as ArrayBuffer] });
    expect([...tap.joined()]).toEqual([4, 5]);
  });

  test("a failed render fails its listeners after what they already heard; an abort just stops listening", async () => {
    const tap = new SynthesisTap();
    tap.push(Int16Array.of(1));
    const abort = new AbortController();
    const stopped = all(tap.listen(abort.signal));
    const failing = all(tap.listen());
    await Bun.sleep(1);
    abort.abort();
    expect(await stopped).toEqual([1]);
    tap.end(new Error("voice down"));
    expect(tap.failed).toBe(true);
    await expect(failing).rejects.toThrow("voice down");
  });
});
