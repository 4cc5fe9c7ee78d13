/**
 * One local HTTP server for several fake vendor routes: the OpenAI SDK sends chat and speech to
 * the same base URL, so the fake chat and the fake speech must answer on one port.
 */
import type { Server } from "bun";

export interface FakeRoute {
  /** Answers the request, or returns null when the path is not this route's. */
  handle(request: Request, url: URL): Response | Promise<Response> | null;
}

export interface FakeHttpServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export function startFakeHttp(routes: readonly FakeRoute[]): FakeHttpServer {
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      for (const route of routes) {
        const response = await route.handle(request, url);
        if (response) return response;
      }
      return Response.json({ error: { message: `fake: no route for ${request.method} ${url.pathname}`, type: "invalid_request_error" } }, { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    stop: () => server.stop(true),
  };
}
