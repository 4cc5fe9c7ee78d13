/**
 * The store `voicebot serve` writes and reads, whichever holds it: bun:sqlite in the data dir
 * (STORE_URL unset or sqlite:) or PostgreSQL shared by several appliances (STORE_URL postgres://).
 */
import type { StoreTarget } from "../config/store-url.ts";
import type { Logger } from "../log.ts";
import type { StoreNode } from "./calls.ts";
import type { CallWriter, StoreReader } from "./contracts.ts";
import { HistoryReader } from "./history-reader.ts";
import { OpsWriter, type IdSource } from "./ops-writer.ts";
import type { WriteQueueStatus } from "./pg/write-queue.ts";
import { SqliteReader } from "./sqlite-reader.ts";
import { SqliteWriteQueue, type SqliteWriterStatus } from "./sqlite-write-queue.ts";
import { Store } from "./store.ts";

export interface StoreSettings {
  dataDir: string;
  store: StoreTarget;
  /** This appliance (NODE_ID, NODE_URL), stamped on each call it takes. */
  node: StoreNode & { id: string };
}

/** What /healthz, /metrics and doctor say of the store. */
export type StoreHealth =
  | ({ backend: "sqlite" } & SqliteWriterStatus)
  | ({ backend: "postgres"; where: string } & WriteQueueStatus);

export interface ServeStore {
  readonly writer: CallWriter;
  readonly reader: StoreReader;
  health(): StoreHealth;
  /** Stop: every write committed (PostgreSQL: or kept in the journal for the next start). */
  close(): Promise<void>;
}

/**
 * Opens the store for serve. Calls a crash of THIS appliance left open end as "interrupted" (on
 * PostgreSQL once the journal of that run is sent, in the background); `startedAt` is now.
 */
export async function openServeStore(s: StoreSettings, log: Logger, startedAt: number): Promise<ServeStore> {
  if (s.store.kind === "postgres") {
    const { openPostgresServeStore } = await import("./pg/pg-serve-store.ts");
    return openPostgresServeStore({ target: s.store, dataDir: s.dataDir, node: s.node }, log, startedAt);
  }
  return openSqliteServeStore(s, log, startedAt);
}

/** How long a stop waits for the writer thread's last commits. */
const CLOSE_WAIT_MS = 10_000;

/** serve is the only process that adds rows, so it counts ids on from the highest there. */
class IdCounter implements IdSource {
  constructor(private last: number) {}

  take(): number {
    return ++this.last;
  }
}

/**
 * serve on SQLite: this thread opens the file (migrations, calls a crash left open) and reads; every
 * write goes to the writer thread (sqlite-writer-worker.ts) with its id given here.
 */
async function openSqliteServeStore(s: StoreSettings, log: Logger, startedAt: number): Promise<ServeStore> {
  const store = Store.open(s.dataDir, { node: s.node });
  const interrupted = store.closeInterruptedCalls(startedAt);
  if (interrupted > 0) log.warn("calls left open by an earlier crash were closed", { count: interrupted });
  const last = store.lastIds();
  const queue = await SqliteWriteQueue.start(s.dataDir, s.node, log);
  const ids = { calls: new IdCounter(last.calls), turns: new IdCounter(last.turns), events: new IdCounter(last.events), tickets: new IdCounter(last.tickets) };
  const reader = new SqliteReader(store, new HistoryReader(s.dataDir), queue);
  return {
    writer: new OpsWriter(queue, ids, s.node),
    reader,
    health: () => ({ backend: "sqlite", ...queue.status() }),
    close: async () => {
      await reader.close();
      await queue.close(CLOSE_WAIT_MS);
      store.close();
    },
  };
}
