/**
 * With a store shared by several appliances, the console of one relays to the appliance holding a
 * call: its recording (whole and ranged) and the hang-up of its live call, with the shared token.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../src/store/store.ts";
import { CONSOLE_TOKEN, startConsoleServer, type ConsoleServer } from "../support/console-server.ts";

const started: ConsoleServer[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.admin.stop();
});

/** Appliance B holds the files and the live call "live-1"; A's store says B took both calls. */
function fleet(token: string | null): { a: ConsoleServer; b: ConsoleServer; recorded: number } {
  const dir = mkdtempSync(join(tmpdir(), "vb-fleet-"));
  const caller = join(dir, "c.caller.raw");
  const bot = join(dir, "c.bot.raw");
  writeFileSync(caller, new Uint8Array(1600).fill(1));
  writeFileSync(bot, new Uint8Array(1600).fill(2));
  const bStore = Store.open(join(dir, "b"));
  const b = startConsoleServer(bStore, { self: { nodeId: "vb-b", adminToken: CONSOLE_TOKEN } });
  const aStore = Store.open(join(dir, "a"), { node: { id: "vb-b", url: b.base } });
  const recorded = aStore.insertCall({ uuid: "0b8a5c1e-6a52-4cf2-9f4e-0d6f3f4bb3a1", transport: "audiosocket", tenant: "acme", caller: null, peer: "p", sampleRate: 8000, startedAt: 1000 });
  aStore.setCallRecordings(recorded, [{ channel: "caller", path: caller, sampleRate: 8000 }, { channel: "bot", path: bot, sampleRate: 8000 }]);
  aStore.endCall(recorded, { endedAt: 2000, reason: "resolved" });
  aStore.insertCall({ uuid: "live-1", transport: "audiosocket", tenant: "acme", caller: null, peer: "p", sampleRate: 8000, startedAt: 3000 });
  // B answers the recording of call `recorded` from its own store's view of it.
  const bId = bStore.insertCall({ uuid: "0b8a5c1e-6a52-4cf2-9f4e-0d6f3f4bb3a1", transport: "audiosocket", tenant: "acme", caller: null, peer: "p", sampleRate: 8000, startedAt: 1000 });
  bStore.setCallRecordings(bId, [{ channel: "caller", path: caller, sampleRate: 8000 }, { channel: "bot", path: bot, sampleRate: 8000 }]);
  const a = startConsoleServer(aStore, { self: { nodeId: "vb-a", adminToken: token }, liveUuids: [] });
  started.push(a, b);
  return { a, b, recorded };
}

describe("console relays to the appliance holding the call", () => {
  test("a recording held by another appliance: listed with its format, relayed whole and ranged", async () => {
    const { a, b, recorded } = fleet(CONSOLE_TOKEN);
    const detail = (await (await a.get(`/api/calls/${recorded}`)).json()) as { node: string; nodeUrl: string; recording: { format: string; url: string } };
    expect(detail).toMatchObject({ node: "vb-b", nodeUrl: b.base, recording: { format: "raw", url: `/api/calls/${recorded}/recording` } });
    const whole = await a.get(detail.recording.url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("audio/wav");
    expect((await whole.arrayBuffer()).byteLength).toBe(44 + 1600 * 2);
    const part = await fetch(`${a.base}${detail.recording.url}`, { headers: { authorization: `Bearer ${CONSOLE_TOKEN}`, range: "bytes=44-143" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 44-143/${44 + 3200}`);
    expect(new Uint8Array(await part.arrayBuffer()).slice(0, 4)).toEqual(new Uint8Array([1, 1, 2, 2]));
  });

  test("a live call of another appliance is hung up there", async () => {
    const { a, b } = fleet(CONSOLE_TOKEN);
    const res = await a.send("POST", "/api/live/live-1/hangup");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hungUp: "live-1" });
    expect(b.hungUp).toEqual(["live-1"]);
    expect(a.hungUp).toEqual([]);
  });

  test("without the shared token the console says what to set, never a bare failure", async () => {
    const { a, recorded } = fleet(null);
    const res = await a.get(`/api/calls/${recorded}/recording`);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain("set the same ADMIN_TOKEN on every appliance");
  });
});
