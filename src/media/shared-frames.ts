/**
 * Sample buffers shared by every call of the process, one per length, for frames that are built,
 * copied out and forgotten within one turn of work (a frame for the socket, a decoded caller frame).
 *
 * Why not one per call: at a thousand calls, a call's own buffers have left the CPU caches by its
 * next frame 20 ms later (the kernel's work for a thousand sockets passes through in between), and
 * on this path the cost is memory, not arithmetic: in a `perf` profile of a 1000-call run, 85 % of
 * the JavaScript samples of the frame path sat on first touches of per-call objects and buffers.
 * A shared buffer is touched by every call in turn and stays cached.
 *
 * The contract: what `get(n)` returns is overwritten by the next user of the same set and length,
 * so whoever fills it hands it on synchronously, and whoever receives it copies what it keeps.
 */
export class SharedFrames {
  private readonly byLength = new Map<number, Int16Array>();

  get(length: number): Int16Array {
    let frame = this.byLength.get(length);
    if (frame === undefined) {
      frame = new Int16Array(length);
      this.byLength.set(length, frame);
    }
    return frame;
  }
}
