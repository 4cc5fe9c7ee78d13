/**
 * Two appliances (dist/voicebot serve, each its own data dir) behind a simulated PBX that places
 * calls as the `pbx-config asterisk --node …` dialplan does: keypad calls spread round-robin, fail-
 * over when one is stopped, and a full appliance (WHEN_FULL=refuse) passing calls to the other,
 * the last one saying all lines are busy.
 */
import { describe, expect, test } from "bun:test";
import { SimulatedPbx, type FleetCall, type FleetNode } from "../../src/simulate/pbx-fleet.ts";
import type { ScriptStep } from "../../src/simulate/call-types.ts";
import { bytesBeforeClose } from "../support/tcp-refusal.ts";
import { E2E_TIMEOUT_MS, runCli, startServer, type RunningServer } from "./harness.ts";

function node(name: string, server: RunningServer): FleetNode {
  return { name, admin: server.http, audiosocket: server.audiosocket };
}

const KEYPAD: ScriptStep[] = [{ dtmf: "1" }, { dtmf: "1" }, { hangupAfter: 60 }];
const CALLER = { callerNumber: "0612345678", dnis: "777", tenant: "default" };

async function shown(server: RunningServer, uuid: string): Promise<{ endReason: string | null; tickets: { status: string }[] }> {
  for (let i = 0; i < 50; i++) {
    const r = await runCli(["calls", "show", uuid, "--json", "--data-dir", server.dataDir]);
    expect(r.code).toBe(0);
    const call = JSON.parse(r.stdout) as { endReason: string | null; tickets: { status: string }[] };
    if (call.endReason !== null) return call;
    await Bun.sleep(100);
  }
  throw new Error(`call ${uuid} never ended in ${server.dataDir}`);
}

