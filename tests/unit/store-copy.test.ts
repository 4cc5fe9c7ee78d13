/**
 * `store copy` against a real throw-away PostgreSQL: a filled SQLite store copied into a fresh
 * database reads the same (ticket numbers included), a second run copies nothing, a database
 * another appliance already writes to gets every call with renumbered tickets (reported) and its
 * own rows untouched, a copy cut off by a failing chunk or by PostgreSQL stopping completes on
 * the next run, and a copy made while serve writes reads one instant and is brought up to date.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { parseStoreUrl } from "../../src/config/store-url.ts";
import type { StoreReader } from "../../src/store/contracts.ts";
import { connectPg, type PgTarget } from "../../src/store/pg/connect.ts";
import { migratePg } from "../../src/store/pg/migrate.ts";
import { PgStoreReader } from "../../src/store/pg/pg-reader.ts";
import { copyStore, openCopySource, type CopyReport } from "../../src/store/pg/store-copy.ts";
import { SqliteReader } from "../../src/store/sqlite-reader.ts";
import { Store } from "../../src/store/store.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";
import { fillStore, T0 } from "../support/store-fill.ts";

const pg = pgClusterForFile();
const NODE = { id: "old-box", url: "http://10.0.0.9:9091" };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-store-copy-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** fillStore's calls plus a console edit (a ticket_changes row). */
function filledStore(): string {
  const dir = tempDir();
  fillStore(dir);
  const s = Store.open(dir);
  s.editTicket(1, { notes: "rappeler", assignee: "marie" }, "admin", T0 + 300_000);
  s.close();
  return dir;
}

async function database(): Promise<{ sql: SQL; reader: PgStoreReader }> {
  const target = parseStoreUrl(await pg.database()) as PgTarget;
  const sql = await connectPg(target, { max: 2 });
  await migratePg(sql, target);
  const reader = new PgStoreReader(sql);
  cleanups.push(() => reader.close());
  return { sql, reader };
}

async function copy(dir: string, sql: SQL, chunkCalls?: number): Promise<CopyReport> {
  const source = openCopySource(`${dir}/voicebot.db`);
  try {
    return await copyStore(source, sql, { node: NODE, ...(chunkCalls === undefined ? {} : { chunkCalls }) });
  } finally {
    source.close();
  }
}

function sqliteReader(dir: string): StoreReader {
  const store = Store.open(dir, { readonly: true });
  cleanups.push(() => store.close());
  return new SqliteReader(store);
}

async function counts(sql: SQL): Promise<Record<string, number>> {
  const [r] = await sql`SELECT (SELECT count(*) FROM calls)::int AS calls, (SELECT count(*) FROM turns)::int AS turns,
    (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM tickets)::int AS tickets,
    (SELECT count(*) FROM ticket_changes)::int AS changes`;
  return r as Record<string, number>;
}

/** Every read the CLI and the console make gives the same answer from both. */
async function expectSameReads(a: StoreReader, b: StoreReader): Promise<void> {
  expect(await b.countCalls()).toBe(await a.countCalls());
  expect(await b.listCalls({ limit: 1000 })).toEqual(await a.listCalls({ limit: 1000 }));
  for (const c of await a.listCalls({ limit: 1000 })) {
    expect(await b.getCall(c.id)).toEqual(await a.getCall(c.id));
    expect(await b.getCall(c.uuid)).toEqual(await a.getCall(c.uuid));
  }
  expect(await b.liveCalls()).toEqual(await a.liveCalls());
  const tickets = await a.listTickets({ limit: 1000 });
  expect(await b.listTickets({ limit: 1000 })).toEqual(tickets);
  for (const t of tickets) expect(await b.getTicket(t.id)).toEqual(await a.getTicket(t.id));
  expect(await b.pageCalls({ tenant: "acme" }, 1000, null)).toEqual(await a.pageCalls({ tenant: "acme" }, 1000, null));
  expect(await b.pageTickets({}, 1000, null)).toEqual(await a.pageTickets({}, 1000, null));
}

