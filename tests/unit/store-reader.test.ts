/**
 * The store suite for reads, on both back-ends: one set of calls written through Store's writes
 * (SQLite), replayed row for row into a throw-away PostgreSQL, then every StoreReader question
 * asked of both must get the same answer (same rows, order, shapes and plain numbers).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import { parseStoreUrl } from "../../src/config/store-url.ts";
import type { CallCursor, CallFilter, CallPage } from "../../src/store/call-query.ts";
import type { StoreReader } from "../../src/store/contracts.ts";
import { connectPg, type PgTarget } from "../../src/store/pg/connect.ts";
import { migratePg } from "../../src/store/pg/migrate.ts";
import { closeInterruptedCalls } from "../../src/store/pg/pg-interrupted.ts";
import { PgStoreReader } from "../../src/store/pg/pg-reader.ts";
import { SqliteReader } from "../../src/store/sqlite-reader.ts";
import { Store } from "../../src/store/store.ts";
import type { TicketFilter, TicketPage } from "../../src/store/ticket-edits.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";
import { replaySqliteIntoPg } from "../support/pg-replay.ts";
import { fillStore, NODE_A, T0 } from "../support/store-fill.ts";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const pg = pgClusterForFile();

interface Pair {
  sqlite: StoreReader;
  pg: PgStoreReader;
  sql: SQL;
  store: Store;
  ids: ReturnType<typeof fillStore>;
  /** The SQLite store's data dir (recordings may go there). */
  dir: string;
  close(): Promise<void>;
}

/** A filled SQLite store and the same rows in a fresh PostgreSQL database. */
async function filledPair(): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-store-reader-"));
  const ids = fillStore(dir);
  const target = parseStoreUrl(await pg.database()) as PgTarget;
  const sql = await connectPg(target);
  await migratePg(sql, target);
  await replaySqliteIntoPg(`${dir}/voicebot.db`, sql);
  const store = Store.open(dir);
  const reader = new PgStoreReader(sql);
  const close = async (): Promise<void> => {
    store.close();
    await reader.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { sqlite: new SqliteReader(store), pg: reader, sql, store, ids, dir, close };
}

