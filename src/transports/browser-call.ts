/**
 * The console's test calls: the WebSocket side of the admin server's GET /api/try-call. The admin
 * server decides who may upgrade (auth.ts); this runs one BrowserConnection per socket and hands
 * Bun its handlers.
 */
import type { WebSocketHandler } from "bun";
import type { Logger } from "../log.ts";
import { BrowserConnection, type BrowserCaller, type BrowserConnectionContext } from "./browser-connection.ts";
import { MAX_PAYLOAD_BYTES, parseTryCallQuery, type TryCallQuery } from "./browser-protocol.ts";
import type { AdmitCall, TransportStats } from "./types.ts";

export interface BrowserCallsOptions {
  admit: AdmitCall;
  /** Canonical tenant id (null given = the default tenant's); null = unknown (close 1008). */
  resolveTenant: (id: string | null) => string | null;
  log: Logger;
  stats: TransportStats;
  /** No audio this long after the upgrade → close 1008 (default 10 s). */
  noAudioTimeoutMs?: number;
}

/** What the admin server attaches to the upgrade. */
export interface TryCallSocketData {
  peer: string;
  query: TryCallQuery;
  caller: BrowserCaller;
  connection: BrowserConnection | null;
}

export class BrowserCalls {
  private readonly connections = new Set<BrowserConnection>();
  private readonly context: BrowserConnectionContext;

  constructor(private readonly options: BrowserCallsOptions) {
    this.context = {
      admit: options.admit,
      log: options.log,
      stats: options.stats,
      resolveTenant: options.resolveTenant,
      noAudioTimeoutMs: options.noAudioTimeoutMs ?? 10_000,
      onGone: (connection) => this.connections.delete(connection),
    };
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  /** The data for `server.upgrade()`, from the request's query and who signed in. */
  socketData(url: URL, peer: string, caller: BrowserCaller): TryCallSocketData {
    return { peer, query: parseTryCallQuery(url), caller, connection: null };
  }

  /** An upgrade the admin server refused (auth, origin, not a WebSocket). */
  countRefused(): void {
    this.options.stats.connectionsRejected++;
  }

  readonly websocket: WebSocketHandler<TryCallSocketData> = {
    // Audio does not compress; the limit keeps a huge message from being buffered at all.
    perMessageDeflate: false,
    maxPayloadLength: MAX_PAYLOAD_BYTES,
    open: (ws) => {
      this.options.stats.connectionsAccepted++;
      const connection = new BrowserConnection(ws, ws.data.peer, ws.data.query, ws.data.caller, this.context);
      ws.data.connection = connection;
      if (connection.live) this.connections.add(connection);
    },
    message: (ws, message) => {
      ws.data.connection?.onMessage(message);
    },
    close: (ws, code, reason) => {
      ws.data.connection?.onSocketClosed(code, reason);
    },
  };

  /** Server stopping: every test call ends (close 1001). */
  shutdown(): void {
    for (const connection of [...this.connections]) connection.shutdown();
    this.connections.clear();
  }
}
