import type { SQL } from "bun";
import { join } from "node:path";
import type { Logger } from "../../log.ts";
import type { StoreNode } from "../calls.ts";
import type { ServeStore } from "../serve-store.ts";
import { connectPg, pgClient, PgStoreError, type PgTarget } from "./connect.ts";
import { migratePg } from "./migrate.ts";
import { closeInterruptedCalls } from "./pg-interrupted.ts";
import { PgStoreReader } from "./pg-reader.ts";
import { OpsWriter } from "../ops-writer.ts";
import { fillIdPools, newIdPools } from "./id-pool.ts";
import { WriteQueue, type Connection } from "./write-queue.ts";

export const JOURNAL_FILE = "store-journal.jsonl";

/**
 * At start-up, how long an unreachable PostgreSQL is waited for (the appliance does not listen
 * meanwhile, so the PBX sends calls to the others) before serve gives up and systemd starts it again.
 */
const START_WAIT_MS = 60_000;
const START_RETRY_MS = 2_000;

/** How long a stop waits for the last writes before leaving them in the journal. */
const CLOSE_WAIT_MS = 5_000;

export interface PostgresTarget {
  target: PgTarget;
  dataDir: string;
  node: StoreNode & { id: string };
}

/**
 * serve on PostgreSQL: the schema brought up to date, id pools reserved (start-up waits for
 * both), then writes go through the queue and its journal, and reads straight to PostgreSQL.
 */
export async function openPostgresServeStore(t: PostgresTarget, log: Logger, startedAt: number): Promise<ServeStore> {
  const where = t.target.shown;
  const main = await connectWhenUp(t.target, log, START_WAIT_MS);
  await migratePg(main, t.target);
  // Writes go one transaction at a time, in order, on a connection of their own.
  let writeSql = pgClient(t.target, { max: 1 });
  const conn: Connection = {
    current: () => writeSql,
    reset: () => {
      const old = writeSql;
      writeSql = pgClient(t.target, { max: 1 });
      void old.close({ timeout: 0 }).catch(() => undefined);
    },
  };
  const poolError = (sequence: string, err: unknown): void => {
    log.warn("store: ids could not be reserved ahead; retried at the next call", { sequence, error: err instanceof Error ? err.message : String(err) });
  };
  const pools = newIdPools(conn.current, poolError);
  await fillIdPools(pools);
  const queue = new WriteQueue(conn, join(t.dataDir, JOURNAL_FILE), log);
  queue.start();
  void queue.whenDrained().then(async () => {
    const n = await closeInterruptedCalls(main, t.node.id, startedAt);
    if (n > 0) log.warn("calls left open by an earlier crash were closed", { count: n });
  }).catch((err: unknown) => log.error("store: calls left open by an earlier crash could not be closed", { error: err instanceof Error ? err.message : String(err) }));
  const reader = new PgStoreReader(main);
  log.info("store: PostgreSQL", { where, node: t.node.id });
  return {
    writer: new OpsWriter(queue, pools, t.node),
    reader,
    health: () => ({ backend: "postgres", where, ...queue.status() }),
    close: async () => {
      const left = await queue.close(CLOSE_WAIT_MS);
      if (left > 0) log.warn("store: writes PostgreSQL has not taken stay in the journal for the next start", { left });
      await reader.close();
      await Promise.all([writeSql.close({ timeout: 1 }), main.close({ timeout: 1 })]);
    },
  };
}

/**
 * The first connection. An unreachable server (booting with this host, restarting) is waited for;
 * wrong credentials, a missing database or TLS trouble stop start-up at once: waiting fixes none.
 */
export async function connectWhenUp(target: PgTarget, log: Logger, waitMs: number, retryMs = START_RETRY_MS): Promise<SQL> {
  const deadline = Date.now() + waitMs;
  for (let warned = false; ; warned = true) {
    try {
      return await connectPg(target);
    } catch (err) {
      if (!(err instanceof PgStoreError) || err.failure !== "unreachable" || Date.now() + retryMs > deadline) throw err;
      if (!warned) log.warn("store: PostgreSQL cannot be reached; waiting for it before listening", { where: target.shown, waitSeconds: Math.round(waitMs / 1000), error: err.message });
      await Bun.sleep(retryMs);
    }
  }
}
