/** The simulated PBX's choice of appliance, against real admin servers: the dialplan's rules. */
import { afterAll, describe, expect, test } from "bun:test";
import { startAdminServer, type AdminServer } from "../../src/admin/server.ts";
import { CallDirectory } from "../../src/call/call-directory.ts";
import { rootLogger } from "../../src/log.ts";
import { SimulatedPbx, type FleetNode } from "../../src/simulate/pbx-fleet.ts";
import { startChanWebsocketServer, type ChanWebsocketServer } from "../../src/transports/chan-websocket.ts";
import { newTransportStats } from "../../src/transports/types.ts";

const servers: (AdminServer | ChanWebsocketServer)[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

function appliance(name: string, state: { full: boolean }, directory = new CallDirectory()): FleetNode {
  const server = startAdminServer({
    host: "127.0.0.1", port: 0, log: rootLogger.child("test"), health: () => ({ ready: true, body: {} }), metrics: () => [],
    tokens: { admin: "admin-token", pbx: "pbx-token" },
    calls: { register: (uuid, r) => (state.full ? "full" : directory.register(uuid, { callerNumber: r.callerNumber, dnis: r.dnis, tenant: r.tenant })), next: () => "hangup" },
  });
  servers.push(server);
  return { name, admin: `http://127.0.0.1:${server.port}`, audiosocket: { host: "127.0.0.1", port: 1 } };
}

/** A port nothing listens on: a server started and stopped. */
async function deadNode(): Promise<FleetNode> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = s.port;
  await s.stop(true);
  return { name: "dead", admin: `http://127.0.0.1:${port}`, audiosocket: { host: "127.0.0.1", port: 1 } };
}

const uuid = (): string => crypto.randomUUID();

describe("SimulatedPbx.choose", () => {
  test("in turn: unreachable, full and refused appliances are passed over; none → null", async () => {
    const aState = { full: true };
    const bDirectory = new CallDirectory();
    const bState = { full: false };
    const nodes = [await deadNode(), appliance("a", aState), appliance("b", bState, bDirectory)];
    const pbx = new SimulatedPbx({ nodes, order: "in-turn", token: "pbx-token" });
    const id = uuid();
    const chosen = await pbx.choose(id, { callerNumber: "0612", dnis: "777", tenant: "default" });
    expect(chosen.node?.name).toBe("b");
    expect(chosen.attempts.map((a) => [a.node, a.outcome])).toEqual([["dead", "unreachable"], ["a", "full"], ["b", "taken"]]);
    expect(chosen.attempts[1]?.detail).toBe("503 full");
    expect(bDirectory.take(id)).toEqual({ callerNumber: "0612", dnis: "777", tenant: "default" });

    bState.full = true;
    expect((await pbx.choose(uuid())).node).toBeNull();
    const wrongToken = new SimulatedPbx({ nodes: nodes.slice(2), order: "in-turn", token: "nope" });
    bState.full = false;
    const refused = await wrongToken.choose(uuid());
    expect(refused.attempts.map((a) => [a.outcome, a.detail.slice(0, 3)])).toEqual([["refused", "401"]]);
  });

  test("round-robin: each call starts one appliance further", async () => {
    const open = { full: false };
    const nodes = [appliance("a", open), appliance("b", open), appliance("c", open)];
    const pbx = new SimulatedPbx({ nodes, order: "round-robin", token: "pbx-token" });
    const taken: string[] = [];
    for (let i = 0; i < 4; i++) taken.push((await pbx.choose(uuid())).node?.name ?? "none");
    expect(taken).toEqual(["a", "b", "c", "a"]);
  });
});

describe("SimulatedPbx.dial (the chan_websocket dialplan, FreeSWITCH's Lua)", () => {
  function websocketAppliance(full: boolean): ChanWebsocketServer {
    const server = startChanWebsocketServer({
      host: "127.0.0.1", port: 0, token: null, resolveTenant: (id) => id ?? "default", log: rootLogger.child("test"), stats: newTransportStats(),
      refusingNew: () => full,
      admit: () => ({ onAudio() {}, onDtmf() {}, onClose() {}, onRateChange() {} }),
    });
    servers.push(server);
    return server;
  }

  test("a refused upgrade (503) and a dead port move the call on; the first that connects takes it", async () => {
    const full = websocketAppliance(true);
    const open = websocketAppliance(false);
    const dead = await deadNode();
    // The WebSocket each appliance listens on; AudioSocket and the admin port play no part in dial().
    const ws = new Map([["full", full.port], ["dead", Number(new URL(dead.admin).port)], ["open", open.port]]);
    const nodes: FleetNode[] = [...ws.keys()].map((name) => ({ name, admin: dead.admin, audiosocket: dead.audiosocket }));
    const pbx = new SimulatedPbx({ nodes, order: "in-turn", token: null });
    const placed = await pbx.dial({ script: [{ hangupAfter: 0.3 }] }, (node) => ({ websocket: { url: `ws://127.0.0.1:${ws.get(node.name)}/asterisk` } }), false);
    expect(placed.node?.name).toBe("open");
    expect(placed.attempts.map((a) => a.outcome)).toEqual(["full", "unreachable", "taken"]);
    expect(placed.result?.connected).toBe(true);
    expect(placed.next).toBeNull();
  });
});

