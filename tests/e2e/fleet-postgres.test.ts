/**
 * Two appliances (dist/voicebot serve) sharing one real PostgreSQL behind the simulated PBX:
 * keypad calls spread over both while PostgreSQL is stopped for a while mid-run. No call drops,
 * every call and ticket is stored once PostgreSQL is back, each ticket number once; any appliance
 * lists every call, and relays a recording the other one holds.
 */
import { describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { SQL } from "bun";
import type { ScriptStep } from "../../src/simulate/call-types.ts";
import { SimulatedPbx, type FleetCall, type FleetNode } from "../../src/simulate/pbx-fleet.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";
import { E2E_TIMEOUT_MS, runCli, startServer, type RunningServer } from "./harness.ts";

const pg = pgClusterForFile();
const TOKEN = "fleet-admin-token-0123456789";
const KEYPAD: ScriptStep[] = [{ dtmf: "1" }, { dtmf: "1" }, { hangupAfter: 60 }];
const CALLER = { callerNumber: "0612345678", dnis: "777", tenant: "default" };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** An appliance on a known admin port, so NODE_URL (where the other fetches its recordings) is right. */
async function appliance(store: string, id: string): Promise<RunningServer> {
  const port = await freePort();
  return startServer({ STORE_URL: store, NODE_ID: id, NODE_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN }, ["--http", `127.0.0.1:${port}`]);
}

async function storeQueued(server: RunningServer): Promise<{ state: string; queued: number }> {
  const health = (await (await fetch(`${server.http}/healthz`)).json()) as { store: { state: string; queued: number } };
  return health.store;
}

describe("appliances sharing one PostgreSQL", () => {
  test("PostgreSQL stopped mid-run: no call dropped, nothing lost once it is back, ticket numbers unique; each appliance shows every call and relays the other's recordings", async () => {
    const url = await pg.database();
    const [a, b] = [await appliance(url, "vb-a"), await appliance(url, "vb-b")];
    try {
      const pbx = new SimulatedPbx({
        nodes: [a, b].map((s, i): FleetNode => ({ name: i === 0 ? "vb-a" : "vb-b", admin: s.http, audiosocket: s.audiosocket })),
        order: "round-robin", token: TOKEN,
      });
      const calls: Promise<FleetCall>[] = [];
      let sawDegraded = false;
      for (let i = 0; i < 10; i++) {
        calls.push(pbx.call({ script: KEYPAD, greetingTimeoutMs: 10_000 }, CALLER));
        if (i === 3) await pg.cluster().stop();
        if (i > 3) sawDegraded ||= (await storeQueued(a)).state === "degraded" || (await storeQueued(b)).state === "degraded";
        await Bun.sleep(600);
      }
      const placed = await Promise.all(calls);
      await pg.cluster().start();
      expect(sawDegraded).toBe(true);
      for (const c of placed) {
        expect(c.result).toMatchObject({ connected: true, hungUpBy: "server", error: null });
        expect(c.next).toBe("hangup");
      }
      expect(placed.map((c) => c.node?.name)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? "vb-a" : "vb-b")));
      for (let i = 0; i < 600; i++) {
        const states = [await storeQueued(a), await storeQueued(b)];
        if (states.every((s) => s.state === "ok" && s.queued === 0)) break;
        await Bun.sleep(100);
      }
      expect([await storeQueued(a), await storeQueued(b)]).toEqual([{ ...(await storeQueued(a)), state: "ok", queued: 0 }, { ...(await storeQueued(b)), state: "ok", queued: 0 }]);

      const sql = new SQL(url);
      const rows = await sql`SELECT c.uuid, c.node_id, c.end_reason, t.id AS ticket, t.status FROM calls c JOIN tickets t ON t.call_id = c.id ORDER BY c.id`;
      await sql.close();
      expect(rows.length).toBe(10);
      expect(new Set(rows.map((r: { ticket: string }) => r.ticket)).size).toBe(10);
      expect(new Set(rows.map((r: { uuid: string }) => r.uuid))).toEqual(new Set(placed.map((c) => c.uuid)));
      for (const r of rows) expect(r).toMatchObject({ end_reason: "resolved", status: "resolved" });

      // The CLI of any appliance reads the shared store.
      const listed = await runCli(["calls", "list", "--json", "--limit", "50"], { STORE_URL: url });
      expect(listed.code).toBe(0);
      const list = JSON.parse(listed.stdout) as { uuid: string; node: string }[];
      expect(list.length).toBe(10);
      expect(new Set(list.map((c) => c.node))).toEqual(new Set(["vb-a", "vb-b"]));

      // A call vb-a took, its recording asked of vb-b: relayed from vb-a, byte for byte.
      const fromA = placed.find((c) => c.node?.name === "vb-a") as FleetCall;
      const auth = { authorization: `Bearer ${TOKEN}` };
      const detail = (await (await fetch(`${b.http}/api/calls/${fromA.uuid}`, { headers: auth })).json()) as { id: number; node: string; recording: { format: string; url: string } };
      expect(detail.node).toBe("vb-a");
      expect(detail.recording.format).toBe("raw");
      const relayed = await fetch(`${b.http}${detail.recording.url}`, { headers: auth });
      const direct = await fetch(`${a.http}${detail.recording.url}`, { headers: auth });
      expect(relayed.status).toBe(200);
      expect(relayed.headers.get("content-type")).toBe("audio/wav");
      const [relayedBytes, directBytes] = [new Uint8Array(await relayed.arrayBuffer()), new Uint8Array(await direct.arrayBuffer())];
      expect(relayedBytes.length).toBeGreaterThan(44);
      expect(relayedBytes).toEqual(directBytes);
      const part = await fetch(`${b.http}${detail.recording.url}`, { headers: { ...auth, range: "bytes=0-99" } });
      expect(part.status).toBe(206);
      expect((await part.arrayBuffer()).byteLength).toBe(100);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, E2E_TIMEOUT_MS);
});
