import { loadConfig } from "../config/load.ts";
import { PgStoreReader } from "../store/pg/pg-reader.ts";
import { SqliteReader } from "../store/sqlite-reader.ts";
import { Store, type StoreReader } from "../store/store.ts";
import { UsageError } from "./command.ts";

/** What `calls` and `tickets` share: where the database is, and how to print. */
export const STORE_READER_OPTIONS = {
  "data-dir": { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
} as const;

export const STORE_READER_HELP = `  --json            print one JSON document instead of text
  --data-dir DIR    data directory (default: VOICEBOT_DATA_DIR, else ./data, or /var/lib/voicebot when installed)
  --config FILE     env file to read settings from (default: VOICEBOT_CONFIG, else /etc/voicebot/voicebot.env if present)
  -h, --help        show this help`;

/** A store opened for reading, and where it is, as messages name it (never with a password). */
export interface OpenedReader {
  reader: StoreReader;
  where: string;
  close(): Promise<void>;
}

/**
 * Opens the store read only (safe while `voicebot serve` writes to it): the data dir's SQLite
 * file, or the PostgreSQL of STORE_URL, which every appliance sharing it writes to. A missing
 * database is reported on stderr and gives null: the command exits 1.
 */
export async function openStoreReadonly(command: string, flags: { "data-dir"?: string; config?: string }): Promise<OpenedReader | null> {
  const { dataDir, store: target } = loadConfig({ config: flags.config, dataDir: flags["data-dir"] });
  try {
    if (target.kind === "postgres") {
      const reader = await PgStoreReader.open(target, { max: 2 });
      return { reader, where: target.shown, close: () => reader.close() };
    }
    const store = Store.open(dataDir, { readonly: true });
    const reader = new SqliteReader(store);
    return { reader, where: store.path, close: async () => { await reader.close(); store.close(); } };
  } catch (err) {
    process.stderr.write(`voicebot ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return null;
  }
}

export function parseLimit(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 10000)) throw new UsageError(`--limit ${JSON.stringify(value)} is not allowed: a whole number from 1 to 10000`);
  return n;
}
