/**
 * The PostgreSQL writer against a real throw-away PostgreSQL: ids at once, rows in order, ticket
 * numbers unique across two appliances, and an outage that loses nothing (journal, restart).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQL } from "bun";
import { parseStoreUrl } from "../../src/config/store-url.ts";
import { rootLogger } from "../../src/log.ts";
import { connectPg, pgClient, type PgTarget } from "../../src/store/pg/connect.ts";
import { migratePg } from "../../src/store/pg/migrate.ts";
import { connectWhenUp } from "../../src/store/pg/pg-serve-store.ts";
import { OpsWriter } from "../../src/store/ops-writer.ts";
import { fillIdPools, newIdPools } from "../../src/store/pg/id-pool.ts";
import { WriteQueue, type Connection } from "../../src/store/pg/write-queue.ts";
import { CutProxy } from "../../src/simulate/cut-proxy.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";

const pg = pgClusterForFile();
const log = rootLogger.child("test");

interface Appliance {
  writer: OpsWriter;
  queue: WriteQueue;
  journal: string;
  close(): Promise<number>;
}

async function schema(): Promise<{ target: PgTarget; sql: SQL }> {
  const target = parseStoreUrl(await pg.database()) as PgTarget;
  const sql = await connectPg(target);
  await migratePg(sql, target);
  return { target, sql };
}

async function appliance(target: PgTarget, node: string, dir = mkdtempSync(join(tmpdir(), "vb-pgw-"))): Promise<Appliance> {
  let client = pgClient(target, { max: 1, connectTimeoutSeconds: 2 });
  const conn: Connection = {
    current: () => client,
    reset: () => {
      void client.close({ timeout: 0 }).catch(() => undefined);
      client = pgClient(target, { max: 1, connectTimeoutSeconds: 2 });
    },
  };
  const pools = newIdPools(conn.current, () => undefined);
  await fillIdPools(pools);
  const journal = join(dir, "store-journal.jsonl");
  const queue = new WriteQueue(conn, journal, log);
  queue.start();
  return {
    writer: new OpsWriter(queue, pools, { id: node, url: `http://${node}:8080` }),
    queue,
    journal,
    close: async () => {
      const left = await queue.close(2000);
      await client.close({ timeout: 0 }).catch(() => undefined);
      return left;
    },
  };
}

/** One keypad call's writes: a call, two turns, an event, a ticket opened then resolved. */
function call(w: OpsWriter, uuid: string, at: number): { callId: number; ticket: number } {
  const callId = w.insertCall({ uuid, transport: "audiosocket", tenant: "default", caller: "0600000000", peer: "127.0.0.1:1", sampleRate: 8000, startedAt: at });
  w.setCallAnswered(callId, at + 10);
  const bot = w.addTurn(callId, { speaker: "bot", text: "Bonjour", startedAt: at + 20 });
  w.setTurnTimings(bot, { firstFrameAt: at + 21.4 });
  w.finishTurn(bot, { endedAt: at + 900, interrupted: false });
  w.addTurn(callId, { speaker: "caller", text: "1", startedAt: at + 1000 });
  w.addEvent(callId, { kind: "dtmf", detail: "1", at: at + 1000 });
  const ticket = w.openTicket(callId, { at: at + 1100, problemType: "internet" });
  w.updateTicket(ticket, { status: "resolved", at: at + 1200 });
  w.endCall(callId, { endedAt: at + 2000, reason: "hangup" });
  return { callId, ticket };
}

async function counts(sql: SQL): Promise<Record<string, number>> {
  const [r] = await sql`SELECT (SELECT count(*) FROM calls)::int AS calls, (SELECT count(*) FROM turns)::int AS turns,
    (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM tickets)::int AS tickets,
    (SELECT count(*) FROM calls WHERE ended_at IS NULL)::int AS open`;
  return r as Record<string, number>;
}

