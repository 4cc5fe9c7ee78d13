import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../../src/store/store.ts";
import { startConsoleServer, type ConsoleServer } from "../support/console-server.ts";
import { tempStores } from "../support/temp-stores.ts";

const stores = tempStores("voicebot-console-");
let server: ConsoleServer | null = null;
afterEach(async () => {
  await server?.admin.stop();
  server = null;
});

const DAY = 86_400_000;
const T0 = Date.parse("2026-11-01T00:00:00Z");

/** 30 calls, one a day; tenants alternate, every third has a ticket, turns that say things. */
function fill(store: Store): number[] {
  const ids: number[] = [];
  for (let i = 0; i < 30; i++) {
    const startedAt = T0 + i * DAY;
    const id = store.insertCall({ uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, transport: "audiosocket", tenant: i % 2 ? "acme" : "globex", caller: `06000000${String(i % 5).padStart(2, "0")}`, peer: "x", sampleRate: 8000, startedAt });
    store.addTurn(id, { speaker: "bot", text: "Bonjour, que puis-je faire ?", startedAt: startedAt + 10 });
    store.addTurn(id, { speaker: "caller", text: i === 7 ? "Ma box est hors service depuis hier" : "Mon téléphone ne marche plus", startedAt: startedAt + 2000 });
    if (i % 3 === 0) store.openTicket(id, { at: startedAt + 3000, problemType: i === 9 ? "internet" : "phone" });
    store.endCall(id, { endedAt: startedAt + 60_000, reason: i % 4 === 0 ? "transfer" : "resolved" });
    ids.push(id);
  }
  return ids;
}

