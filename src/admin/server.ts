import type { Logger } from "../log.ts";
import { renderPrometheus, type MetricFamily } from "./prometheus.ts";

export interface AdminServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** The /healthz body; `ready` false answers 503 (a listener is not up yet). */
  health: () => { ready: boolean; body: Record<string, unknown> };
  metrics: () => MetricFamily[];
}

export interface AdminServer {
  readonly hostname: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** /healthz and /metrics on the admin port (localhost by default: it is not for the PBX). */
export function startAdminServer(options: AdminServerOptions): AdminServer {
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    fetch(req) {
      const url = new URL(req.url);
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
