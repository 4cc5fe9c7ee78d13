/**
 * GET /api/try-call: the console's test call upgrades to a WebSocket here (transports/browser-call.ts
 * runs it). Signed in (cookie or the console token) and from the console's own origin, or refused.
 */
import type { Server } from "bun";
import type { BrowserCalls, TryCallSocketData } from "../transports/browser-call.ts";
import { formatPeer } from "../transports/ws-listener.ts";
import type { AdminAuth } from "./auth.ts";

/** undefined once upgraded (Bun answers 101 itself); else the refusal. */
export function upgradeTryCall(req: Request, url: URL, srv: Server<TryCallSocketData>, auth: AdminAuth, calls: BrowserCalls | undefined): Response | undefined {
  if (calls === undefined) return new Response("not found\n", { status: 404 });
  const address = srv.requestIP(req);
  const access = auth.checkSocket(req, url, address?.address ?? "unknown");
  if (access instanceof Response) {
    calls.countRefused();
    return access;
  }
  if (req.method !== "GET" || req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("the console's test call is a WebSocket: GET /api/try-call with Upgrade: websocket\n", { status: 426, headers: { upgrade: "websocket", connection: "upgrade" } });
  }
  if (srv.upgrade(req, { data: calls.socketData(url, formatPeer(address), access) })) return undefined;
  calls.countRefused();
  return new Response("WebSocket upgrade failed: not a valid WebSocket handshake\n", { status: 400 });
}