describe("store copy", () => {
  test("into a fresh database: the same reads, ticket numbers kept; a second run copies nothing", async () => {
    const dir = filledStore();
    const { sql, reader } = await database();
    let progress: [number, number][] = [];
    const source = openCopySource(dir);
    const first = await copyStore(source, sql, { node: NODE, chunkCalls: 4, onProgress: (done, total) => progress.push([done, total]) });
    source.close();
    expect(first).toMatchObject({ calls: { total: 15, copied: 15, alreadyThere: 0 }, ids: "keep", renumberedTickets: [], ticketChanges: 2,
      serverEvents: { total: 1, copied: 1, alreadyThere: 0 } });
    expect(progress).toEqual([[0, 15], [4, 15], [8, 15], [12, 15], [15, 15]]);
    await expectSameReads(sqliteReader(dir), reader);
    const after = await counts(sql);
    expect(after).toEqual({ calls: 15, turns: first.turns, events: first.events + 1, tickets: first.tickets, changes: 2 });

    // A writer starting now draws numbers past the copied ones.
    const [next] = await sql`SELECT nextval('tickets_id_seq') AS id`;
    expect(Number(next?.id)).toBe(first.tickets + 1);

    progress = [];
    const again = await copy(dir, sql);
    expect(again).toMatchObject({ calls: { total: 15, copied: 0, alreadyThere: 15 }, turns: 0, events: 0, tickets: 0, ticketChanges: 0,
      serverEvents: { copied: 0, alreadyThere: 1 }, renumberedTickets: [] });
    expect(await counts(sql)).toEqual(after);
  });

  test("into a database another appliance writes to: every call copied, colliding ticket numbers renumbered and reported, its rows untouched", async () => {
    const { sql, reader } = await database();
    const otherDir = tempDir();
    const other = Store.open(otherDir, { node: { id: "app-c", url: "http://10.0.0.3:9091" } });
    for (let i = 0; i < 3; i++) {
      const id = other.insertCall({ uuid: `c-${i}`, transport: "audiosocket", tenant: "default", caller: "+33699999999", peer: "10.0.0.7:1", sampleRate: 8000, startedAt: T0 + i });
      other.addTurn(id, { speaker: "caller", text: "allo", startedAt: T0 + i + 1 });
      other.openTicket(id, { customer: "Other", at: T0 + i + 2 });
    }
    other.close();
    expect((await copy(otherDir, sql)).ids).toBe("keep");
    await sql`SELECT nextval('calls_id_seq'), nextval('tickets_id_seq') FROM generate_series(1, 20)`;
    const before = await sql`SELECT c.*, t.id AS ticket, t.customer FROM calls c JOIN tickets t ON t.call_id = c.id ORDER BY c.id`;

    const dir = filledStore();
    const report = await copy(dir, sql, 5);
    expect(report.ids).toBe("renumber");
    expect(report.calls).toEqual({ total: 15, copied: 15, alreadyThere: 0, finished: 0 });
    const sourceTickets = await sqliteReader(dir).listTickets({ limit: 1000 });
    expect(report.renumberedTickets.map((r) => r.from)).toEqual(sourceTickets.map((t) => t.id).sort((a, b) => a - b));
    expect(report.renumberedTickets.every((r) => r.to > 23)).toBe(true);
    expect(await sql`SELECT c.*, t.id AS ticket, t.customer FROM calls c JOIN tickets t ON t.call_id = c.id WHERE c.node_id = 'app-c' ORDER BY c.id`).toEqual(before);

    // Each source ticket, under its new number, with the same fields, call and changes.
    const newNumber = new Map(report.renumberedTickets.map((r) => [r.from, r.to]));
    const sqlite = sqliteReader(dir);
    for (const t of sourceTickets) {
      const was = await sqlite.getTicket(t.id);
      const now = await reader.getTicket(newNumber.get(t.id) ?? -1);
      expect(now?.call?.uuid).toBe(was?.call?.uuid as string);
      expect({ ...now, id: 0, callId: 0, call: { ...now?.call, id: 0, ticketId: 0 } }).toEqual({ ...was, id: 0, callId: 0, call: { ...was?.call, id: 0, ticketId: 0 } } as never);
    }
    expect(await reader.countCalls()).toBe(18);

    const again = await copy(dir, sql, 5);
    expect(again.calls).toEqual({ total: 15, copied: 0, alreadyThere: 15, finished: 0 });
    expect(again.renumberedTickets).toEqual([]);
    expect((await counts(sql)).calls).toBe(18);
  });

  test("a copy cut off by a failing chunk completes on the next run, whole calls only, ticket numbers still kept", async () => {
    const dir = filledStore();
    const { sql, reader } = await database();
    // The ticket of the 14th call (customer Luc) fails its chunk: calls 13-15 in chunks of 4.
    await sql.unsafe(`CREATE FUNCTION refuse_luc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.customer = 'Luc' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_luc BEFORE INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION refuse_luc()`);
    await expect(copy(dir, sql, 4)).rejects.toThrow("refused for the test");
    const cut = await counts(sql);
    expect(cut.calls).toBe(12);
    const [orphans] = await sql`SELECT (SELECT count(*) FROM turns WHERE call_id NOT IN (SELECT id FROM calls))::int AS turns,
      (SELECT count(*) FROM calls WHERE uuid IN ('live-on-a', 'live-on-b', 'done-on-b'))::int AS late`;
    expect(orphans).toEqual({ turns: 0, late: 0 });

    await sql.unsafe("DROP TRIGGER refuse_luc ON tickets");
    const rest = await copy(dir, sql, 4);
    expect(rest).toMatchObject({ ids: "keep", calls: { total: 15, copied: 3, alreadyThere: 12 }, renumberedTickets: [] });
    await expectSameReads(sqliteReader(dir), reader);
  });

  test("copied while serve writes: the copy reads one instant; run again, calls ended since replace their copies, new calls come, ticket numbers kept until an appliance draws one", async () => {
    const dir = tempDir();
    const { unfinishedA } = fillStore(dir);
    const { sql, reader } = await database();
    let ticket = 0;
    const source = openCopySource(dir);
    const first = await copyStore(source, sql, {
      node: NODE,
      chunkCalls: 4,
      onProgress: (done) => {
        if (done !== 4) return;
        const serve = Store.open(dir, { node: { id: "app-a", url: "http://10.0.0.1:9091" } });
        serve.addTurn(unfinishedA, { speaker: "bot", text: "Je transfère", startedAt: T0 + 206_000, endedAt: T0 + 207_000 });
        serve.updateTicket(serve.getCall(unfinishedA)?.tickets[0]?.id as number, { status: "escalated", at: T0 + 207_500 });
        serve.endCall(unfinishedA, { endedAt: T0 + 208_000, reason: "transfer" });
        const next = serve.insertCall({ uuid: "after-first-copy", transport: "audiosocket", tenant: "default", caller: null, peer: "10.0.0.7:1", sampleRate: 8000, startedAt: T0 + 300_000 });
        ticket = serve.openTicket(next, { customer: "Nouveau", at: T0 + 300_500 });
        serve.close();
      },
    });
    source.close();
    expect(first).toMatchObject({ ids: "keep", calls: { total: 15, copied: 15 } });
    const copiedLive = await reader.getCall(unfinishedA);
    expect(copiedLive?.endedAt).toBeNull();
    expect(copiedLive?.turns.map((t) => t.text)).not.toContain("Je transfère");
    expect(copiedLive?.tickets[0]?.status).toBe("open");
    expect(ticket).toBeGreaterThan(0);

    const again = await copy(dir, sql);
    expect(again).toMatchObject({ ids: "keep", calls: { total: 16, copied: 2, alreadyThere: 14, finished: 1 }, renumberedTickets: [] });
    await expectSameReads(sqliteReader(dir), reader);
    expect((await reader.getTicket(ticket))?.customer).toBe("Nouveau");

    // An appliance has started on the database: from now on, copied rows take fresh numbers.
    await sql`SELECT nextval('tickets_id_seq')`;
    const later = Store.open(dir, { node: { id: "app-a", url: "http://10.0.0.1:9091" } });
    const last = later.insertCall({ uuid: "after-an-appliance", transport: "audiosocket", tenant: "default", caller: null, peer: "10.0.0.7:1", sampleRate: 8000, startedAt: T0 + 400_000 });
    const lastTicket = later.openTicket(last, { at: T0 + 400_500 });
    later.close();
    const third = await copy(dir, sql);
    expect(third).toMatchObject({ ids: "renumber", calls: { total: 17, copied: 1, alreadyThere: 16, finished: 0 }, renumberedTickets: [{ from: lastTicket, to: lastTicket + 1 }] });
  });

  test("PostgreSQL stopped in the middle of a copy: the next run completes it, no call twice, ticket numbers kept", async () => {
    const dir = filledStore();
    const url = await pg.database();
    const target = parseStoreUrl(url) as PgTarget;
    const sql = await connectPg(target, { max: 1 });
    await migratePg(sql, target);
    let stopping: Promise<void> | null = null;
    const source = openCopySource(dir);
    // Whether the stop lands before the last chunk depends on the machine's load: either way, the next run must leave the same store.
    await copyStore(source, sql, { node: NODE, chunkCalls: 1, onProgress: (done) => {
      if (done === 3) stopping = pg.cluster().stop();
    } }).catch(() => undefined);
    source.close();
    await stopping;
    await sql.close();
    await pg.cluster().start();

    const again = await connectPg(target, { max: 2 });
    const reader = new PgStoreReader(again);
    cleanups.push(() => reader.close());
    const rest = await copy(dir, again);
    expect(rest.ids).toBe("keep");
    expect(rest.calls.alreadyThere).toBeGreaterThanOrEqual(3);
    expect(rest.calls.copied + rest.calls.alreadyThere).toBe(15);
    await expectSameReads(sqliteReader(dir), reader);
  });

  test("calls with one hard-coded UUID starting in the same millisecond are each copied once, across chunks", async () => {
    const dir = tempDir();
    const s = Store.open(dir, { node: NODE });
    for (let i = 0; i < 3; i++) s.insertCall({ uuid: i === 1 ? "FIXED" : "fixed", transport: "audiosocket", tenant: "default", caller: `${i}`, peer: "10.0.0.7:1", sampleRate: 8000, startedAt: T0 });
    s.close();
    const { sql, reader } = await database();
    expect((await copy(dir, sql, 1)).calls).toEqual({ total: 3, copied: 3, alreadyThere: 0, finished: 0 });
    expect((await copy(dir, sql, 2)).calls).toEqual({ total: 3, copied: 0, alreadyThere: 3, finished: 0 });
    expect((await reader.listCalls()).map((c) => c.caller).sort()).toEqual(["0", "1", "2"]);
  });

  test("calls from before NODE_ID take the copy's node; a source at an older schema, missing or not a database is refused with what to do", async () => {
    const dir = tempDir();
    const s = Store.open(dir);
    s.insertCall({ uuid: "no-node", transport: "audiosocket", tenant: "default", caller: null, peer: "10.0.0.7:1", sampleRate: 8000, startedAt: T0 });
    s.close();
    const { sql, reader } = await database();
    await copy(dir, sql);
    expect((await reader.getCall("no-node"))?.node).toBe(NODE.id);
    expect((await reader.getCall("no-node"))?.nodeUrl).toBe(NODE.url);

    const db = new Database(`${dir}/voicebot.db`);
    db.run("DELETE FROM schema_migrations WHERE version >= 5");
    db.close();
    expect(() => openCopySource(dir)).toThrow(/schema version 4, this voicebot copies version 6: start `voicebot serve` once/);
    expect(() => openCopySource(join(dir, "nothing.db"))).toThrow(/no voicebot database at .*nothing\.db/);
    writeFileSync(join(dir, "notes.txt"), "not a database");
    expect(() => openCopySource(join(dir, "notes.txt"))).toThrow(/cannot read .*notes\.txt as a voicebot database: file is not a database/);
  });
});
