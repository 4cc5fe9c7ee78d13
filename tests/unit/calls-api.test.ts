import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAdminServer, type AdminServer } from "../../src/admin/server.ts";
import { CallDirectory, formatNextStep } from "../../src/call/call-directory.ts";
import { rootLogger } from "../../src/log.ts";

const UUID = "0B5F7C3E-1D2A-4C8E-9F00-123456789ABC";
const uuid = UUID.toLowerCase();
const TOKEN = "t0ken-for-the-admin";
const PBX_TOKEN = "t0ken-for-the-dialplan";

describe("call directory", () => {
  test("a registration waits for its call, and a call admitted first hears it late", () => {
    let now = 1000;
    const d = new CallDirectory(60_000, 100, () => now);
    expect(d.register(uuid, { callerNumber: "0612345678", dnis: "777", tenant: "acme" })).toBe("waiting");
    expect(d.take(uuid)).toEqual({ callerNumber: "0612345678", dnis: "777", tenant: "acme" });
    expect(d.take(uuid)).toBeNull();
    const heard: string[] = [];
    const cancel = d.awaitLate("late-call", (info) => heard.push(info.callerNumber ?? ""));
    expect(d.register("late-call", { callerNumber: "0700000000", dnis: null, tenant: null })).toBe("joined");
    expect(heard).toEqual(["0700000000"]);
    cancel();
    d.register("expires", { callerNumber: null, dnis: null, tenant: null });
    now += 60_001;
    expect(d.take("expires")).toBeNull();
  });

  test("next steps: transfer once, then hang up; bounded in size", () => {
    const d = new CallDirectory(60_000, 2);
    d.setNext(uuid, { kind: "transfer", context: "techs", exten: "200", priority: "1" });
    expect(formatNextStep(d.next(uuid))).toBe("transfer techs,200,1");
    expect(formatNextStep(d.next(uuid))).toBe("hangup");
    for (const id of ["a", "b", "c"]) d.setNext(id, { kind: "hangup" });
    expect(d.size.next).toBe(2);
  });
});

describe("/api/calls on the admin port", () => {
  let admin: AdminServer;
  const directory = new CallDirectory();
  let base = "";
  beforeAll(() => {
    admin = startAdminServer({
      host: "127.0.0.1", port: 0, log: rootLogger, tokens: { admin: TOKEN, pbx: PBX_TOKEN },
      health: () => ({ ready: true, body: {} }), metrics: () => [],
      calls: {
        register: (id, r) => (r.tenant === "unknown" ? null : directory.register(id, { ...r, tenant: r.tenant ?? "default" })),
        next: (id) => formatNextStep(directory.next(id)),
      },
    });
    base = `http://127.0.0.1:${admin.port}`;
  });
  afterAll(() => admin.stop());

  test("the dialplan's CURL() POST registers caller, DNIS and tenant (form fields)", async () => {
    const res = await fetch(`${base}/api/calls/${UUID}?token=${TOKEN}`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "caller=%2B33612345678&dnis=777&tenant=acme",
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("waiting");
    expect(directory.take(uuid)).toEqual({ callerNumber: "+33612345678", dnis: "777", tenant: "acme" });
  });

  test("JSON works too, with a Bearer token; a caller id that is no number (anonymous, 0000000000) is registered as unknown", async () => {
    for (const caller of ["anonymous", "0000000000"]) {
      const res = await fetch(`${base}/api/calls/${uuid}`, {
        method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ caller, dnis: "777" }),
      });
      expect(await res.text()).toBe("waiting");
      expect(directory.take(uuid)).toMatchObject({ callerNumber: null, dnis: "777" });
    }
  });

  test("PBX_TOKEN registers a call and asks /next, as a Bearer header or ?token=", async () => {
    const other = "11111111-2222-4333-8444-555555555555";
    const res = await fetch(`${base}/api/calls/${other}`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${PBX_TOKEN}` }, body: "caller=0612345678",
    });
    expect(res.status).toBe(200);
    expect(directory.take(other)).toMatchObject({ callerNumber: "0612345678" });
    const next = await fetch(`${base}/api/calls/${other}/next?token=${PBX_TOKEN}`);
    expect([next.status, await next.text()]).toEqual([200, "hangup"]);
  });

  test("/next answers the dialplan in one line", async () => {
    directory.setNext(uuid, { kind: "transfer", context: "from-internal", exten: "200", priority: "1" });
    const first = await fetch(`${base}/api/calls/${uuid}/next?token=${TOKEN}`);
    expect(await first.text()).toBe("transfer from-internal,200,1");
    expect(await (await fetch(`${base}/api/calls/${uuid}/next?token=${TOKEN}`)).text()).toBe("hangup");
  });

  test.each([
    ["no token", `/api/calls/${UUID}/next`, "GET", undefined, 401, "ADMIN_TOKEN"],
    ["wrong token", `/api/calls/${UUID}/next?token=nope`, "GET", undefined, 401, "ADMIN_TOKEN"],
    ["not a UUID", `/api/calls/not-a-uuid/next?token=${TOKEN}`, "GET", undefined, 400, "is not a UUID"],
    ["bad caller", `/api/calls/${UUID}?token=${TOKEN}`, "POST", "caller=a%0Ab%3Cscript%3E", 400, "caller"],
    ["unknown tenant refused", `/api/calls/${UUID}?token=${TOKEN}`, "POST", "tenant=unknown", 404, "UNKNOWN_TENANT=reject"],
    ["wrong method", `/api/calls/${UUID}/next?token=${TOKEN}`, "POST", "", 405, "GET"],
    ["unknown API path", `/api/nothing?token=${TOKEN}`, "GET", undefined, 404, "not found"],
    ["the PBX token off the dialplan's routes", `/api/nothing?token=${PBX_TOKEN}`, "GET", undefined, 403, "PBX_TOKEN may only register calls"],
    ["the PBX token on a deeper path", `/api/calls/${UUID}/next/more?token=${PBX_TOKEN}`, "GET", undefined, 403, "use ADMIN_TOKEN"],
  ])("%s → a clear error", async (_name, path, method, body, status, words) => {
    const res = await fetch(`${base}${path}`, { method, body, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(status);
    expect(await res.text()).toContain(words);
  });
});
