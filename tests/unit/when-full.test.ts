/**
 * WHEN_FULL=refuse: a full appliance refuses a new call at the door of every transport, so the
 * PBX moves on to its next appliance; the settings that list those appliances are checked here too.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { configErrorOf } from "../support/config-error.ts";
import { bytesBeforeClose } from "../support/tcp-refusal.ts";
import { loadConfig } from "../../src/config/load.ts";
import { parsePbxNodes } from "../../src/config/pbx-nodes.ts";
import { Admission, type AdmissionDeps } from "../../src/call/admission.ts";
import { newCallMetrics } from "../../src/call/metrics.ts";
import { startAdminServer } from "../../src/admin/server.ts";
import { rootLogger } from "../../src/log.ts";
import { parseAllowList } from "../../src/transports/allowlist.ts";
import { startAudioSocketServer } from "../../src/transports/audiosocket.ts";
import { startAudioStreamServer } from "../../src/transports/audiostream.ts";
import { startChanWebsocketServer } from "../../src/transports/chan-websocket.ts";
import { newTransportStats, type CallLegEvents } from "../../src/transports/types.ts";

const lines = captureLogLines();
const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe("settings", () => {
  test("WHEN_FULL: busy by default, refuse, anything else names the variable and what is allowed", () => {
    expect(loadConfig({}, {}).whenFull).toBe("busy");
    expect(loadConfig({}, { WHEN_FULL: "Refuse" }).whenFull).toBe("refuse");
    expect(configErrorOf(() => loadConfig({}, { WHEN_FULL: "drop" })).message).toContain("WHEN_FULL");
    expect(configErrorOf(() => loadConfig({}, { WHEN_FULL: "drop" })).message).toContain("busy, refuse");
  });

  test("PBX_NODES and PBX_NODE_ORDER", () => {
    expect(loadConfig({}, {}).pbxNodes).toEqual([]);
    expect(loadConfig({}, {}).pbxNodeOrder).toBe("in-turn");
    const c = loadConfig({}, { PBX_NODES: "192.0.2.10, vb2.example.net:9190,192.0.2.12:9090", PBX_NODE_ORDER: "round-robin" });
    expect(c.pbxNodes).toEqual([{ host: "192.0.2.10", port: null }, { host: "vb2.example.net", port: 9190 }, { host: "192.0.2.12", port: 9090 }]);
    expect(c.pbxNodeOrder).toBe("round-robin");
    for (const bad of ["192.0.2.10:0", "192.0.2.10:70000", "[::1]:9090", "http://x", "192.0.2.1,192.0.2.1", "256.1.1.1", "a b"]) {
      const message = configErrorOf(() => loadConfig({}, { PBX_NODES: bad })).message;
      expect(message).toContain("PBX_NODES");
      expect(message).toContain("host or host:port");
    }
    expect(configErrorOf(() => loadConfig({}, { PBX_NODE_ORDER: "random" })).message).toContain("in-turn, round-robin");
    expect(parsePbxNodes("192.0.2.1:9090,192.0.2.1:9091")).toHaveLength(2);
  });
});

const noEvents: CallLegEvents = { onAudio() {}, onDtmf() {}, onClose() {}, onRateChange() {} };

function upgradeStatus(port: number, path: string): Promise<number> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
  }).then(async (res) => {
    if (res.status === 503) expect(await res.text()).toStartWith("full: ");
    return res.status;
  });
}

describe("a full appliance refuses at the door", () => {
  test("AudioSocket: the connection is closed at once, nothing admitted, a log line says why", async () => {
    let full = true;
    let admitted = 0;
    const stats = newTransportStats();
    const server = startAudioSocketServer({
      host: "127.0.0.1", port: 0, allow: parseAllowList(""), log: rootLogger.child("audiosocket"), stats,
      refusingNew: () => full,
      admit: () => {
        admitted++;
        return noEvents;
      },
    });
    stops.push(() => server.stop());
    expect(await bytesBeforeClose("127.0.0.1", server.port)).toBe(0);
    expect(admitted).toBe(0);
    expect(stats.connectionsRejected).toBe(1);
    expect(lines.some((l) => l.includes("connection refused: full"))).toBe(true);
    full = false;
    const open = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
    await waitFor("the accepted connection", () => stats.connectionsAccepted === 1);
    open.end();
  });

  test("mod_audio_stream and chan_websocket: the upgrade gets 503 while full, 101 once there is room", async () => {
    let full = true;
    const common = { host: "127.0.0.1", port: 0, token: null, resolveTenant: (id: string | null) => id ?? "default", admit: () => noEvents, refusingNew: () => full };
    const streamStats = newTransportStats();
    const stream = startAudioStreamServer({
      ...common, defaultRate: 16000, defaultMix: "mono", playback: "file", control: null, log: rootLogger.child("audiostream"), stats: streamStats,
    });
    const wsStats = newTransportStats();
    const ws = startChanWebsocketServer({ ...common, log: rootLogger.child("websocket"), stats: wsStats });
    stops.push(() => stream.stop(), () => ws.stop());
    const streamPath = "/stream/default/0b5f7c3e-1d2a-4c8e-9f00-123456789abc?rate=16000&mix=mono";
    expect(await upgradeStatus(stream.port, streamPath)).toBe(503);
    expect(await upgradeStatus(ws.port, "/asterisk")).toBe(503);
    expect([streamStats.connectionsRejected, wsStats.connectionsRejected]).toEqual([1, 1]);
    expect(lines.filter((l) => l.includes("upgrade refused") && l.includes("503")).length).toBe(2);
    full = false;
    expect(await upgradeStatus(stream.port, streamPath)).toBe(101);
    expect(await upgradeStatus(ws.port, "/asterisk")).toBe(101);
  });

  test("the dialplan's registration answers 503 \"full\" while full", async () => {
    let full = true;
    const registered: string[] = [];
    const admin = startAdminServer({
      host: "127.0.0.1", port: 0, log: rootLogger.child("admin"), tokens: { admin: null, pbx: null },
      health: () => ({ ready: true, body: {} }), metrics: () => [],
      calls: {
        register: (uuid) => (full ? "full" : (registered.push(uuid), "waiting")),
        next: () => "hangup",
      },
    });
    stops.push(() => admin.stop());
    const post = (): Promise<Response> => fetch(`http://127.0.0.1:${admin.port}/api/calls/0b5f7c3e-1d2a-4c8e-9f00-123456789abc`, { method: "POST", body: "caller=1&tenant=default" });
    const refused = await post();
    expect([refused.status, await refused.text()]).toEqual([503, "full"]);
    full = false;
    const taken = await post();
    expect([taken.status, await taken.text()]).toEqual([200, "waiting"]);
    expect(registered).toHaveLength(1);
  });
});

describe("lines kept for registered calls", () => {
  // Only what reserve and the refusals read; no call is admitted here.
  const metrics = newCallMetrics();
  const admission = (whenFull: "busy" | "refuse"): Admission => new Admission({ whenFull, maxCalls: 2, metrics } as unknown as AdmissionDeps);

  test("WHEN_FULL=refuse: registrations keep the last lines; the next one, and new WebSockets, are refused; AudioSocket connections are not", () => {
    const a = admission("refuse");
    expect([a.reserve("call-1"), a.reserve("call-2"), a.reserve("call-1")]).toEqual([true, true, true]);
    expect(a.reserve("call-3")).toBe(false);
    expect(a.refusingNew()).toBe(true);
    // The connection may be call-1 or call-2 arriving: only live calls count for it.
    expect(a.refusingConnection()).toBe(false);
    // Each refusal counted once (voicebot_calls_refused_full_total).
    expect(metrics.callsRefusedFull).toBe(2);
  });

  test("WHEN_FULL=busy: nothing is kept or refused", () => {
    const a = admission("busy");
    expect([a.reserve("call-1"), a.reserve("call-2"), a.reserve("call-3")]).toEqual([true, true, true]);
    expect([a.refusingNew(), a.refusingConnection()]).toEqual([false, false]);
  });
});
