/**
 * What every WebSocket listener a PBX dials shares (mod_audio_stream, chan_websocket, ASP, the
 * console's test call): the peer's name in logs, the shared-secret check, the refusals.
 */
import type { Server, ServerWebSocket } from "bun";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "../log.ts";
import type { RefusingNew, TransportStats } from "./types.ts";

/** `ip:port`, IPv6 in brackets; "unknown" when Bun cannot say. */
export function formatPeer(address: { address: string; port: number } | null): string {
  if (address === null) return "unknown";
  return address.address.includes(":") ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `Authorization: Bearer <token>`; null without one. */
export function bearer(req: Request): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  return match?.[1] ?? null;
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** A configured token, compared in constant time (both sides hashed first, so lengths never leak). */
export class SharedSecret {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  matches(given: string): boolean {
    return timingSafeEqual(digest(given), this.expected);
  }
}

/** What a refused new call is told, on every transport (WHEN_FULL=refuse). */
export const FULL_REASON = "full: this appliance takes no new call now (WHEN_FULL=refuse); try the next one";

/** Counts and logs a refused upgrade, and answers it with the reason. */
export function refuser(stats: TransportStats, log: Logger): (peer: string, status: number, reason: string) => Response {
  return (peer, status, reason) => {
    stats.connectionsRejected++;
    log.warn("upgrade refused", { peer, status, reason });
    return new Response(`${reason}\n`, { status });
  };
}

/** Plain HTTP on a WebSocket listener: 426 with a one-line hint of what is expected. */
export function upgradeRequired(hint: string): Response {
  return new Response(hint, { status: 426, headers: { upgrade: "websocket", connection: "upgrade" } });
}

export function wantsUpgrade(req: Request): boolean {
  return req.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** One accepted WebSocket: what the listener feeds it, and how a stop ends it. */
export interface ListenedConnection {
  onMessage(data: string | Uint8Array): void;
  onSocketClosed(code: number, reason: string): void;
  /** The server is stopping: end the call (its leg closes with "shutdown"). */
  shutdown(): void;
}

/** What each socket carries: its peer, and its connection once open. */
export interface SocketSlot<C> {
  peer: string;
  connection: C | null;
}

export interface WebSocketListenerOptions<D extends SocketSlot<C>, C extends ListenedConnection> {
  /** Names the listener in logs and in the start-up error: "audiostream", "chan_websocket", "ASP". */
  name: string;
  host: string;
  port: number;
  log: Logger;
  stats: TransportStats;
  /** The live connections: the listener adds each one, the connection removes itself when gone. */
  connections: Set<C>;
  /** Larger messages close the socket with 1009 (Bun's default is 16 MiB). */
  maxPayloadLength?: number;
  /** Checks and upgrades a request that wants a WebSocket: undefined once upgraded, else the refusal. */
  upgrade(req: Request, srv: Server<D>, peer: string): Response | undefined;
  /** The connection for a socket that just opened. */
  connect(ws: ServerWebSocket<D>): C;
  /** The 426 hint for plain HTTP. */
  hint: string;
  /** Upgrades get 503 while this says so (WHEN_FULL=refuse); unset = never. */
  refusingNew?: RefusingNew;
}

export interface WebSocketListener {
  readonly hostname: string;
  readonly port: number;
  /** Ends every connection, then closes the listener. */
  stop(): Promise<void>;
}

/**
 * A WebSocket listener a PBX dials: plain HTTP gets the hint, each upgrade is the caller's to
 * check, each socket runs one connection. No permessage-deflate: audio does not compress, and
 * the PBXes never need it. A port already taken is one error naming the listener and the port.
 */
export function listenWebSocket<D extends SocketSlot<C>, C extends ListenedConnection>(o: WebSocketListenerOptions<D, C>): WebSocketListener {
  const refuse = refuser(o.stats, o.log);
  let server: Server<D>;
  try {
    server = Bun.serve<D>({
      hostname: o.host,
      port: o.port,
      fetch(req, srv) {
        if (!wantsUpgrade(req)) return upgradeRequired(o.hint);
        const peer = formatPeer(srv.requestIP(req));
        if (o.refusingNew?.()) return refuse(peer, 503, FULL_REASON);
        return o.upgrade(req, srv, peer);
      },
      websocket: {
        perMessageDeflate: false,
        ...(o.maxPayloadLength === undefined ? {} : { maxPayloadLength: o.maxPayloadLength }),
        open(ws) {
          o.stats.connectionsAccepted++;
          const connection = o.connect(ws);
          o.connections.add(connection);
          ws.data.connection = connection;
        },
        message(ws, message) {
          ws.data.connection?.onMessage(message);
        },
        close(ws, code, reason) {
          ws.data.connection?.onSocketClosed(code, reason);
        },
        error(error, ws) {
          o.log.error("websocket handler failed", { peer: ws.data.peer, error: describe(error) });
        },
      },
      error(error) {
        o.log.error(`${o.name} request failed`, { error: error.message });
        return new Response("internal error\n", { status: 500 });
      },
    });
  } catch (error) {
    throw new Error(`${o.name} server cannot listen on ${o.host}:${o.port}: ${describe(error)}`);
  }
  const listener = server;
  return {
    hostname: listener.hostname ?? o.host,
    port: listener.port ?? o.port,
    async stop(): Promise<void> {
      for (const connection of [...o.connections]) connection.shutdown();
      o.connections.clear();
      await listener.stop(true);
    },
  };
}
