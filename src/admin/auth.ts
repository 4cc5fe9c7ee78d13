/**
 * Who may use the admin API. The dialplan's two routes keep their rule (api.ts refuseApi:
 * PBX_TOKEN or ADMIN_TOKEN when either is set, else open). Every other /api/ route needs the
 * console token (ADMIN_TOKEN, or the first-run token) as a Bearer header or ?token=, or a console
 * session cookie. Writes with a cookie must come from the console's own origin (see sameOrigin).
 */
import { PBX_TOKEN_SCOPE, refuseApi, type ApiTokens } from "./api.ts";
import { LoginLimiter } from "./login-limiter.ts";
import { clearedCookie, sessionCookie, sessionIdOf, Sessions } from "./sessions.ts";
import { readJson } from "./json-body.ts";

export interface Access {
  /** Signs ticket changes. */
  who: string;
  via: "session" | "token" | "open";
}

const DIALPLAN_ROUTE = /^\/api\/calls\/[^/]+(\/next)?$/;
const MAX_NAME = 64;

function text(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers } });
}

export class AdminAuth {
  readonly sessions: Sessions;
  private readonly limiter: LoginLimiter;
  /** null = no token at all: the API is open (tests and tools that start the server bare). */
  private readonly consoleToken: string | null;

  constructor(private readonly tokens: ApiTokens, consoleToken: string | null, options: { sessions?: Sessions; limiter?: LoginLimiter } = {}) {
    this.consoleToken = consoleToken ?? tokens.admin;
    this.sessions = options.sessions ?? new Sessions();
    this.limiter = options.limiter ?? new LoginLimiter();
  }

  /** POST /api/calls/{uuid} and any method on /api/calls/{uuid}/next: the dialplan's. */
  static isDialplanRoute(req: Request, url: URL): boolean {
    const m = DIALPLAN_ROUTE.exec(url.pathname);
    return m !== null && (m[1] !== undefined || (req.method !== "GET" && req.method !== "HEAD"));
  }

  /** The dialplan's rule, unchanged since before the console. */
  refuseDialplan(req: Request, url: URL): Response | null {
    return refuseApi(req, url, this.tokens);
  }

  /** The console's rule: an Access, or the refusal. Wrong bearer tokens count as failed sign-ins of `client`. */
  check(req: Request, url: URL, client: string): Access | Response {
    if (this.consoleToken === null) return { who: "admin", via: "open" };
    const given = bearer(req, url);
    if (given !== null) {
      const wait = this.limiter.retryAfter(client);
      if (wait > 0) return tooMany(client, wait);
      if (same(given, this.consoleToken)) return { who: "token", via: "token" };
      if (this.tokens.pbx !== null && same(given, this.tokens.pbx)) {
        return text(`${PBX_TOKEN_SCOPE}\n`, 403);
      }
      this.limiter.failed(client);
      return text("unauthorized: the token is wrong; give ADMIN_TOKEN (or the first-run token) as a Bearer header, or sign in\n", 401);
    }
    const id = sessionIdOf(req);
    const session = id === null ? null : this.sessions.touch(id);
    if (session === null) return text("unauthorized: sign in (POST /api/session) or give ADMIN_TOKEN as a Bearer header\n", 401);
    if (!safeMethod(req.method) && !sameOrigin(req)) return crossSite();
    return { who: session.who, via: "session" };
  }

  /**
   * A WebSocket upgrade (the console's test call): the console's rule, and first the Origin, since
   * browsers apply neither SameSite nor CORS to WebSockets: any page could otherwise open one with
   * the admin's cookie (cross-site WebSocket hijacking). Clients that are no browser send no Origin.
   */
  checkSocket(req: Request, url: URL, client: string): Access | Response {
    const origin = req.headers.get("origin");
    if (origin !== null && !sameHost(origin, req.headers.get("host"))) {
      return text(`forbidden: a WebSocket from ${JSON.stringify(origin.slice(0, 100))} is not from the console's own page\n`, 403);
    }
    return this.check(req, url, client);
  }

  /** POST /api/session {token, name?} signs in; GET says who is signed in; DELETE signs out. */
  async session(req: Request, client: string): Promise<Response> {
    if (req.method === "GET") {
      const access = this.check(req, new URL(req.url), client);
      if (access instanceof Response) return access;
      return Response.json({ signedIn: true, who: access.who, via: access.via, idleMinutes: Math.round(this.sessions.idleMs / 60_000) }, { headers: { "cache-control": "no-store" } });
    }
    if (req.method === "DELETE") {
      const id = sessionIdOf(req);
      if (crossSiteBrowser(req)) return crossSite();
      if (id !== null) this.sessions.close(id);
      return new Response(null, { status: 204, headers: { "set-cookie": clearedCookie(), "cache-control": "no-store" } });
    }
    if (req.method !== "POST") return text("method not allowed: GET, POST or DELETE /api/session\n", 405, { allow: "GET, POST, DELETE" });
    if (crossSiteBrowser(req)) return crossSite();
    const wait = this.limiter.retryAfter(client);
    if (wait > 0) return tooMany(client, wait);
    const body = await readJson(req);
    if (typeof body === "string") return text(`${body}\n`, 400);
    const token = typeof body.token === "string" ? body.token : "";
    const name = typeof body.name === "string" ? body.name.trim() : "";
    if (name.length > MAX_NAME || /[\p{Cc}]/u.test(name)) return text(`name is not allowed: at most ${MAX_NAME} printable characters\n`, 400);
    if (this.consoleToken === null || !same(token, this.consoleToken)) {
      this.limiter.failed(client);
      return text("unauthorized: wrong token\n", 401);
    }
    this.limiter.succeeded(client);
    const session = this.sessions.open(name === "" ? "admin" : name);
    return Response.json({ signedIn: true, who: session.who }, {
      headers: { "set-cookie": sessionCookie(session.id, Math.round(this.sessions.idleMs / 1000)), "cache-control": "no-store" },
    });
  }
}

function bearer(req: Request, url: URL): string | null {
  const header = req.headers.get("authorization");
  return header?.startsWith("Bearer ") ? header.slice(7) : url.searchParams.get("token");
}

function same(given: string, token: string): boolean {
  return given.length === token.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

function safeMethod(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/**
 * OWASP's "verify origin with standard headers": a browser says where a request comes from in
 * Sec-Fetch-Site (all current ones) or Origin (every cross-origin or non-GET fetch). Either must
 * say this very origin; a request with neither is no browser's, so it gets no cookie-based write.
 */
export function sameOrigin(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site !== null) return site === "same-origin";
  const origin = req.headers.get("origin");
  return origin !== null && sameHost(origin, req.headers.get("host"));
}

function sameHost(origin: string, host: string | null): boolean {
  if (host === null) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Sign-in and sign-out need no cookie, so a client that is no browser (curl) may; a browser must be on this origin. */
function crossSiteBrowser(req: Request): boolean {
  return (req.headers.has("sec-fetch-site") || req.headers.has("origin")) && !sameOrigin(req);
}

function tooMany(client: string, wait: number): Response {
  return text(`too many failed sign-ins from ${client}: try again in ${wait} s\n`, 429, { "retry-after": String(wait) });
}

function crossSite(): Response {
  return text("forbidden: a console write must come from the console's own page (Origin / Sec-Fetch-Site), or carry ADMIN_TOKEN as a Bearer header\n", 403);
}