describe("PostgreSQL writer", () => {
  test("writes land in order with the ids handed out at once; two appliances never share a ticket number", async () => {
    const { target, sql } = await schema();
    const a = await appliance(target, "vb-a");
    const b = await appliance(target, "vb-b");
    const tickets: number[] = [];
    for (let i = 0; i < 30; i++) {
      tickets.push(call(a.writer, crypto.randomUUID(), 1_800_000_000_000 + i).ticket);
      tickets.push(call(b.writer, crypto.randomUUID(), 1_800_000_000_000 + i).ticket);
    }
    await Promise.all([a.queue.whenDrained(), b.queue.whenDrained()]);
    expect(new Set(tickets).size).toBe(60);
    expect(await counts(sql)).toEqual({ calls: 60, turns: 120, events: 60, tickets: 60, open: 0 });
    const [t] = await sql`SELECT t.status, t.tenant, c.node_id, c.node_url, u.first_frame_at::float8 AS ff FROM tickets t JOIN calls c ON c.id = t.call_id JOIN turns u ON u.call_id = c.id AND u.speaker = 'bot' WHERE t.id = ${tickets[0] as number}`;
    expect(t).toEqual({ status: "resolved", tenant: "default", node_id: "vb-a", node_url: "http://vb-a:8080", ff: 1_800_000_000_021 });
    expect(a.queue.status()).toMatchObject({ state: "ok", queued: 0, dropped: 0 });
    expect(await a.close()).toBe(0);
    expect(await b.close()).toBe(0);
    await sql.close();
  }, 60_000);

  test("PostgreSQL stopped: calls go on from the reserve, writes wait in the journal, and all of them land when it is back", async () => {
    const { target, sql } = await schema();
    await sql.close();
    const a = await appliance(target, "vb-a");
    call(a.writer, crypto.randomUUID(), 1_800_000_000_000);
    await a.queue.whenDrained();
    await pg.cluster().stop();
    const during = Array.from({ length: 15 }, (_, i) => call(a.writer, crypto.randomUUID(), 1_800_000_001_000 + i));
    while (a.queue.status().state !== "degraded") await Bun.sleep(50);
    expect(a.queue.status().queued).toBeGreaterThan(0);
    expect(existsSync(a.journal)).toBe(true);
    await pg.cluster().start();
    await a.queue.whenDrained();
    expect(a.queue.status()).toMatchObject({ state: "ok", queued: 0, journaled: 0, dropped: 0 });
    expect(existsSync(a.journal)).toBe(false);
    const check = await connectPg(target);
    expect(await counts(check)).toEqual({ calls: 16, turns: 32, events: 16, tickets: 16, open: 0 });
    expect(new Set(during.map((d) => d.ticket)).size).toBe(15);
    await a.close();
    await check.close();
  }, 90_000);

  test("writes left in the journal at a stop are sent by the next start, once", async () => {
    const { target } = await schema();
    const dir = mkdtempSync(join(tmpdir(), "vb-pgw-"));
    const first = await appliance(target, "vb-a", dir);
    await pg.cluster().stop();
    for (let i = 0; i < 5; i++) call(first.writer, crypto.randomUUID(), 1_800_000_000_000 + i);
    expect(await first.close()).toBeGreaterThan(0);
    expect(existsSync(first.journal)).toBe(true);
    await pg.cluster().start();
    const second = await appliance(target, "vb-a", dir);
    await second.queue.whenDrained();
    const check = await connectPg(target);
    expect(await counts(check)).toEqual({ calls: 5, turns: 10, events: 5, tickets: 5, open: 0 });
    expect(existsSync(second.journal)).toBe(false);
    await second.close();
    await check.close();
  }, 90_000);

  test("a write PostgreSQL refuses is dropped alone, with the rest of its batch kept", async () => {
    const { target, sql } = await schema();
    const a = await appliance(target, "vb-a");
    const { callId } = call(a.writer, crypto.randomUUID(), 1_800_000_000_000);
    a.writer.addTurn(987_654_321, { speaker: "bot", text: "no such call", startedAt: 1_800_000_000_500 });
    a.writer.addEvent(callId, { kind: "state", detail: "MENU->DONE", at: 1_800_000_003_000 });
    await a.queue.whenDrained();
    expect(a.queue.status().dropped).toBe(1);
    expect(await counts(sql)).toEqual({ calls: 1, turns: 2, events: 2, tickets: 1, open: 0 });
    await a.close();
    await sql.close();
  }, 60_000);

  test("start-up waits for an unreachable PostgreSQL, but not for wrong credentials", async () => {
    const { target, sql } = await schema();
    await sql.close();
    await pg.cluster().stop();
    let connected = false;
    const waiting = connectWhenUp(target, log, 30_000, 100).then((c) => {
      connected = true;
      return c;
    });
    await Bun.sleep(500);
    expect(connected).toBe(false);
    await pg.cluster().start();
    const up = await waiting;
    expect(await up`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    await up.close();
    const wrong = parseStoreUrl(target.url.replace(/:[^:@/]*@/, ":not-the-password@")) as PgTarget;
    // Waiting longer than this test may run: only an immediate refusal lets it pass.
    await expect(connectWhenUp(wrong, log, 600_000, 100)).rejects.toThrow("refused the user or password");
  }, 60_000);

  test("PostgreSQL stalled (connections open, nothing answered): the batch is abandoned after 5 s, writes wait in the journal, then all land", async () => {
    const { target, sql } = await schema();
    const u = new URL(target.url);
    const relay = await CutProxy.start("127.0.0.1", Number(u.port));
    u.port = String(relay.port);
    const a = await appliance(parseStoreUrl(u.toString()) as PgTarget, "vb-a");
    call(a.writer, crypto.randomUUID(), 1_800_000_000_000);
    await a.queue.whenDrained();
    relay.stall(8000);
    for (let i = 1; i <= 5; i++) call(a.writer, crypto.randomUUID(), 1_800_000_000_000 + i);
    while (a.queue.status().state !== "degraded") await Bun.sleep(100);
    expect(a.queue.status().lastError).toContain("did not commit a batch");
    expect(existsSync(a.journal)).toBe(true);
    await a.queue.whenDrained();
    expect(a.queue.status()).toMatchObject({ state: "ok", queued: 0, dropped: 0 });
    expect(await counts(sql)).toEqual({ calls: 6, turns: 12, events: 6, tickets: 6, open: 0 });
    await a.close();
    await relay.close();
    await sql.close();
  }, 60_000);
});
