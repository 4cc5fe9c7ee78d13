import consolePage from "../console/index.html";
import type { Logger } from "../log.ts";
import { TRY_CALL_PATH } from "../transports/browser-protocol.ts";
import type { BrowserCalls, TryCallSocketData } from "../transports/browser-call.ts";
import { handleApi, type ApiTokens, type CallsApi } from "./api.ts";
import { AdminAuth } from "./auth.ts";
import { handleConsole, type ConsoleDeps } from "./console-api.ts";
import { MetricsTrend } from "./metrics-trend.ts";
import { PBX_CHECK_PATH, PbxCheckRoute, type PbxCheckRunner } from "./pbx-check-route.ts";
import { renderPrometheus, type MetricFamily } from "./prometheus.ts";
import { upgradeTryCall } from "./try-call.ts";

export interface AdminServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** The /healthz body; `ready` false answers 503 (a listener is not up yet). */
  health: () => { ready: boolean; body: Record<string, unknown> };
  metrics: () => MetricFamily[];
  /** The dialplan's call API under /api/ (ADMIN_TOKEN / PBX_TOKEN-protected when set, else open). */
  calls?: CallsApi;
  tokens?: ApiTokens;
  /** The console's token (ADMIN_TOKEN or the first-run one); null/absent = tokens.admin. */
  consoleToken?: string | null;
  /** Sign-in state, given by tests that drive the clock; else made from the tokens. */
  auth?: AdminAuth;
  /** The console's JSON API; absent = only the dialplan's routes under /api/. */
  console?: ConsoleDeps;
  /** The console's test calls (WebSocket at /api/try-call); absent = 404 there. */
  tryCall?: BrowserCalls;
  /** The test call through the PBX (POST /api/pbx/check); absent = 404 there (no AMI / ESL). */
  pbxCheck?: PbxCheckRunner;
}

export interface AdminServer {
  readonly hostname: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The console page at /, /healthz, /metrics, the dialplan's /api/calls and the console's JSON API on the admin port
 * (localhost by default; an Asterisk on another host needs HTTP_HOST opened to it, with
 * ADMIN_TOKEN). Who may use which /api/ route is auth.ts's call.
 */
export function startAdminServer(options: AdminServerOptions): AdminServer {
  const trend = options.console ? new MetricsTrend(options.console.metrics) : null;
  const consoleDeps = options.console && trend ? { ...options.console, trend } : undefined;
  const auth = options.auth ?? new AdminAuth(options.tokens ?? { admin: null, pbx: null }, options.consoleToken ?? null);
  const pbxCheck = new PbxCheckRoute(options.pbxCheck ?? null);
  const server = Bun.serve<TryCallSocketData>({
    hostname: options.host,
    port: options.port,
    // The page and its bundled assets (built into the executable; in development bundled on first
    // request, never with the dev server's hot reload).
    development: false,
    routes: { "/": consolePage },
    async fetch(req, srv) {
      const url = new URL(req.url);
      const client = srv.requestIP(req)?.address ?? "unknown";
      if (url.pathname === "/api/session") return auth.session(req, client);
      if (url.pathname === PBX_CHECK_PATH) return auth.refuseDialplan(req, url) ?? pbxCheck.handle(req);
      if (AdminAuth.isDialplanRoute(req, url)) {
        const refused = auth.refuseDialplan(req, url);
        if (refused) return refused;
        const answer = options.calls ? await handleApi(req, url, options.calls) : null;
        return answer ?? new Response("not found\n", { status: 404 });
      }
      if (url.pathname === TRY_CALL_PATH) return upgradeTryCall(req, url, srv, auth, options.tryCall);
      if (url.pathname.startsWith("/api/")) {
        const access = auth.check(req, url, client);
        if (access instanceof Response) return access;
        if (!consoleDeps) return new Response("not found\n", { status: 404 });
        // The live stream is quiet between calls: no idle cut-off for it.
        if (url.pathname === "/api/live/events") srv.timeout(req, 0);
        return handleConsole(req, url, consoleDeps, access);
      }
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
      switch (url.pathname) {
        case "/healthz": {
          const h = options.health();
          return Response.json(h.body, { status: h.ready ? 200 : 503, headers: { "cache-control": "no-store" } });
        }
        case "/metrics":
          return new Response(renderPrometheus(options.metrics()), {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
          });
        default:
          return new Response("not found\n", { status: 404 });
      }
    },
    // Bun wants handlers whenever it is typed for sockets; without tryCall nothing is upgraded.
    websocket: options.tryCall?.websocket ?? { message: () => undefined },
    error(err) {
      options.log.error("admin request failed", { error: err.message });
      return new Response("internal error\n", { status: 500 });
    },
  });
  return {
    hostname: server.hostname ?? options.host,
    port: server.port ?? options.port,
    stop: async () => {
      trend?.stop();
      options.tryCall?.shutdown();
      options.console?.live.close();
      await options.console?.reader.close();
      await server.stop(true);
    },
  };
}
