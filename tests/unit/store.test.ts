import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/store/db.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import type { TicketStatus } from "../../src/dialog/types.ts";
import { isTicketStatus, Store, type StoredTicketStatus } from "../../src/store/store.ts";
import { tempStores } from "../support/temp-stores.ts";

const { tempDir, open, close } = tempStores("voicebot-store-");




const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);
const NO_TIMINGS = {
  speechEndAt: null, sttFinalAt: null, llmFirstTokenAt: null, ttsFirstByteAt: null, firstFrameAt: null, lastFrameAt: null, bargeInAt: null,
};

function newCall(store: Store, uuid = "0b5f7c3e-1d2a-4c8e-9f00-123456789abc", startedAt = T0): number {
  return store.insertCall({ uuid, transport: "audiosocket", tenant: "default", caller: "+33612345678", peer: "10.0.0.5:40122", sampleRate: 8000, startedAt });
}

describe("opening and migrations", () => {
  test("a fresh data dir gets the database, WAL mode and every migration; reopening changes nothing", () => {
    const dataDir = join(tempDir(), "nested", "data");
    close(open(dataDir));
    const reopened = open(dataDir);
    expect(reopened.path).toBe(join(dataDir, "voicebot.db"));
    close(reopened);

    const db = new Database(join(dataDir, "voicebot.db"), { readonly: true });
    const versions = db.query<{ version: number }, []>("SELECT version FROM schema_migrations ORDER BY version").all();
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(["calls", "events", "schema_migrations", "tickets", "turns"]));
    db.close();
  });

  test("the writer's pragmas are on", () => {
    const dataDir = tempDir();
    const db = openDatabase(dataDir);
    expect(db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys).toBe(1);
    expect(db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous).toBe(1);
    expect(db.query<{ timeout: number }, []>("PRAGMA busy_timeout").get()?.timeout).toBe(5000);
    db.close();
  });

  test("a later migration is applied once, on the next open", () => {
    const dataDir = tempDir();
    openDatabase(dataDir).close();
    const more = [...MIGRATIONS, { version: MIGRATIONS.length + 1, sql: "CREATE TABLE extra (x INTEGER)" }];
    openDatabase(dataDir, {}, more).close();
    const db = openDatabase(dataDir, {}, more);
    expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM schema_migrations").get()?.n).toBe(more.length);
    db.close();
  });

  test("migrations out of order are refused", () => {
    expect(() => openDatabase(tempDir(), {}, [{ version: 2, sql: "SELECT 1" }])).toThrow(/versions must be 1, 2, 3/);
  });

  test("a database newer than this voicebot is refused by the writer", () => {
    const dataDir = tempDir();
    openDatabase(dataDir, {}, [...MIGRATIONS, { version: MIGRATIONS.length + 1, sql: "CREATE TABLE extra (x INTEGER)" }]).close();
    expect(() => openDatabase(dataDir)).toThrow(/newer than this voicebot knows/);
  });

  test("readonly: a missing database is a clear error and nothing is created", () => {
    const dataDir = join(tempDir(), "absent");
    expect(() => Store.open(dataDir, { readonly: true })).toThrow(
      `no database at ${join(dataDir, "voicebot.db")}: has \`voicebot serve\` run with this data dir?`,
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  test("readonly: an out-of-date database is not migrated", () => {
    const dataDir = tempDir();
    openDatabase(dataDir, {}, []).close();
    expect(() => Store.open(dataDir, { readonly: true })).toThrow(`schema version 0, this voicebot reads version ${MIGRATIONS.length}`);
  });
});

describe("calls, turns, events and tickets", () => {
  test("a whole call round-trips", () => {
    const store = open(tempDir());
    const id = newCall(store);
    expect(id).toBe(1);
    store.setCallAnswered(id, T0 + 40);
    store.setCallSampleRate(id, 16000);
    store.setCallRecordings(id, [
      { channel: "caller", path: "/r/a.caller.16000.s16le", sampleRate: 16000 },
      { channel: "bot", path: "/r/a.bot.16000.s16le", sampleRate: 16000 },
    ]);
    const greeting = store.addTurn(id, { speaker: "bot", text: "Bonjour", startedAt: T0 + 50 });
    store.finishTurn(greeting, { endedAt: T0 + 2050, interrupted: true });
    store.addTurn(id, { speaker: "caller", text: "1", startedAt: T0 + 1500, endedAt: T0 + 1500 });
    store.addEvent(id, { kind: "dtmf", detail: "1", at: T0 + 1500 });
    store.addEvent(null, { kind: "rejected", detail: "10.9.9.9", at: T0 });
    const ticket = store.openTicket(id, { problemType: "internet", at: T0 + 1600 });
    expect(ticket).toBe(1);
    store.updateTicket(ticket, { phone: "0612345678", status: "escalated", at: T0 + 9000 });
    store.endCall(id, { endedAt: T0 + 10_000, reason: "escalated", detail: "ticket 1" });

    const call = store.getCall(id);
    expect(call).toMatchObject({
      id, uuid: "0b5f7c3e-1d2a-4c8e-9f00-123456789abc", transport: "audiosocket", tenant: "default", caller: "+33612345678",
      peer: "10.0.0.5:40122", sampleRate: 16000, startedAt: T0, answeredAt: T0 + 40, endedAt: T0 + 10_000,
      endReason: "escalated", endDetail: "ticket 1", durationMs: 10_000, ticketId: 1, ticketStatus: "escalated",
    });
    expect(call?.recordings.map((r) => r.channel)).toEqual(["caller", "bot"]);
    const noReply = { replyId: null, llmProvider: null, timings: NO_TIMINGS };
    expect(call?.turns).toEqual([
      { id: greeting, callId: id, speaker: "bot", text: "Bonjour", startedAt: T0 + 50, endedAt: T0 + 2050, interrupted: true, ...noReply },
      { id: greeting + 1, callId: id, speaker: "caller", text: "1", startedAt: T0 + 1500, endedAt: T0 + 1500, interrupted: false, ...noReply },
    ]);
    expect(call?.events).toEqual([{ id: 1, callId: id, kind: "dtmf", detail: "1", at: T0 + 1500 }]);
    expect(call?.tickets).toEqual([{
      id: 1, callId: id, customer: null, phone: "0612345678", problemType: "internet", description: null,
      status: "escalated", createdAt: T0 + 1600, updatedAt: T0 + 9000, tenant: "default", notes: null, assignee: null,
    }]);
    expect(store.getTicket(1)?.call?.id).toBe(id);
    expect(store.getTicket(2)).toBeNull();
  });

  test("getCall finds a call by id, by digits, by UUID in any case, and the latest of a repeated UUID", () => {
    const store = open(tempDir());
    const first = newCall(store, "aaaaaaaa-0000-0000-0000-000000000001", T0);
    const again = newCall(store, "aaaaaaaa-0000-0000-0000-000000000001", T0 + 60_000);
    expect(store.getCall(first)?.id).toBe(first);
    expect(store.getCall(String(again))?.id).toBe(again);
    expect(store.getCall("AAAAAAAA-0000-0000-0000-000000000001")?.id).toBe(again);
    expect(store.getCall("ffffffff-0000-0000-0000-000000000000")).toBeNull();
    expect(store.getCall(99)).toBeNull();
  });

  test("lists are newest first, limited, and filter tickets by status", () => {
    const store = open(tempDir());
    for (let i = 0; i < 5; i++) {
      const id = newCall(store, `call-${i}`, T0 + i * 1000);
      const t = store.openTicket(id, { at: T0 + i * 1000 });
      store.updateTicket(t, { status: i % 2 === 0 ? "resolved" : "abandoned", at: T0 + i * 1000 + 1 });
    }
    expect(store.countCalls()).toBe(5);
    expect(store.listCalls({ limit: 2 }).map((c) => c.uuid)).toEqual(["call-4", "call-3"]);
    expect(store.listCalls({ limit: 2, offset: 2 }).map((c) => c.uuid)).toEqual(["call-2", "call-1"]);
    expect(store.listTickets().map((t) => t.id)).toEqual([5, 4, 3, 2, 1]);
    expect(store.listTickets({ status: "abandoned" }).map((t) => t.id)).toEqual([4, 2]);
    expect(store.listTickets({ status: "resolved", limit: 1 }).map((t) => t.id)).toEqual([5]);
    expect(() => store.listCalls({ limit: 0 })).toThrow(/list limit 0 is not allowed/);
  });

  test("a ticket update changes only the fields given; null clears one", () => {
    const store = open(tempDir());
    const t = store.openTicket(newCall(store), { customer: "Mme Martin", phone: "0102030405", description: "box", at: T0 });
    store.updateTicket(t, { phone: null, problemType: "mobile", at: T0 + 1 });
    expect(store.getTicket(t)).toMatchObject({ customer: "Mme Martin", phone: null, problemType: "mobile", description: "box", status: "open", updatedAt: T0 + 1 });
  });

  test("every status the dialog sets can be stored", () => {
    // Fails to compile the day the dialog gains a status the store does not know.
    const stored = (s: TicketStatus): StoredTicketStatus => s;
    const dialogStatuses: TicketStatus[] = ["open", "resolved", "escalated", "abandoned"];
    for (const s of dialogStatuses) expect(isTicketStatus(stored(s))).toBe(true);
  });

  test("bad writes name what is wrong", () => {
    const store = open(tempDir());
    const id = newCall(store);
    const t = store.openTicket(id, { at: T0 });
    expect(() => store.updateTicket(t, { status: "closed", at: T0 })).toThrow(
      'ticket status "closed" is not allowed: one of open, resolved, escalated, abandoned, incomplete',
    );
    expect(() => store.updateTicket(42, { status: "resolved", at: T0 })).toThrow("no ticket with id 42 in the store");
    expect(() => store.openTicket(42, { at: T0 })).toThrow("no call with id 42 in the store");
    expect(() => store.addTurn(42, { speaker: "bot", text: "x", startedAt: T0 })).toThrow("no call with id 42 in the store");
    expect(() => store.addEvent(42, { kind: "x", at: T0 })).toThrow("no call with id 42 in the store");
    expect(() => store.endCall(42, { endedAt: T0, reason: "x" })).toThrow("no call with id 42 in the store");
    expect(() => store.finishTurn(42, { endedAt: T0, interrupted: false })).toThrow("no turn with id 42 in the store");
    expect(() => store.setCallSampleRate(id, 0)).toThrow("call sample rate 0 is not allowed");
  });
});

describe("crashes and readers", () => {
  test("closeInterruptedCalls ends unfinished calls at their last activity and marks their open tickets incomplete", () => {
    const dataDir = tempDir();
    const before = open(dataDir);
    const finished = newCall(before, "done", T0);
    before.endCall(finished, { endedAt: T0 + 5000, reason: "resolved" });
    const cut = newCall(before, "cut", T0);
    before.addTurn(cut, { speaker: "bot", text: "Bonjour", startedAt: T0 + 100, endedAt: T0 + 3000 });
    before.addEvent(cut, { kind: "dtmf", detail: "2", at: T0 + 4000 });
    const cutTicket = before.openTicket(cut, { problemType: "mobile", at: T0 + 4000 });
    const silent = newCall(before, "silent", T0 + 100);
    close(before);

    const after = open(dataDir);
    const restart = T0 + 3_600_000;
    expect(after.closeInterruptedCalls(restart)).toBe(2);
    expect(after.closeInterruptedCalls(restart)).toBe(0);
    expect(after.getCall(cut)).toMatchObject({ endedAt: T0 + 4000, endReason: "interrupted", durationMs: 4000 });
    expect(after.getCall(silent)).toMatchObject({ endedAt: T0 + 100, endReason: "interrupted" });
    expect(after.getCall(finished)).toMatchObject({ endedAt: T0 + 5000, endReason: "resolved" });
    expect(after.getTicket(cutTicket)).toMatchObject({ status: "incomplete", updatedAt: restart });
  });

  test("a crashed call whose recording outlasts its last row ends with its recording: the longer channel, by size", () => {
    const dataDir = tempDir();
    const before = open(dataDir);
    const cut = newCall(before, "recorded", T0);
    before.addEvent(cut, { kind: "dtmf", detail: "1", at: T0 + 7000 });
    // 15 s of caller audio and 12 s of bot audio at 8 kHz (2 bytes a sample), still raw: the crash came first.
    const callerPath = join(dataDir, "recorded.caller.8000.s16le");
    const botPath = join(dataDir, "recorded.bot.8000.s16le");
    writeFileSync(callerPath, new Uint8Array(15 * 8000 * 2));
    writeFileSync(botPath, new Uint8Array(12 * 8000 * 2));
    before.setCallRecordings(cut, [{ channel: "caller", path: callerPath, sampleRate: 8000 }, { channel: "bot", path: botPath, sampleRate: 8000 }]);
    // A rate change starts a second pair: a channel's files add up (2 s more at 16 kHz).
    const resampled = newCall(before, "resampled", T0);
    const files = [
      { channel: "caller" as const, path: join(dataDir, "resampled.caller.8000.s16le"), sampleRate: 8000, seconds: 3 },
      { channel: "caller" as const, path: join(dataDir, "resampled.caller.16000.s16le"), sampleRate: 16000, seconds: 2 },
    ];
    for (const f of files) writeFileSync(f.path, new Uint8Array(f.seconds * f.sampleRate * 2));
    before.setCallRecordings(resampled, files.map(({ seconds: _s, ...f }) => f));
    // Listed but gone from the disk: the last row decides.
    const gone = newCall(before, "gone", T0);
    before.addEvent(gone, { kind: "dtmf", detail: "1", at: T0 + 2000 });
    before.setCallRecordings(gone, [{ channel: "caller", path: join(dataDir, "gone.caller.8000.s16le"), sampleRate: 8000 }]);
    close(before);

    const after = open(dataDir);
    expect(after.closeInterruptedCalls(T0 + 3_600_000)).toBe(3);
    expect(after.getCall(cut)).toMatchObject({ endedAt: T0 + 15_000, endReason: "interrupted", durationMs: 15_000 });
    expect(after.getCall(resampled)).toMatchObject({ durationMs: 5000 });
    expect(after.getCall(gone)).toMatchObject({ durationMs: 2000 });
    // Never past the restart, whatever the files say.
    const later = open(tempDir());
    const short = newCall(later, "short", T0);
    const big = join(dataDir, "short.caller.8000.s16le");
    writeFileSync(big, new Uint8Array(60 * 8000 * 2));
    later.setCallRecordings(short, [{ channel: "caller", path: big, sampleRate: 8000 }]);
    later.closeInterruptedCalls(T0 + 10_000);
    expect(later.getCall(short)).toMatchObject({ durationMs: 10_000 });
  });

  test("a readonly store sees what the writer commits while the writer stays open", () => {
    const dataDir = tempDir();
    const writer = open(dataDir);
    const reader = open(dataDir, { readonly: true });
    expect(reader.countCalls()).toBe(0);
    const id = newCall(writer);
    expect(reader.countCalls()).toBe(1);
    writer.addTurn(id, { speaker: "bot", text: "Bonjour", startedAt: T0 });
    expect(reader.getCall(id)?.turns).toHaveLength(1);
    expect(() => reader.insertCall({ uuid: "x", transport: "t", tenant: "d", caller: null, peer: "p", sampleRate: 8000, startedAt: T0 })).toThrow(/readonly/);
  });
});
