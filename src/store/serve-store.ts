/**
 * The store `voicebot serve` writes and reads, whichever holds it: bun:sqlite in the data dir
 * (STORE_URL unset or sqlite:) or PostgreSQL shared by several appliances (STORE_URL postgres://).
 */
import type { StoreTarget } from "../config/store-url.ts";
import type { Logger } from "../log.ts";
import type { StoreNode } from "./calls.ts";
import type { CallWriter, StoreReader } from "./contracts.ts";
import { HistoryReader } from "./history-reader.ts";
import type { WriteQueueStatus } from "./pg/write-queue.ts";
import { SqliteReader } from "./sqlite-reader.ts";
import { Store } from "./store.ts";

export interface StoreSettings {
  dataDir: string;
  store: StoreTarget;
  /** This appliance (NODE_ID, NODE_URL), stamped on each call it takes. */
  node: StoreNode & { id: string };
}

/** What /healthz, /metrics and doctor say of the store. */
export type StoreHealth =
  | { backend: "sqlite"; state: "ok" }
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

function openSqliteServeStore(s: StoreSettings, log: Logger, startedAt: number): ServeStore {
  const store = Store.open(s.dataDir, { node: s.node });
  store.checkpointInBackground(log);
  const interrupted = store.closeInterruptedCalls(startedAt);
  if (interrupted > 0) log.warn("calls left open by an earlier crash were closed", { count: interrupted });
  store.batchWritesPerTurn(log);
  store.indexSearchInBackground(log);
  const reader = new SqliteReader(store, new HistoryReader(s.dataDir));
  return {
    writer: store,
    reader,
    health: () => ({ backend: "sqlite", state: "ok" }),
    close: async () => {
      await reader.close();
      await store.stopBackgroundCheckpoints();
      store.close();
    },
  };
}
