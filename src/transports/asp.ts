/**
 * ASP server: the WebSocket listener the PABX Docker media server connects to as its AI agent
 * (its WEBSOCKET_URL, e.g. ws://voicebot:8765/ or ws://voicebot:8765/<tenant>?token=…). It checks
 * each upgrade's path and token, then runs one AspConnection per socket; the calls are the
 * sessions inside (asp-connection.ts).
 */
import type { Logger } from "../log.ts";
import { SharedSecret, bearer, listenWebSocket, refuser, type SocketSlot } from "./ws-listener.ts";
import { AspConnection, type AspConnectionContext } from "./asp-connection.ts";
import { MAX_PAYLOAD_BYTES } from "./asp-protocol.ts";
import type { AdmitCall, TransportStats } from "./types.ts";

export interface AspServerOptions {
  host: string;
  port: number;
  /** ASP_TOKEN: required as `?token=` in the media server's WEBSOCKET_URL (or a Bearer header) when set. */
  token: string | null;
  /** Canonical tenant id for the one in the path or metadata (null = none given → default); null = unknown. */
  resolveTenant: (id: string | null) => string | null;
  /** Announced in protocol.capabilities (MAX_CALL_DURATION). */
  maxSessionSeconds: number;
  admit: AdmitCall;
  log: Logger;
  stats: TransportStats;
  /** After our hang-up, how long a session waits for the client's session.end (default 10 s). */
  endWaitMs?: number;
}

export interface AspServer {
  readonly hostname: string;
  readonly port: number;
  /** Sessions (calls) live on every connection. */
  readonly activeSessions: number;
  /** Closes the listener and every connection; each call ends with onClose("shutdown"). */
  stop(): Promise<void>;
}

interface SocketData extends SocketSlot<AspConnection> {
  tenant: string | null;
}

const UPGRADE_HINT = "voicebot ASP endpoint: expects a WebSocket, as the media server opens with WEBSOCKET_URL=ws://HOST:PORT/[tenant]\n";
const PATH = /^\/([A-Za-z0-9_-]{1,64})?\/?$/;

export function startAspServer(options: AspServerOptions): AspServer {
  const { log, stats } = options;
  const secret = options.token === null ? null : new SharedSecret(options.token);
  const connections = new Set<AspConnection>();
  const context: AspConnectionContext = {
    admit: options.admit,
    log,
    stats,
    resolveTenant: options.resolveTenant,
    maxSessionSeconds: options.maxSessionSeconds,
    endWaitMs: options.endWaitMs ?? 10_000,
    onGone: (connection) => connections.delete(connection),
  };

  const refuse = refuser(stats, log);
  const listener = listenWebSocket<SocketData, AspConnection>({
    name: "ASP", host: options.host, port: options.port, log, stats, connections, hint: UPGRADE_HINT,
    maxPayloadLength: MAX_PAYLOAD_BYTES,
    upgrade(req, srv, peer) {
      const url = new URL(req.url);
      const path = PATH.exec(url.pathname);
      if (path === null) return refuse(peer, 404, `path ${JSON.stringify(url.pathname.slice(0, 80))} is not / or /<tenant>`);
      if (secret !== null) {
        const given = url.searchParams.get("token") ?? bearer(req);
        if (given === null) return refuse(peer, 401, "missing token: add ?token=<ASP_TOKEN> to the media server's WEBSOCKET_URL");
        if (!secret.matches(given)) return refuse(peer, 401, "wrong token: ?token= does not match ASP_TOKEN");
      }
      if (srv.upgrade(req, { data: { peer, tenant: path[1] ?? null, connection: null } })) return undefined;
      return refuse(peer, 400, "WebSocket upgrade failed: not a valid WebSocket handshake");
    },
    // The media server's client (Python websockets) offers permessage-deflate; the listener declines it.
    connect: (ws) => new AspConnection(ws, ws.data.peer, ws.data.tenant, context),
  });

  return {
    hostname: listener.hostname,
    port: listener.port,
    get activeSessions(): number {
      let n = 0;
      for (const connection of connections) n += connection.activeSessions;
      return n;
    },
    stop: () => listener.stop(),
  };
}
