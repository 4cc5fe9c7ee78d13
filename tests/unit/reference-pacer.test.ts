// The bench's control server: paced tone frames after the caller's first message, then a hang-up.
import { expect, test } from "bun:test";

const FRAMES = 10;

test("the reference pacer plays whole 20 ms tone frames in real time, then hangs up", async () => {
  const pacer = Bun.spawn([process.execPath, "scripts/reference-pacer.ts", "--seconds", String(FRAMES * 0.02)], { stdout: "pipe", stderr: "inherit" });
  try {
    const reader = pacer.stdout.getReader();
    const { value } = await reader.read();
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(new TextDecoder().decode(value))?.[1]);
    expect(port).toBeGreaterThan(0);

    const chunks: Uint8Array[] = [];
    let firstAt = 0;
    let lastAt = 0;
    const closed = Promise.withResolvers<void>();
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, data) {
          lastAt = performance.now();
          if (firstAt === 0) firstAt = lastAt;
          chunks.push(new Uint8Array(data));
        },
        close: () => closed.resolve(),
      },
    });
    socket.write(new Uint8Array([0x01, 0x00, 0x10, ...new Uint8Array(16).fill(7)]));
    const bytes = await received(chunks, FRAMES * 323 + 3);
    socket.end();
    await closed.promise;

    expect(bytes.length).toBe(FRAMES * 323 + 3);
    for (let f = 0; f < FRAMES; f++) expect(Array.from(bytes.subarray(f * 323, f * 323 + 3))).toEqual([0x10, 0x01, 0x40]);
    const tone = new DataView(bytes.buffer, 3, 320);
    expect(Math.max(...Array.from({ length: 160 }, (_, i) => Math.abs(tone.getInt16(2 * i, true))))).toBeGreaterThan(7000);
    expect(Array.from(bytes.subarray(FRAMES * 323))).toEqual([0x00, 0x00, 0x00]);
    // Paced, not sent at once: the last frame comes at least nine periods after the first.
    expect(lastAt - firstAt).toBeGreaterThanOrEqual((FRAMES - 1) * 20 - 5);
  } finally {
    pacer.kill();
    await pacer.exited;
  }
});

/** The chunks joined, once they hold `length` bytes. */
async function received(chunks: Uint8Array[], length: number): Promise<Uint8Array> {
  while (chunks.reduce((n, c) => n + c.length, 0) < length) await Bun.sleep(10);
  return new Uint8Array(Buffer.concat(chunks));
}
