/**
 * Asterisk chan_websocket listener: Asterisk dials out (`Dial(WebSocket/<connection>/c(slin16))`,
 * websocket_client.conf's `uri` pointing here, subprotocol `media`) and this checks each upgrade's
 * path and token, then runs one ChanWebsocketConnection per call (PROTOCOLS.md §6).
 */
import type { Logger } from "../log.ts";
import { SharedSecret, bearer, listenWebSocket, refuser, type SocketSlot } from "./ws-listener.ts";
import { MAX_MESSAGE_BYTES } from "./chan-websocket-codec.ts";
import { ChanWebsocketConnection, type ChanWebsocketContext, type ChanWebsocketRequest } from "./chan-websocket-connection.ts";
import type { AdmitCall, RefusingNew, TransportStats } from "./types.ts";

export interface ChanWebsocketServerOptions {
  host: string;
  port: number;
  /** WEBSOCKET_TOKEN: required as `?token=`, a Bearer header or Basic auth's password when set. */
  token: string | null;
  /** Canonical tenant id (null = none given → default); null refuses the call. */
  resolveTenant: (id: string | null) => string | null;
  admit: AdmitCall;
  /** Upgrades get 503 while this says so (WHEN_FULL=refuse); unset = never. */
  refusingNew?: RefusingNew;
  log: Logger;
  stats: TransportStats;
  /** No MEDIA_START this long after the upgrade → close (default 5000 ms). */
  firstMessageTimeoutMs?: number;
  /** A gap in the caller's frames this long is filled with silence (default 100 ms). */
  silenceFillAfterMs?: number;
}

export interface ChanWebsocketServer {
  readonly hostname: string;
  readonly port: number;
  readonly activeConnections: number;
  /** Closes the listener and every call; each leg ends with onClose("shutdown"). */
  stop(): Promise<void>;
}

interface SocketData extends SocketSlot<ChanWebsocketConnection> {
  request: ChanWebsocketRequest;
}

/** The path websocket_client.conf's `uri` names: `/asterisk` or `/asterisk/<tenant>` (or `/`). */
export const CHAN_WEBSOCKET_PATH = "/asterisk";

const UPGRADE_HINT =
  "voicebot chan_websocket endpoint: expects a WebSocket, as Asterisk opens with Dial(WebSocket/<connection>/c(slin16)) " +
  `and websocket_client.conf uri = ws://HOST:PORT${CHAN_WEBSOCKET_PATH}/<tenant>, protocols = media\n`;

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** A request the listener answers with an HTTP error; the message names the part and what is allowed. */
export class ChanWebsocketUrlError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Chan_websocket's `v(a=1,b=2)` arrives as `?a=1&b=2`, values percent-encoded by the dialplan
 * (`${URIENCODE(...)}`): `+` stays `+`, unlike a form's query.
 */
function queryParams(search: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const pair of search.replace(/^\?/, "").split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const raw = eq < 0 ? "" : pair.slice(eq + 1);
    try {
      params.set(decodeURIComponent(key), decodeURIComponent(raw));
    } catch {
      throw new ChanWebsocketUrlError(400, `query parameter ${JSON.stringify(key.slice(0, 40))} is not valid percent-encoding`);
    }
  }
  return params;
}

