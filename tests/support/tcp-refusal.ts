/**
 * What a TCP client gets from a server that refuses it at once (AudioSocket's socket.terminate()):
 * the bytes received before the close. The reset may even arrive before the connect resolves,
 * which is the same refusal.
 */
export async function bytesBeforeClose(hostname: string, port: number): Promise<number> {
  const closed = Promise.withResolvers<number>();
  let bytes = 0;
  try {
    await Bun.connect({
      hostname, port,
      socket: { data: (_s, d) => void (bytes += d.length), close: () => closed.resolve(bytes), error: () => closed.resolve(bytes) },
    });
  } catch {
    return bytes;
  }
  return closed.promise;
}
