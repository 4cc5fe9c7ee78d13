import { afterEach, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { AdminAuth } from "../../src/admin/auth.ts";
import { adminTokenPath, consoleToken } from "../../src/admin/first-run-token.ts";
import { LoginLimiter } from "../../src/admin/login-limiter.ts";
import { Sessions } from "../../src/admin/sessions.ts";
import { rootLogger } from "../../src/log.ts";
import { CONSOLE_TOKEN, PBX_TOKEN, startConsoleServer, type ConsoleServer } from "../support/console-server.ts";
import { tempStores } from "../support/temp-stores.ts";

const stores = tempStores("voicebot-auth-");
let server: ConsoleServer | null = null;
afterEach(async () => {
  await server?.admin.stop();
  server = null;
});

function start(auth?: AdminAuth): ConsoleServer {
  const store = stores.open(stores.tempDir());
  const id = store.insertCall({ uuid: "c1", transport: "audiosocket", tenant: "acme", caller: "0612345678", peer: "x", sampleRate: 8000, startedAt: 1000 });
  store.openTicket(id, { at: 1001, problemType: "internet" });
  server = startConsoleServer(store, { auth });
  return server;
}

async function signIn(s: ConsoleServer, token = CONSOLE_TOKEN, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${s.base}/api/session`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ token, name: "Léa" }) });
}

function cookieOf(res: Response): string {
  return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
}

describe("the console's sign-in", () => {
  test("the bearer token opens /api/; none, a wrong one or PBX_TOKEN do not", async () => {
    const s = start();
    expect((await s.get("/api/calls")).status).toBe(200);
    expect((await fetch(`${s.base}/api/calls`)).status).toBe(401);
    expect((await fetch(`${s.base}/api/calls`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    const pbx = await fetch(`${s.base}/api/calls?token=${PBX_TOKEN}`);
    expect([pbx.status, await pbx.text()]).toEqual([403, expect.stringContaining("PBX_TOKEN may only register calls")]);
    expect((await fetch(`${s.base}/api/calls/1`, { headers: { authorization: `Bearer ${PBX_TOKEN}` } })).status).toBe(403);
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
  });

  test("the token buys an HttpOnly, SameSite=Strict session cookie; GET says who; DELETE signs out", async () => {
    const s = start();
    const res = await signIn(s);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie") ?? "";
    for (const part of ["HttpOnly", "SameSite=Strict", "Path=/"]) expect(setCookie).toContain(part);
    const cookie = cookieOf(res);
    expect((await fetch(`${s.base}/api/calls`, { headers: { cookie } })).status).toBe(200);
    expect(await (await fetch(`${s.base}/api/session`, { headers: { cookie } })).json()).toMatchObject({ signedIn: true, who: "Léa", via: "session" });
    const out = await fetch(`${s.base}/api/session`, { method: "DELETE", headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await fetch(`${s.base}/api/calls`, { headers: { cookie } })).status).toBe(401);
  });

  test("a session unused for the idle time is gone", async () => {
    let now = 0;
    const s = start(new AdminAuth({ admin: CONSOLE_TOKEN, pbx: PBX_TOKEN }, null, { sessions: new Sessions(60_000, () => now) }));
    const cookie = cookieOf(await signIn(s));
    now = 59_000;
    expect((await fetch(`${s.base}/api/calls`, { headers: { cookie } })).status).toBe(200);
    now = 59_000 + 60_001;
    expect((await fetch(`${s.base}/api/calls`, { headers: { cookie } })).status).toBe(401);
  });

  test("five wrong tokens a minute from one address (sign-in or Bearer): then 429 with Retry-After, even for the right one", async () => {
    let now = 0;
    const s = start(new AdminAuth({ admin: CONSOLE_TOKEN, pbx: null }, null, { limiter: new LoginLimiter(5, 60_000, () => now) }));
    for (let i = 0; i < 5; i++) expect((await signIn(s, "wrong")).status).toBe(401);
    const limited = await signIn(s);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await s.get("/api/calls")).status).toBe(429);
    now = 60_001;
    expect((await signIn(s)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await fetch(`${s.base}/api/calls`, { headers: { authorization: "Bearer guess" } })).status).toBe(401);
    expect((await signIn(s)).status).toBe(429);
  });

  test("a write with the cookie must come from the console's origin (Origin or Sec-Fetch-Site)", async () => {
    const s = start();
    const cookie = cookieOf(await signIn(s));
    const patch = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${s.base}/api/tickets/1`, { method: "PATCH", headers: { cookie, "content-type": "application/json", ...headers }, body: JSON.stringify({ status: "resolved" }) });
    expect((await patch({})).status).toBe(403);
    expect((await patch({ origin: "http://evil.example" })).status).toBe(403);
    expect((await patch({ "sec-fetch-site": "cross-site", origin: s.base })).status).toBe(403);
    expect((await patch({ origin: s.base })).status).toBe(200);
    expect((await patch({ "sec-fetch-site": "same-origin" })).status).toBe(200);
    // A reading GET needs no origin; a sign-in from another site is refused.
    expect((await fetch(`${s.base}/api/tickets/1`, { headers: { cookie } })).status).toBe(200);
    expect((await signIn(s, CONSOLE_TOKEN, { origin: "http://evil.example" })).status).toBe(403);
  });
});

describe("the first-run token", () => {
  test("made once, 0600 in the data dir, reused; ADMIN_TOKEN wins and writes nothing", () => {
    const dir = stores.tempDir();
    const first = consoleToken(null, dir, rootLogger);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(statSync(adminTokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(consoleToken(null, dir, rootLogger)).toBe(first);
    const other = stores.tempDir();
    expect(consoleToken("set-by-env", other, rootLogger)).toBe("set-by-env");
    expect(() => statSync(adminTokenPath(other))).toThrow();
  });
});