/** Both answer the same, or both refuse with the same message. */
async function same<T>(pair: Pair, ask: (r: StoreReader) => Promise<T>): Promise<T> {
  const settle = (r: StoreReader): Promise<{ ok: T } | { error: string }> =>
    ask(r).then((ok) => ({ ok }), (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
  const [fromSqlite, fromPg] = await Promise.all([settle(pair.sqlite), settle(pair.pg)]);
  expect(fromPg).toEqual(fromSqlite);
  if ("error" in fromSqlite) throw new Error(`both refused: ${fromSqlite.error}`);
  return fromSqlite.ok;
}

async function refusedAlike<T>(pair: Pair, ask: (r: StoreReader) => Promise<T>): Promise<string> {
  const [a, b] = await Promise.all([ask(pair.sqlite).then(() => "answered", (e: Error) => e.message), ask(pair.pg).then(() => "answered", (e: Error) => e.message)]);
  expect(b).toBe(a);
  return a;
}

/** Every page of a filter, following the cursors; the pages of both back-ends compared on the way. */
async function allPages(pair: Pair, filter: CallFilter, limit: number): Promise<number[]> {
  const ids: number[] = [];
  let after: CallCursor | null = null;
  for (let guard = 0; guard < 50; guard++) {
    const cursor: CallCursor | null = after;
    const page: CallPage = await same(pair, (r) => r.pageCalls(filter, limit, cursor));
    ids.push(...page.calls.map((c) => c.id));
    if (page.next === null) return ids;
    after = page.next;
  }
  throw new Error("more than 50 pages");
}

describe("the same reads on SQLite and PostgreSQL", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await filledPair();
  });
  afterAll(async () => {
    await pair.close();
  });

  test("lists and counts of calls", async () => {
    expect(await same(pair, (r) => r.countCalls())).toBe(15);
    const all = await same(pair, (r) => r.listCalls());
    expect(all.map((c) => c.uuid).slice(0, 2)).toEqual(["done-on-b", "live-on-b"]);
    expect(all.every((c) => typeof c.id === "number" && typeof c.startedAt === "number")).toBe(true);
    await same(pair, (r) => r.listCalls({ limit: 3, offset: 2 }));
    await same(pair, (r) => r.listCalls({ limit: 1, offset: 100 }));
    await same(pair, (r) => r.listCalls({ limit: 2, offset: -3 }));
    expect(await refusedAlike(pair, (r) => r.listCalls({ limit: 0 }))).toMatch(/list limit 0 is not allowed/);
  });

  test("one call by id, by id as digits, by UUID in any case (the latest of a repeated one), or none", async () => {
    const first = await same(pair, (r) => r.getCall(1));
    expect(first?.turns.map((t) => t.text)).toEqual(["Ma Box est hors service depuis ce matin", "Pouvez-vous redémarrer l'écran de la box ?"]);
    expect(first?.turns[0]?.timings.sttFinalAt).toBe(T0 + 3150);
    expect(first?.turns[1]?.interrupted).toBe(true);
    expect(first?.node).toBe(NODE_A.id);
    expect(first?.nodeUrl).toBe(NODE_A.url);
    expect(first?.recordings).toHaveLength(2);
    await same(pair, (r) => r.getCall("2"));
    const byUuid = await same(pair, (r) => r.getCall("AB12CD34-0000-4000-8000-000000000001"));
    expect(byUuid?.tenant).toBe("acme");
    await same(pair, (r) => r.getCall("ab12cd34-0000-4000-8000-000000000001"));
    expect(await same(pair, (r) => r.getCall(9999))).toBeNull();
    expect(await same(pair, (r) => r.getCall("no-such-call"))).toBeNull();
    expect(await same(pair, (r) => r.getCall("99999999999999999999999"))).toBeNull();
    for (let id = 1; id <= 15; id++) await same(pair, (r) => r.getCall(id));
  });

  test("live calls of every appliance, with their dialog state", async () => {
    const live = await same(pair, (r) => r.liveCalls());
    expect(live.map((c) => [c.uuid, c.state, c.node])).toEqual([["live-on-a", "DIAGNOSTIC", "app-a"], ["live-on-b", "WELCOME", "app-b"]]);
  });

  test("tickets: the list, by status, one with its call and changes", async () => {
    const tickets = await same(pair, (r) => r.listTickets());
    expect(tickets.length).toBeGreaterThan(5);
    for (const status of ["open", "resolved", "escalated", "abandoned", "nonsense"]) await same(pair, (r) => r.listTickets({ status }));
    await same(pair, (r) => r.listTickets({ limit: 2 }));
    for (const t of tickets) await same(pair, (r) => r.getTicket(t.id));
    expect(await same(pair, (r) => r.getTicket(12345))).toBeNull();
  });

  test("the console's history: each filter, paged to the end through the keyset cursor", async () => {
    const filters: CallFilter[] = [
      {},
      { tenant: "acme" },
      { caller: "+33611111111" },
      { endReason: "caller-hangup" },
      { ticketStatus: "open" },
      { from: T0 + 60_000, to: T0 + 200_000 },
      { tenant: "default", endReason: "completed", from: T0 },
    ];
    for (const filter of filters) {
      for (const limit of [1, 3, 50]) await allPages(pair, filter, limit);
    }
    // The two calls of the same millisecond both come, one page apart.
    const tied = await allPages(pair, { from: T0 + 60_000, to: T0 + 60_001 }, 1);
    expect(tied).toHaveLength(2);
  });

  test("the text search: words as prefixes, all in one turn, any case, accents or not, punctuation ignored", async () => {
    const found = async (text: string, more: CallFilter = {}): Promise<string[]> => {
      const ids = await allPages(pair, { text, ...more }, 2);
      const calls = await Promise.all(ids.map((id) => pair.pg.getCall(id)));
      return calls.map((c) => c?.uuid ?? "?");
    };
    expect(await found("box")).toEqual(["tie-call", "AB12CD34-0000-4000-8000-000000000001"]);
    expect(await found("BOX hors")).toEqual(["AB12CD34-0000-4000-8000-000000000001"]);
    expect(await found("ecran")).toEqual(["ab12cd34-0000-4000-8000-000000000001", "AB12CD34-0000-4000-8000-000000000001"]);
    expect(await found("Écran NOIR")).toEqual(["ab12cd34-0000-4000-8000-000000000001"]);
    expect(await found("redém")).toEqual(["AB12CD34-0000-4000-8000-000000000001"]);
    expect(await found("l'écran")).toHaveLength(2);
    expect(await found("box coupé")).toEqual([]);
    expect(await found("telephone")).toEqual(["live-on-a"]);
    expect(await found("box", { caller: "+33611111111" })).toHaveLength(2);
    expect(await found("ecran", { tenant: "acme" })).toHaveLength(1);
    expect(await found("\"box\" * (")).toHaveLength(2);
    for (const words of ["dupont", "jean dupont free", "free fr", "fr", "34 56", "33", "v2 5", "aide", "https", "30", "ecrivez"]) {
      expect(await found(words)).toEqual(["plain-7"]);
    }
    await same(pair, (r) => r.pageCalls({ text: "!!!" }, 10, null));
    await same(pair, (r) => r.pageCalls({ text: "" }, 10, null));
  });

  test("the console's ticket list: filters, paged by id", async () => {
    const filters: TicketFilter[] = [{}, { status: "open" }, { tenant: "acme" }, { problemType: "internet" }, { status: "resolved", tenant: "default" }];
    for (const filter of filters) {
      for (const limit of [1, 2, 50]) {
        let before: number | null = null;
        for (let guard = 0; guard < 30; guard++) {
          const from: number | null = before;
          const page: TicketPage = await same(pair, (r) => r.pageTickets(filter, limit, from));
          if (page.next === null) break;
          before = page.next;
        }
      }
    }
    expect(await refusedAlike(pair, (r) => r.pageTickets({}, 0, null))).toMatch(/list limit 0/);
  });
});