describe("several appliances behind the PBX", () => {
  test("keypad calls spread round-robin over two appliances; one stopped, the calls go to the other", async () => {
    const [a, b] = await Promise.all([startServer(), startServer()]);
    let aStopped = false;
    try {
      const pbx = new SimulatedPbx({ nodes: [node("a", a), node("b", b)], order: "round-robin", token: null });
      const spread: FleetCall[] = await Promise.all(Array.from({ length: 4 }, () => pbx.call({ script: KEYPAD, greetingTimeoutMs: 10_000 }, CALLER)));
      expect(spread.map((c) => c.node?.name)).toEqual(["a", "b", "a", "b"]);
      for (const c of spread) {
        expect(c.result).toMatchObject({ connected: true, hungUpBy: "server", error: null });
        expect(c.next).toBe("hangup");
        const call = await shown(c.node?.name === "a" ? a : b, c.uuid);
        expect(call.endReason).toBe("resolved");
        expect(call.tickets.map((t) => t.status)).toEqual(["resolved"]);
      }

      expect(await a.stop()).toBe(0);
      aStopped = true;
      // Two calls through the simulated PBX and, at the same time, one from the command line (simulate --node, in turn).
      const at = (s: RunningServer): string => `${s.audiosocket.host}:${s.audiosocket.port}/${new URL(s.http).port}`;
      const [over, cli] = await Promise.all([
        Promise.all([0, 1].map(() => pbx.call({ script: KEYPAD, greetingTimeoutMs: 10_000 }, CALLER))),
        runCli(["simulate", "--node", at(a), "--node", at(b), "--dtmf", "1", "--dtmf", "1", "--seconds", "60", "--json"]),
      ]);
      expect(over.map((c) => c.node?.name)).toEqual(["b", "b"]);
      // Round-robin: the first of these starts at a (unreachable, passed over), the second at b.
      expect(over[0]?.attempts.map((t) => [t.node, t.outcome])).toEqual([["a", "unreachable"], ["b", "taken"]]);
      for (const c of over) expect((await shown(b, c.uuid)).endReason).toBe("resolved");

      expect(cli.code).toBe(0);
      const placed = JSON.parse(cli.stdout) as { uuid: string; node: string; attempts: { outcome: string }[]; next: string };
      expect(placed.node).toBe(`${b.audiosocket.host}:${b.audiosocket.port}`);
      expect(placed.attempts.map((t) => t.outcome)).toEqual(["unreachable", "taken"]);
      expect(placed.next).toBe("hangup");
      expect((await shown(b, placed.uuid)).endReason).toBe("resolved");
    } finally {
      if (!aStopped) await a.stop();
      await b.stop();
    }
  }, E2E_TIMEOUT_MS);

  test("a full appliance (WHEN_FULL=refuse) refuses at once and the call goes to the other; the last one says busy", async () => {
    const [a, b] = await Promise.all([
      startServer({ WHEN_FULL: "refuse", MAX_CONCURRENT_CALLS: "1" }),
      startServer({ MAX_CONCURRENT_CALLS: "1" }),
    ]);
    try {
      const pbx = new SimulatedPbx({ nodes: [node("a", a), node("b", b)], order: "in-turn", token: null });
      const hold: ScriptStep[] = [{ hangupAfter: 10 }];
      const active = async (server: RunningServer): Promise<number> => ((await (await fetch(`${server.http}/healthz`)).json()) as { activeCalls: number }).activeCalls;
      const waitActive = async (server: RunningServer): Promise<void> => {
        for (let i = 0; i < 100 && (await active(server)) === 0; i++) await Bun.sleep(50);
        expect(await active(server)).toBe(1);
      };

      const first = pbx.call({ script: hold, greetingTimeoutMs: 10_000 }, CALLER);
      await waitActive(a);
      const second = pbx.call({ script: hold, greetingTimeoutMs: 10_000 }, CALLER);
      await waitActive(b);
      const third = await pbx.call({ script: [{ hangupAfter: 30 }], greetingTimeoutMs: 10_000 }, CALLER);

      const [one, two] = await Promise.all([first, second]);
      expect(one.node?.name).toBe("a");
      expect(two.node?.name).toBe("b");
      expect(two.attempts.map((t) => [t.node, t.outcome, t.detail])).toEqual([["a", "full", "503 full"], ["b", "taken", "waiting"]]);
      expect(one.result?.hungUpBy).toBe("caller");
      expect(two.result?.hungUpBy).toBe("caller");

      // b is the last: WHEN_FULL=busy takes the registration and says all lines are busy.
      expect(third.attempts.map((t) => [t.node, t.outcome])).toEqual([["a", "full"], ["b", "taken"]]);
      expect(third.result).toMatchObject({ connected: true, hungUpBy: "server" });
      expect(third.result?.utterances).toHaveLength(1);
      expect((await shown(b, third.uuid)).endReason).toBe("busy");
      expect(a.logs()).toContain("registration refused: full (WHEN_FULL=refuse)");
      expect(await (await fetch(`${a.http}/metrics`)).text()).toContain("voicebot_calls_refused_full_total 2");

      // Room again once its call has ended; two registrations racing for a's one line: one keeps it, the other goes to b.
      for (let i = 0; i < 100 && (await active(a)) > 0; i++) await Bun.sleep(50);
      const racing = await Promise.all([0, 1].map(() => pbx.choose(crypto.randomUUID(), CALLER)));
      expect(racing.map((r) => r.node?.name).sort()).toEqual(["a", "b"]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, E2E_TIMEOUT_MS);
  test("WHEN_FULL=refuse while stopping (SIGTERM's drain): new calls are refused on every transport, the live one goes on", async () => {
    const server = await startServer({ WHEN_FULL: "refuse", STOP_DRAIN_TIMEOUT: "60" });
    try {
      const pbx = new SimulatedPbx({ nodes: [node("a", server)], order: "in-turn", token: null });
      const live = pbx.call({ script: [{ hangupAfter: 6 }], greetingTimeoutMs: 10_000 }, CALLER);
      for (let i = 0; i < 100 && !server.logs().includes("call started"); i++) await Bun.sleep(50);
      await Bun.sleep(500);
      server.signal("SIGTERM");
      for (let i = 0; i < 100 && !server.logs().includes("stopping: taking no new calls"); i++) await Bun.sleep(50);

      const refused = await pbx.choose(crypto.randomUUID(), CALLER);
      expect(refused.node).toBeNull();
      expect(refused.attempts.map((t) => [t.outcome, t.detail])).toEqual([["full", "503 full"]]);
      expect(await bytesBeforeClose(server.audiosocket.host, server.audiosocket.port)).toBe(0);
      const health = (await (await fetch(`${server.http}/healthz`)).json()) as { listeners: { audiostream: string } };
      const upgrade = await fetch(`http://${health.listeners.audiostream}/stream/default/${crypto.randomUUID()}?rate=16000`, {
        headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
      });
      expect(upgrade.status).toBe(503);

      const call = await live;
      expect(call.result?.hungUpBy).toBe("caller");
      expect(await server.exited).toBe(0);
      expect(server.logs()).toContain("connection refused: full (WHEN_FULL=refuse)");
    } finally {
      await server.stop();
    }
  }, E2E_TIMEOUT_MS);
});