async function body(res: Response): Promise<Record<string, any>> {
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

describe("GET /api/calls", () => {
  test("keyset pages, newest first, over every call exactly once", async () => {
    const store = stores.open(stores.tempDir());
    const ids = fill(store);
    server = startConsoleServer(store);
    const seen: number[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: Record<string, any> = await body(await server.get(`/api/calls?limit=7${cursor ? `&cursor=${cursor}` : ""}`));
      expect(page.calls.length).toBeLessThanOrEqual(7);
      seen.push(...page.calls.map((c: { id: number }) => c.id));
      cursor = page.next;
    }
    expect(seen).toEqual([...ids].reverse());
    expect((await server.get("/api/calls?limit=201")).status).toBe(400);
    expect(await (await server.get("/api/calls?cursor=zz")).text()).toContain("cursor");
  });

  test("filters: date range, tenant, caller, end reason, ticket status; q searches what was said", async () => {
    const store = stores.open(stores.tempDir());
    fill(store);
    server = startConsoleServer(store);
    const ids = async (query: string): Promise<number[]> => (await body(await server!.get(`/api/calls?${query}`))).calls.map((c: { id: number }) => c.id);
    expect(await ids("from=2026-11-03&to=2026-11-05")).toEqual([4, 3]);
    expect((await ids("tenant=acme")).length).toBe(15);
    expect(await ids("caller=0600000002&tenant=acme")).toEqual([28, 18, 8]);
    expect((await ids("reason=transfer")).length).toBe(8);
    expect((await ids("ticket=open")).length).toBe(10);
    expect(await ids("q=box HORS")).toEqual([8]);
    expect(await ids("q=servi")).toEqual([8]);
    expect((await ids("q=telephone")).length).toBe(29);
    expect(await ids(`q=${encodeURIComponent('"box" (*')}`)).toEqual([8]);
    expect(await ids("caller=0600000002&q=box")).toEqual([8]);
    expect(await ids("caller=0600000002&q=telephone")).toEqual([28, 23, 18, 13, 3]);
    expect((await server.get("/api/calls?ticket=lost")).status).toBe(400);
    expect((await server.get("/api/calls?from=yesterday")).status).toBe(400);
  });

  test("one call: facts, turns with latency stamps, DTMF, events, tickets, recording", async () => {
    const store = stores.open(stores.tempDir());
    const [id] = fill(store);
    store.addEvent(id as number, { kind: "dtmf", detail: "1", at: T0 + 5000 });
    server = startConsoleServer(store);
    const call = await body(await server.get(`/api/calls/${id}`));
    expect(call).toMatchObject({ id, tenant: "globex", endReason: "transfer", dtmf: [{ digit: "1", at: T0 + 5000 }], recording: { format: null } });
    expect(call.turns[1]).toMatchObject({ speaker: "caller", timings: { speechEndAt: null, sttFinalAt: null } });
    expect(call.tickets).toHaveLength(1);
    expect((await body(await server.get(`/api/calls/${call.uuid}`))).id).toBe(id as number);
    expect((await server.get("/api/calls/999999")).status).toBe(404);
  });
});

describe("tickets", () => {
  test("filter, page, and edit status, notes and assignee: each change kept with who and when", async () => {
    const store = stores.open(stores.tempDir());
    fill(store);
    server = startConsoleServer(store);
    const all = await body(await server.get("/api/tickets?limit=4"));
    expect(all.tickets.map((t: { id: number }) => t.id)).toEqual([10, 9, 8, 7]);
    expect((await body(await server.get(`/api/tickets?before=${all.next}&limit=4`))).tickets.map((t: { id: number }) => t.id)).toEqual([6, 5, 4, 3]);
    expect((await body(await server.get("/api/tickets?problem=internet"))).tickets.map((t: { id: number }) => t.id)).toEqual([4]);
    expect((await body(await server.get("/api/tickets?tenant=acme&status=open"))).tickets).toHaveLength(5);

    const edited = await body(await server.send("PATCH", "/api/tickets/4", { status: "resolved", notes: "Box changée", assignee: "Léa" }));
    expect(edited).toMatchObject({ status: "resolved", notes: "Box changée", assignee: "Léa", call: { id: 10 } });
    expect(edited.changes.map((c: { field: string; oldValue: string | null; newValue: string; by: string }) => [c.field, c.oldValue, c.newValue, c.by]))
      .toEqual([["status", "open", "resolved", "token"], ["notes", null, "Box changée", "token"], ["assignee", null, "Léa", "token"]]);
    expect((await body(await server.send("PATCH", "/api/tickets/4", { status: "resolved" }))).changes).toHaveLength(3);
    expect((await body(await server.get("/api/tickets?status=resolved"))).tickets.map((t: { id: number }) => t.id)).toEqual([4]);

    for (const [bad, words] of [[{ status: "closed" }, "status"], [{ customer: "x" }, "cannot be changed"], [{}, "nothing to change"], [{ notes: 3 }, "notes"]] as const) {
      const res = await server.send("PATCH", "/api/tickets/4", bad);
      expect([res.status, (await res.json() as { error: string }).error]).toEqual([400, expect.stringContaining(words)]);
    }
    expect((await server.send("PATCH", "/api/tickets/999", { status: "resolved" })).status).toBe(404);
  });
});

describe("recordings", () => {
  test("the raw pair as a stereo WAV, with Range and a download name; the MP3 when converted", async () => {
    const dir = stores.tempDir();
    const store = stores.open(dir);
    const id = store.insertCall({ uuid: "r1", transport: "audiosocket", tenant: "acme", caller: null, peer: "x", sampleRate: 8000, startedAt: T0 });
    mkdirSync(join(dir, "rec"));
    const caller = new Int16Array(1000).fill(1000);
    const bot = new Int16Array(800).fill(-2000);
    writeFileSync(join(dir, "rec", "r1.caller.8000.s16le"), caller);
    writeFileSync(join(dir, "rec", "r1.bot.8000.s16le"), bot);
    store.setCallRecordings(id, [{ channel: "caller", path: join(dir, "rec", "r1.caller.8000.s16le"), sampleRate: 8000 }, { channel: "bot", path: join(dir, "rec", "r1.bot.8000.s16le"), sampleRate: 8000 }]);
    server = startConsoleServer(store);
    expect((await body(await server.get(`/api/calls/${id}`))).recording).toMatchObject({ format: "raw", url: `/api/calls/${id}/recording` });

    const whole = await server.get(`/api/calls/${id}/recording`);
    expect([whole.status, whole.headers.get("content-type"), whole.headers.get("accept-ranges")]).toEqual([200, "audio/wav", "bytes"]);
    const wav = new Uint8Array(await whole.arrayBuffer());
    expect(wav.length).toBe(44 + 1000 * 4);
    const view = new DataView(wav.buffer);
    expect([view.getUint16(22, true), view.getUint32(24, true), view.getUint32(40, true)]).toEqual([2, 8000, 4000]);
    expect([view.getInt16(44, true), view.getInt16(46, true), view.getInt16(44 + 900 * 4 + 2, true)]).toEqual([1000, -2000, 0]);

    const part = await fetch(`${server.base}/api/calls/${id}/recording`, { headers: { authorization: "Bearer console-t0ken", range: "bytes=40-51" } });
    expect([part.status, part.headers.get("content-range")]).toEqual([206, `bytes 40-51/${wav.length}`]);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(wav.subarray(40, 52));
    const tail = await fetch(`${server.base}/api/calls/${id}/recording`, { headers: { authorization: "Bearer console-t0ken", range: "bytes=-6" } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(wav.subarray(wav.length - 6));
    const outside = await fetch(`${server.base}/api/calls/${id}/recording`, { headers: { authorization: "Bearer console-t0ken", range: "bytes=99999-" } });
    expect([outside.status, outside.headers.get("content-range")]).toEqual([416, `bytes */${wav.length}`]);
    expect((await server.get(`/api/calls/${id}/recording?download=1`)).headers.get("content-disposition")).toBe(`attachment; filename="call-${id}-r1.wav"`);

    writeFileSync(join(dir, "rec", "r1.mp3"), new Uint8Array([0xff, 0xfb, 1, 2, 3, 4]));
    store.setCallRecordings(id, [{ channel: "stereo", path: join(dir, "rec", "r1.mp3"), sampleRate: 8000 }]);
    const mp3 = await fetch(`${server.base}/api/calls/${id}/recording`, { headers: { authorization: "Bearer console-t0ken", range: "bytes=2-3" } });
    expect([mp3.status, mp3.headers.get("content-type"), [...new Uint8Array(await mp3.arrayBuffer())]]).toEqual([206, "audio/mpeg", [1, 2]]);
    store.setCallRecordings(id, []);
    expect((await server.get(`/api/calls/${id}/recording`)).status).toBe(404);
  });
});
