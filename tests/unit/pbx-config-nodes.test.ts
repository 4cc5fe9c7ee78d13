/**
 * pbx-config for several appliances: the rendered Asterisk dialplan, run the way Asterisk runs it
 * against real admin servers — one full (registration 503 "full"), one unreachable, one taking
 * calls — registers each call in turn (or round-robin) until one takes it, streams to that one,
 * asks /next of it, and plays the PBX's busy message when none does.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAdminServer, type AdminServer } from "../../src/admin/server.ts";
import { CallDirectory, formatNextStep } from "../../src/call/call-directory.ts";
import type { PbxNode } from "../../src/config/schema.ts";
import { renderEnvFile } from "../../src/install/env-render.ts";
import { renderPbxConfig } from "../../src/install/pbx-render.ts";
import { rootLogger } from "../../src/log.ts";
import { ASTERISK_APPLICATIONS, ASTERISK_FUNCTIONS, functionsIn, parseExtensions, type Priority } from "../support/asterisk-apps.ts";
import { AsteriskRunner } from "../support/asterisk-dialplan-run.ts";
import { ADMIN_TOKEN, PBX_TOKEN, file, pbxFiles } from "../support/pbx-config-files.ts";

const { setup } = pbxFiles();

interface Appliance {
  server: AdminServer;
  full: boolean;
  directory: CallDirectory;
}

const appliances: Appliance[] = [];
let port = 0;

function startAppliance(host: string, at: number): Appliance {
  const directory = new CallDirectory();
  const appliance: Appliance = { directory, full: false, server: null as unknown as AdminServer };
  appliance.server = startAdminServer({
    host, port: at, log: rootLogger.child("test"), health: () => ({ ready: true, body: {} }), metrics: () => [],
    tokens: { admin: ADMIN_TOKEN, pbx: PBX_TOKEN },
    calls: {
      register: (uuid, r) => (appliance.full ? "full" : directory.register(uuid, { callerNumber: r.callerNumber, dnis: r.dnis, tenant: r.tenant })),
      next: (uuid) => formatNextStep(directory.next(uuid)),
    },
  });
  return appliance;
}

// Three loopback addresses share the admin port, as appliances on three hosts share HTTP_PORT:
// 127.0.0.3 has nothing listening (unreachable), .1 and .2 run voicebot's admin API.
const UNREACHABLE = "127.0.0.3";
beforeAll(() => {
  appliances.push(startAppliance("127.0.0.1", 0));
  port = appliances[0]!.server.port;
  appliances.push(startAppliance("127.0.0.2", port));
});
afterAll(async () => {
  for (const a of appliances) await a.server.stop();
});

let serial = 0;
const uuid = (): string => `1b4e28ba-2fa1-41d2-883f-${String(++serial).padStart(12, "0")}`;

function render(nodes: PbxNode[], order: "in-turn" | "round-robin"): Priority[] {
  const { config, tenants } = setup(1, true, { HTTP_PORT: String(port) });
  const rendering = renderPbxConfig("asterisk", { host: "127.0.0.1", config, tenants, nodes, order });
  const contexts = parseExtensions(file(rendering, "asterisk/extensions_voicebot.conf"));
  expect([...contexts.keys()]).toEqual(["voicebot"]);
  const priorities = contexts.get("voicebot") as Priority[];
  for (const p of priorities) {
    expect(ASTERISK_APPLICATIONS.map((a) => a.name)).toContain(p.app);
    for (const f of functionsIn(p)) expect(ASTERISK_FUNCTIONS.map((a) => a.name)).toContain(f);
  }
  // AudioSocket() hangs the call up when it cannot connect: every one must follow a registration that took.
  const labels = new Set(priorities.filter((p) => p.app === "GotoIf").map((p) => /\?(\w+)$/.exec(p.args)?.[1]));
  for (const p of priorities.filter((q) => q.app === "AudioSocket")) expect(labels.has(p.label ?? "")).toBe(true);
  expect(file(rendering, "asterisk/manager_voicebot.conf")).toContain("permit = 127.0.0.3/255.255.255.255\npermit = 127.0.0.1/255.255.255.255\npermit = 127.0.0.2/255.255.255.255\n");
  return priorities;
}

const NODES: PbxNode[] = [{ host: UNREACHABLE, port: null }, { host: "127.0.0.1", port: 9190 }, { host: "127.0.0.2", port: null }];
const admin = (host: string): string => `http://${host}:${port}/api/calls/`;

describe("asterisk, several appliances", () => {
  test("in turn: unreachable and full ones are passed over, the one that takes the call streams it and answers /next; none → busy message", async () => {
    const priorities = render(NODES, "in-turn");
    const asterisk = new AsteriskRunner({ uuid, callerNumber: "+33 6 12", exten: "777" });
    const [first, second] = appliances as [Appliance, Appliance];

    const taken = await asterisk.run(priorities);
    expect(taken.requested.map((u) => u.slice(0, admin(UNREACHABLE).length))).toEqual([admin(UNREACHABLE), admin("127.0.0.1"), admin("127.0.0.1")]);
    expect(taken.sockets).toEqual([`${taken.requested[1]!.slice(admin("127.0.0.1").length, admin("127.0.0.1").length + 36)},127.0.0.1:9190`]);
    expect(taken.requested[2]).toContain("/next?token=");
    expect(taken.outcome).toBe("hangup");
    expect(first.directory.size.pending).toBe(1);

    first.full = true;
    const moved = await asterisk.run(priorities);
    expect(moved.requested.map((u) => new URL(u).hostname)).toEqual([UNREACHABLE, "127.0.0.1", "127.0.0.2", "127.0.0.2"]);
    expect(moved.sockets[0]).toEndWith(",127.0.0.2:9090");
    const id = moved.sockets[0]!.slice(0, 36);
    expect(second.directory.take(id)).toEqual({ callerNumber: "+33 6 12", dnis: "777", tenant: "default" });
    second.directory.setNext(id, { kind: "hangup" });

    second.full = true;
    const none = await asterisk.run(priorities);
    expect(none.sockets).toEqual([]);
    expect(none.played).toEqual(["all-circuits-busy-now&pls-try-call-later"]);
    expect(none.outcome).toBe("hangup");
    expect(none.requested.map((u) => new URL(u).hostname)).toEqual([UNREACHABLE, "127.0.0.1", "127.0.0.2"]);
    first.full = false;
    second.full = false;
  });

  test("round-robin: each call starts one appliance further, wraps, and still tries them all", async () => {
    const priorities = render(NODES, "round-robin");
    const asterisk = new AsteriskRunner({ uuid, callerNumber: "0612", exten: "777" });
    const streamedTo: string[] = [];
    const firstTried: string[] = [];
    for (let i = 0; i < 4; i++) {
      const run = await asterisk.run(priorities);
      firstTried.push(new URL(run.requested[0]!).hostname);
      streamedTo.push(run.sockets[0]!.slice(37));
    }
    expect(firstTried).toEqual([UNREACHABLE, "127.0.0.1", "127.0.0.2", UNREACHABLE]);
    expect(streamedTo).toEqual(["127.0.0.1:9190", "127.0.0.1:9190", "127.0.0.2:9090", "127.0.0.1:9190"]);
    expect(asterisk.globals.get("VB_LAST_NODE")).toBe("1");
  });

  test("no --node renders today's single-appliance dialplan", () => {
    const { config, tenants } = setup(1, true, { HTTP_PORT: String(port) });
    const single = file(renderPbxConfig("asterisk", { host: "192.0.2.10", config, tenants }), "asterisk/extensions_voicebot.conf");
    expect(single).toContain(" same => n,AudioSocket(${VB_UUID},192.0.2.10:9090)\n");
    expect(single).not.toContain("GLOBAL(");
  });
  test("chan_websocket: one websocket_client connection per appliance, Dial() each in turn until one answers, /next of that one", async () => {
    const { config, tenants } = setup(1, true, { HTTP_PORT: String(port), WEBSOCKET_PORT: "8099", WEBSOCKET_TOKEN: "ws-t0ken" });
    const rendering = renderPbxConfig("asterisk", { host: "127.0.0.1", config, tenants, nodes: NODES, order: "round-robin" });
    const client = file(rendering, "asterisk/websocket_client_voicebot.conf");
    expect([...client.matchAll(/^\[(.+)\]$/gm)].map((m) => m[1])).toEqual(["voicebot-1", "voicebot-2", "voicebot-3"]);
    expect([...client.matchAll(/^uri = (.+)$/gm)].map((m) => m[1])).toEqual([`ws://${UNREACHABLE}:8099/asterisk`, "ws://127.0.0.1:8099/asterisk", "ws://127.0.0.2:8099/asterisk"]);
    expect(client.match(/^password = ws-t0ken$/gm)).toHaveLength(3);
    const priorities = parseExtensions(file(rendering, "asterisk/extensions_voicebot_websocket.conf")).get("voicebot-websocket") as Priority[];
    for (const p of priorities) {
      expect(ASTERISK_APPLICATIONS.map((a) => a.name)).toContain(p.app);
      for (const f of functionsIn(p)) expect(ASTERISK_FUNCTIONS.map((a) => a.name)).toContain(f);
    }
    // Only 127.0.0.2's connection answers; the others fail the channel request.
    const asterisk = new AsteriskRunner({ uuid, callerNumber: "0612", exten: "777", dial: (args) => (args.startsWith("WebSocket/voicebot-3/") ? "ANSWER" : "CHANUNAVAIL") });
    const first = await asterisk.run(priorities);
    expect(first.dialed.map((d) => d.split("/")[1])).toEqual(["voicebot-1", "voicebot-2", "voicebot-3"]);
    expect(first.dialed[0]).toMatch(/^WebSocket\/voicebot-1\/c\(slin16\)v\(uuid=[0-9a-f-]{36},tenant=default,caller=0612,dnis=777\),,g$/);
    expect(new URL(first.requested.at(-1)!).hostname).toBe("127.0.0.2");
    expect(first.outcome).toBe("hangup");
    const second = await asterisk.run(priorities);
    expect(second.dialed.map((d) => d.split("/")[1])).toEqual(["voicebot-2", "voicebot-3"]);
    const none = await new AsteriskRunner({ uuid, callerNumber: "0612", exten: "777" }).run(priorities);
    expect(none.dialed).toHaveLength(3);
    expect(none.played).toEqual(["all-circuits-busy-now&pls-try-call-later"]);
  });
  test("PBX_NODES and PBX_NODE_ORDER in voicebot.env (install's answers write them there) render as --node and --order do", () => {
    const env = setup(1, true, { HTTP_PORT: String(port), PBX_NODES: `${UNREACHABLE},127.0.0.1:9190,127.0.0.2`, PBX_NODE_ORDER: "round-robin" });
    const fromEnv = renderPbxConfig("asterisk", { host: "127.0.0.1", ...env });
    const plain = setup(1, true, { HTTP_PORT: String(port) });
    const fromFlags = renderPbxConfig("asterisk", { host: "127.0.0.1", ...plain, nodes: NODES, order: "round-robin" });
    expect(fromEnv.files).toEqual(fromFlags.files);
    const written = renderEnvFile(new Map([["PBX", "asterisk"], ["PBX_NODES", "192.0.2.11,192.0.2.12"], ["WHEN_FULL", "refuse"]]), "test");
    expect(written).toContain("# Several appliances behind the PBX (pbx-config renders the dialplan that tries them in turn)\nPBX_NODES=192.0.2.11,192.0.2.12\nWHEN_FULL=refuse\n");
  });
});
