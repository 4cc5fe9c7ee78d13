/**
 * serve's SQLite store: writes made on the event loop, committed by the writer thread
 * (sqlite-writer-worker.ts) a moment later, in order, with the ids given at once.
 */
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../src/log.ts";
import { openServeStore, type ServeStore } from "../../src/store/serve-store.ts";
import { Store } from "../../src/store/store.ts";

const T0 = Date.UTC(2026, 11, 8, 9, 0, 0);
const NODE = { id: "vb-test", url: null };
const call = (uuid: string) => ({ uuid, transport: "audiosocket", tenant: "default", caller: "0612345678", peer: "127.0.0.1:1", sampleRate: 8000, startedAt: T0 });

const dirs: string[] = [];
const opened: ServeStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => {}, info: () => {},
    warn: (msg, fields) => void lines.push(`warn ${msg} ${JSON.stringify(fields ?? {})}`),
    error: (msg, fields) => void lines.push(`error ${msg} ${JSON.stringify(fields ?? {})}`),
    child: () => log,
  };
  return { log, lines };
}

async function serveStore(dataDir: string, log: Logger): Promise<ServeStore> {
  const s = await openServeStore({ dataDir, store: { kind: "sqlite", path: null }, node: NODE }, log, T0);
  opened.push(s);
  return s;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-sqlite-writer-"));
  dirs.push(dir);
  return dir;
}

/** A connection of the test's own, as the CLI or another reader has it. */
function rows(dataDir: string, sql: string): Record<string, unknown>[] {
  const db = new Database(join(dataDir, "voicebot.db"), { readonly: true });
  try {
    return db.query<Record<string, unknown>, []>(sql).all();
  } finally {
    db.close();
  }
}

async function until<T>(read: () => T, done: (v: T) => boolean, waitMs = 5000): Promise<T> {
  for (let i = 0; i < waitMs / 10; i++) {
    const v = read();
    if (done(v)) return v;
    await Bun.sleep(10);
  }
  return read();
}

test("a call's writes get their ids at once and land in order; serve's reads see every write made before them", async () => {
  const dir = tempDir();
  const s = await serveStore(dir, capture().log);
  const id = s.writer.insertCall(call("call-1"));
  const turn = s.writer.addTurn(id, { speaker: "bot", text: "Bonjour", startedAt: T0 + 10 });
  s.writer.setTurnTimings(turn, { firstFrameAt: T0 + 20 });
  const ticket = s.writer.openTicket(id, { at: T0 + 30, customer: "Pierre Dupont" });
  s.writer.updateTicket(ticket, { status: "resolved", at: T0 + 40 });
  s.writer.endCall(id, { endedAt: T0 + 50, reason: "resolved" });
  expect([id, turn, ticket]).toEqual([1, 1, 1]);
  // serve's own reads (the API, the console) wait for the writes made before them.
  expect(await s.reader.getCall(id)).toMatchObject({ endReason: "resolved", tickets: [{ id: 1, status: "resolved" }] });
  expect(rows(dir, "SELECT id, end_reason FROM calls")).toEqual([{ id: 1, end_reason: "resolved" }]);
  expect(rows(dir, "SELECT id, status, customer FROM tickets")).toEqual([{ id: 1, status: "resolved", customer: "Pierre Dupont" }]);
  expect(rows(dir, "SELECT first_frame_at FROM turns")).toEqual([{ first_frame_at: T0 + 20 }]);
  expect((await s.reader.getCall(id))?.turns.map((t) => t.text)).toEqual(["Bonjour"]);
});

test("a write SQLite refuses is logged and lost alone; the rest of its batch is committed", async () => {
  const dir = tempDir();
  const { log, lines } = capture();
  const s = await serveStore(dir, log);
  const id = s.writer.insertCall(call("good"));
  s.writer.setCallAnswered(9999, T0);
  s.writer.addTurn(id, { speaker: "bot", text: "Bonjour", startedAt: T0 });
  expect(await until(() => rows(dir, "SELECT text FROM turns"), (r) => r.length > 0)).toEqual([{ text: "Bonjour" }]);
  await until(() => lines.length, (n) => n > 0);
  expect(lines.join("\n")).toMatch(/error store: a write was refused .*"write":"answered","id":9999.*9999/);
  await until(() => s.health().dropped, (d) => d === 1);
  expect(s.health()).toMatchObject({ backend: "sqlite", state: "ok", dropped: 1 });
});

