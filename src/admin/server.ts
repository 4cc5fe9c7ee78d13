import type { Logger } from "../log.ts";
import { handleApi, refuseApi, type ApiTokens, type CallsApi } from "./api.ts";
import { renderPrometheus, type MetricFamily } from "./prometheus.ts";

export interface AdminServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** The /healthz body; `ready` false answers 503 (a listener is not up yet). */
  health: () => { ready: boolean; body: Record<string, unknown> };
  metrics: () => MetricFamily[];
  /** The dialplan's call API under /api/ (ADMIN_TOKEN / PBX_TOKEN-protected when set). */
  calls?: CallsApi;
  tokens?: ApiTokens;
}

export interface AdminServer {
  readonly hostname: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * /healthz, /metrics and the dialplan's /api/calls on the admin port (localhost by default; an
 * Asterisk on another host needs HTTP_HOST opened to it, with ADMIN_TOKEN).
 */
export function startAdminServer(options: AdminServerOptions): AdminServer {
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname.startsWith("/api/")) {
        const refused = refuseApi(req, url, options.tokens ?? { admin: null, pbx: null });
        if (refused) return refused;
        if (options.calls) {
          const answer = await handleApi(req, url, options.calls);
          if (answer) return answer;
        }
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
    error(err) {
      options.log.error("admin request failed", { error: err.message });
      return new Response("internal error\n", { status: 500 });
    },
  });
  return {
    hostname: server.hostname ?? options.host,
    port: server.port ?? options.port,
    stop: async () => {
      await server.stop(true);
    },
  };
}
