/**
 * A TCP relay the bench puts between the appliances and their PostgreSQL, to stage an outage
 * without touching the server: cut() drops every connection and refuses new ones (accepted, then
 * closed at once) for a while, which is what a stopped or unreachable server looks like from an
 * appliance; stall() keeps every connection open but carries nothing either way (a hung server, a
 * network that drops packets); then it relays again.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export class CutProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private cutUntil = 0;
  private stalled = false;
  private readonly held: (() => void)[] = [];

  private constructor(private readonly server: Server, readonly port: number) {}

  /** Listens on 127.0.0.1 (a free port) and relays to host:port. */
  static async start(host: string, port: number): Promise<CutProxy> {
    let proxy: CutProxy | null = null;
    const server = createServer((client) => proxy?.accept(client, host, port));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the outage proxy has no TCP address");
    proxy = new CutProxy(server, address.port);
    return proxy;
  }

  private accept(client: Socket, host: string, port: number): void {
    if (Date.now() < this.cutUntil) {
      client.destroy();
      return;
    }
    if (this.stalled) {
      client.pause();
      this.held.push(() => this.accept(client, host, port));
      return;
    }
    const upstream = connect(port, host);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Drops every relayed connection and refuses new ones for `ms`. */
  cut(ms: number): void {
    this.cutUntil = Date.now() + ms;
    for (const [client, upstream] of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Carries nothing for `ms`, holding every connection open (and new ones unanswered). */
  stall(ms: number): void {
    this.stalled = true;
    for (const [client, upstream] of this.pairs) {
      client.pause();
      upstream.pause();
    }
    setTimeout(() => {
      this.stalled = false;
      for (const [client, upstream] of this.pairs) {
        client.resume();
        upstream.resume();
      }
      for (const next of this.held.splice(0)) next();
    }, ms).unref();
  }

  async close(): Promise<void> {
    this.cut(0);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