/** The dialplan's ${UUID()} (VB_UUID), as the AudioSocket dialplan uses it. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseChanWebsocketUrl(url: URL): ChanWebsocketRequest & { token: string | null } {
  const segments = url.pathname.split("/").filter((s) => s !== "");
  let tenantId: string | null = null;
  if (segments.length > 0) {
    if (`/${segments[0]}` !== CHAN_WEBSOCKET_PATH || segments.length > 2) {
      throw new ChanWebsocketUrlError(404, `path ${JSON.stringify(url.pathname.slice(0, 80))} is not ${CHAN_WEBSOCKET_PATH} or ${CHAN_WEBSOCKET_PATH}/<tenant>`);
    }
    if (segments[1] !== undefined) {
      let tenant: string;
      try {
        tenant = decodeURIComponent(segments[1]);
      } catch {
        throw new ChanWebsocketUrlError(400, "tenant in the path is not valid percent-encoding");
      }
      if (!ID_PATTERN.test(tenant)) throw new ChanWebsocketUrlError(400, `tenant ${JSON.stringify(tenant.slice(0, 60))} in the path is not 1-128 of A-Z a-z 0-9 . _ -`);
      tenantId = tenant;
    }
  }
  const query = queryParams(url.search);
  const uuid = query.get("uuid") ?? null;
  if (uuid !== null && !UUID.test(uuid)) throw new ChanWebsocketUrlError(400, `uuid ${JSON.stringify(uuid.slice(0, 60))} in the dial string is not a UUID (8-4-4-4-12 hex)`);
  return {
    tenantId, caller: query.get("caller") ?? null, dnis: query.get("dnis") ?? null, tenantParam: query.get("tenant") ?? null,
    uuid: uuid?.toLowerCase() ?? null, token: query.get("token") ?? null,
  };
}

/** `Authorization: Bearer <token>`, or Basic with the token as password (websocket_client.conf `username`/`password`). */
function headerToken(req: Request): string | null {
  const header = req.headers.get("authorization");
  if (header === null) return null;
  const token = bearer(req);
  if (token !== null) return token;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : decoded.slice(colon + 1);
}

export function startChanWebsocketServer(options: ChanWebsocketServerOptions): ChanWebsocketServer {
  const { log, stats } = options;
  const secret = options.token === null ? null : new SharedSecret(options.token);
  const connections = new Set<ChanWebsocketConnection>();
  const context: ChanWebsocketContext = {
    admit: options.admit,
    log,
    stats,
    resolveTenant: options.resolveTenant,
    firstMessageTimeoutMs: options.firstMessageTimeoutMs ?? 5000,
    silenceFillAfterMs: options.silenceFillAfterMs,
    onGone: (connection) => connections.delete(connection),
  };

  const refuse = refuser(stats, log);
  const listener = listenWebSocket<SocketData, ChanWebsocketConnection>({
    name: "chan_websocket", host: options.host, port: options.port, log, stats, connections, hint: UPGRADE_HINT, refusingNew: options.refusingNew,
    // Asterisk's own limit: larger is never a frame (Bun closes with 1009).
    maxPayloadLength: MAX_MESSAGE_BYTES,
    upgrade(req, srv, peer) {
      let request;
      try {
        request = parseChanWebsocketUrl(new URL(req.url));
      } catch (error) {
        if (error instanceof ChanWebsocketUrlError) return refuse(peer, error.status, error.message);
        throw error;
      }
      if (secret !== null) {
        const given = request.token ?? headerToken(req);
        if (given === null) return refuse(peer, 401, "missing token: give WEBSOCKET_TOKEN as websocket_client.conf password (or ?token= in the uri)");
        if (!secret.matches(given)) return refuse(peer, 401, "wrong token: it does not match WEBSOCKET_TOKEN");
      }
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
      const headers = offered.includes("media") ? { "Sec-WebSocket-Protocol": "media" } : undefined;
      if (srv.upgrade(req, { data: { peer, request, connection: null }, headers })) return undefined;
      return refuse(peer, 400, "WebSocket upgrade failed: not a valid WebSocket handshake");
    },
    connect: (ws) => new ChanWebsocketConnection(ws, ws.data.peer, ws.data.request, context),
  });
  // One sweep for every call, not a timer each.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const connection of connections) connection.fillSilence(now);
  }, 20);

  return {
    hostname: listener.hostname,
    port: listener.port,
    get activeConnections(): number {
      return connections.size;
    },
    async stop(): Promise<void> {
      clearInterval(sweep);
      await listener.stop();
    },
  };
}
