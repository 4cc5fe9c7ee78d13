/** POST /api/pbx/check: what apply-on-pbx.sh asks once the PBX is set up, with PBX_TOKEN only. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { PbxCheckOutcome } from "../../src/admin/pbx-check-route.ts";
import { startAdminServer, type AdminServer } from "../../src/admin/server.ts";
import { rootLogger } from "../../src/log.ts";

const TOKEN = "t0ken-for-the-admin";
const PBX_TOKEN = "t0ken-for-the-dialplan";

function serve(runner?: () => Promise<PbxCheckOutcome>): AdminServer {
  return startAdminServer({
    host: "127.0.0.1", port: 0, log: rootLogger, tokens: { admin: TOKEN, pbx: PBX_TOKEN },
    health: () => ({ ready: true, body: {} }), metrics: () => [], pbxCheck: runner,
  });
}

describe("the test call through the PBX, on the admin port", () => {
  let admin: AdminServer;
  let outcome: PbxCheckOutcome = { status: "PASS", detail: "Asterisk at 192.0.2.20:5038: greeted after 240 ms, ended cleanly" };
  let runs = 0;
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  beforeAll(() => {
    admin = serve(async () => {
      runs++;
      await gate;
      return outcome;
    });
  });
  afterAll(() => admin.stop());
  const ask = (query: string, method = "POST") => fetch(`http://127.0.0.1:${admin.port}/api/pbx/check${query}`, { method });

  test("PBX_TOKEN (or ADMIN_TOKEN) asks for it; the verdict is doctor's line", async () => {
    const res = await ask(`?token=${PBX_TOKEN}`);
    expect([res.status, await res.text()]).toEqual([200, "PASS  pbx.call  Asterisk at 192.0.2.20:5038: greeted after 240 ms, ended cleanly\n"]);
    expect((await ask(`?token=${TOKEN}`)).status).toBe(200);
  });

  test("a failure comes with its fix", async () => {
    outcome = { status: "FAIL", detail: "Asterisk at 192.0.2.20:5038: no such context voicebot", fix: "run apply-on-pbx.sh again" };
    const res = await ask(`?token=${PBX_TOKEN}`);
    expect(await res.text()).toBe("FAIL  pbx.call  Asterisk at 192.0.2.20:5038: no such context voicebot\n      → fix: run apply-on-pbx.sh again\n");
  });

  test("two asks at once place one call and share its verdict", async () => {
    runs = 0;
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const both = Promise.all([ask(`?token=${PBX_TOKEN}`), ask(`?token=${PBX_TOKEN}`)]);
    await Bun.sleep(50);
    release();
    const texts = await Promise.all((await both).map((r) => r.text()));
    expect(runs).toBe(1);
    expect(texts[0]).toBe(texts[1] as string);
  });

  test("no token, a wrong one, or GET: refused; PBX_TOKEN still opens nothing else", async () => {
    expect((await ask("")).status).toBe(401);
    expect((await ask("?token=wrong")).status).toBe(401);
    expect((await ask(`?token=${PBX_TOKEN}`, "GET")).status).toBe(405);
    const elsewhere = await fetch(`http://127.0.0.1:${admin.port}/api/calls?token=${PBX_TOKEN}`);
    expect([elsewhere.status, await elsewhere.text()]).toEqual([403, expect.stringContaining("ask for the test call through the PBX (POST /api/pbx/check)")]);
  });

  test("without AMI or ESL there is nothing to call through: 404 naming the settings", async () => {
    const bare = serve();
    try {
      const res = await fetch(`http://127.0.0.1:${bare.port}/api/pbx/check?token=${PBX_TOKEN}`, { method: "POST" });
      expect([res.status, await res.text()]).toEqual([404, expect.stringContaining("set AMI_HOST (Asterisk) or ESL_HOST (FreeSWITCH)")]);
    } finally {
      await bare.stop();
    }
  });
});