describe("writes through the reader: ticket edits and interrupted calls", () => {
  test("an edit changes the fields that differ, keeps who and when, alike on both", async () => {
    const pair = await filledPair();
    try {
      const edited = await same(pair, (r) => r.editTicket(1, { status: "open", notes: "rappeler", assignee: null }, "alice", T0 + 900_000));
      expect(edited?.notes).toBe("rappeler");
      await same(pair, (r) => r.editTicket(1, { status: "open", notes: "rappeler" }, "bob", T0 + 901_000));
      await same(pair, (r) => r.editTicket(1, { assignee: "carol", notes: null }, "bob", T0 + 902_000));
      const detail = await same(pair, (r) => r.getTicket(1));
      expect(detail?.changes.map((c) => [c.field, c.by])).toEqual([["status", "alice"], ["notes", "alice"], ["notes", "bob"], ["assignee", "bob"]]);
      expect(await same(pair, (r) => r.editTicket(4242, { notes: "x" }, "alice", T0))).toBeNull();
      expect(await refusedAlike(pair, (r) => r.editTicket(1, { status: "lost" }, "alice", T0))).toMatch(/ticket status "lost" is not allowed/);
    } finally {
      await pair.close();
    }
  });

  test("closeInterruptedCalls closes only this appliance's unfinished calls, as SQLite closes them", async () => {
    const pair = await filledPair();
    try {
      const now = T0 + 3_600_000;
      expect(await closeInterruptedCalls(pair.sql, NODE_A.id, now)).toBe(1);
      expect(await closeInterruptedCalls(pair.sql, NODE_A.id, now)).toBe(0);
      pair.store.closeInterruptedCalls(now);
      const closed = await same(pair, (r) => r.getCall(pair.ids.unfinishedA));
      expect(closed?.endReason).toBe("interrupted");
      expect(closed?.endedAt).toBe(T0 + 204_000);
      expect(closed?.tickets.map((t) => t.status)).toEqual(["incomplete"]);
      const other = await pair.pg.getCall(pair.ids.unfinishedB);
      expect(other?.endedAt).toBeNull();
      expect(other?.tickets.map((t) => t.status)).toEqual(["open"]);
      expect((await pair.pg.liveCalls()).map((c) => c.uuid)).toEqual(["live-on-b"]);
    } finally {
      await pair.close();
    }
  });

  test("a call recorded on this host past its last row ends where its recording ends, on both", async () => {
    const pair = await filledPair();
    try {
      // 210 s of 8 kHz s16le on disk, well past the call's last row (its turn ended 4 s after it started).
      const path = join(pair.dir, "live-on-a-caller.s16le");
      writeFileSync(path, "");
      truncateSync(path, 8000 * 2 * 210);
      const recordings = JSON.stringify([{ channel: "caller", path, sampleRate: 8000 }]);
      pair.store.setCallRecordings(pair.ids.unfinishedA, JSON.parse(recordings));
      await pair.sql`UPDATE calls SET recordings = ${recordings} WHERE id = ${pair.ids.unfinishedA}`;
      const now = T0 + 3_600_000;
      expect(await closeInterruptedCalls(pair.sql, NODE_A.id, now)).toBe(1);
      pair.store.closeInterruptedCalls(now);
      const closed = await same(pair, (r) => r.getCall(pair.ids.unfinishedA));
      expect(closed?.endedAt).toBe(T0 + 200_000 + 210_000);
      // Never after the restart.
      const early = await filledPair();
      try {
        await early.sql`UPDATE calls SET recordings = ${recordings} WHERE id = ${early.ids.unfinishedA}`;
        await closeInterruptedCalls(early.sql, NODE_A.id, T0 + 300_000);
        expect((await early.pg.getCall(early.ids.unfinishedA))?.endedAt).toBe(T0 + 300_000);
      } finally {
        await early.close();
      }
    } finally {
      await pair.close();
    }
  });
});