test("the event loop goes on while the writer waits for a lock another process holds; nothing is lost", async () => {
  const dir = tempDir();
  const s = await serveStore(dir, capture().log);
  const locker = new Database(join(dir, "voicebot.db"));
  locker.run("BEGIN IMMEDIATE");
  const ids = [1, 2, 3].map((n) => s.writer.insertCall(call(`held-${n}`)));
  // On the event loop, this commit would have waited here for the lock (up to busy_timeout, 5 s).
  let turns = 0;
  const ticking = setInterval(() => turns++, 10);
  await Bun.sleep(300);
  clearInterval(ticking);
  expect(turns).toBeGreaterThan(5);
  expect(s.health()).toMatchObject({ state: "ok", queued: 3 });
  locker.run("COMMIT");
  locker.close();
  expect(await until(() => rows(dir, "SELECT id FROM calls ORDER BY id").map((r) => r.id), (r) => r.length === 3)).toEqual(ids);
  // The rows are visible once the worker commits; the queue hears of it a message later.
  await until(() => s.health().queued, (q) => q === 0);
  expect(s.health()).toMatchObject({ state: "ok", queued: 0, dropped: 0 });
});

test("batches whose commit fails are lost and logged once; the next committed batch logs the recovery", async () => {
  const dir = tempDir();
  const { log, lines } = capture();
  const infos: string[] = [];
  const s = await serveStore(dir, { ...log, info: (msg) => void infos.push(msg) });
  const id = s.writer.insertCall(call("kept"));
  expect(await until(() => rows(dir, "SELECT id FROM calls").length, (n) => n === 1)).toBe(1);
  // Another process holds the write lock past busy_timeout (5 s): two batches in a row fail.
  const locker = new Database(join(dir, "voicebot.db"));
  locker.run("BEGIN IMMEDIATE");
  s.writer.setCallAnswered(id, T0 + 1);
  await Bun.sleep(50);
  s.writer.setCallSampleRate(id, 16000);
  await until(() => s.health().dropped, (n) => n === 2, 15_000);
  expect(s.health()).toMatchObject({ state: "degraded", dropped: 2 });
  locker.run("ROLLBACK");
  locker.close();
  s.writer.addEvent(id, { kind: "state", detail: "menu", at: T0 + 2 });
  await until(() => s.health().state, (state) => state === "ok");
  expect(lines.filter((l) => l.includes("could not be committed"))).toHaveLength(1);
  expect(infos).toEqual(["store: SQLite takes writes again"]);
  expect(rows(dir, "SELECT answered_at, sample_rate FROM calls")).toEqual([{ answered_at: null, sample_rate: 8000 }]);
  expect(rows(dir, "SELECT detail FROM events")).toEqual([{ detail: "menu" }]);
}, 30_000);

test("ids go on from the rows already there, and ticket numbers are never reused", async () => {
  const dir = tempDir();
  const before = Store.open(dir);
  const old = before.insertCall(call("old"));
  before.addTurn(old, { speaker: "bot", text: "Bonjour", startedAt: T0 });
  before.addEvent(old, { kind: "dtmf", detail: "1", at: T0 });
  before.openTicket(old, { at: T0 });
  const gone = before.openTicket(old, { at: T0 });
  before.close();
  const db = new Database(join(dir, "voicebot.db"));
  db.run("DELETE FROM tickets WHERE id = ?", [gone]);
  db.close();
  const s = await serveStore(dir, capture().log);
  const id = s.writer.insertCall(call("new"));
  expect(id).toBe(old + 1);
  expect(s.writer.addTurn(id, { speaker: "bot", text: "Re-bonjour", startedAt: T0 })).toBe(2);
  expect(s.writer.openTicket(id, { at: T0 })).toBe(gone + 1);
  s.writer.addEvent(id, { kind: "dtmf", detail: "2", at: T0 });
  await s.close();
  opened.splice(0);
  expect(rows(dir, "SELECT id, call_id FROM events ORDER BY id")).toEqual([{ id: 1, call_id: old }, { id: 2, call_id: id }]);
  expect(rows(dir, "SELECT id FROM tickets ORDER BY id")).toEqual([{ id: 1 }, { id: gone + 1 }]);
});

test("close() commits the last writes, and a console edit comes after the writes made before it", async () => {
  const dir = tempDir();
  const s = await serveStore(dir, capture().log);
  const id = s.writer.insertCall(call("last"));
  const ticket = s.writer.openTicket(id, { at: T0 });
  const edited = await s.reader.editTicket(ticket, { status: "escalated" }, "admin", T0 + 1);
  expect(edited).toMatchObject({ id: ticket, status: "escalated" });
  s.writer.endCall(id, { endedAt: T0 + 2, reason: "caller-hangup" });
  await s.close();
  opened.splice(0);
  expect(rows(dir, "SELECT end_reason FROM calls")).toEqual([{ end_reason: "caller-hangup" }]);
  expect(rows(dir, "SELECT status FROM tickets")).toEqual([{ status: "escalated" }]);
});
