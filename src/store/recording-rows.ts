/**
 * What `recordings convert` reads and changes of the calls whose files it converts or prunes:
 * the calls THIS appliance took (their files are on its disk), in its SQLite file or, with a
 * PostgreSQL store, among the rows every appliance shares.
 */
import { existsSync } from "node:fs";
import type { Config } from "../config/schema.ts";
import { databasePath } from "./db.ts";
import { connectCheckedPg } from "./pg/migrate.ts";
import type { RecordingFile } from "./shapes.ts";
import { Store } from "./store.ts";

export interface RecordingCall {
  id: number;
  ended: boolean;
  recordings: RecordingFile[];
}

export interface RecordingRows {
  /** The latest call with this UUID that this appliance took; null when none. */
  call(uuid: string): Promise<RecordingCall | null>;
  setRecordings(callId: number, files: readonly RecordingFile[]): Promise<void>;
  close(): Promise<void>;
}

/** null: no store yet (SQLite file never created): files are converted, no row to repoint. */
export async function openRecordingRows(config: Pick<Config, "dataDir" | "store" | "nodeId">): Promise<RecordingRows | null> {
  const target = config.store;
  if (target.kind === "postgres") {
    const sql = await connectCheckedPg(target, { max: 1 });
    return {
      call: async (uuid) => {
        const [row] = await sql`SELECT id, ended_at IS NOT NULL AS ended, recordings FROM calls
          WHERE lower(uuid) = lower(${uuid}) AND node_id = ${config.nodeId} ORDER BY started_at DESC, id DESC LIMIT 1`;
        if (row === undefined) return null;
        const r = row as { id: string | number; ended: boolean; recordings: string };
        return { id: Number(r.id), ended: r.ended, recordings: parseFiles(r.recordings) };
      },
      setRecordings: async (callId, files) => {
        await sql`UPDATE calls SET recordings = ${JSON.stringify(files)} WHERE id = ${callId}`;
      },
      close: () => sql.close(),
    };
  }
  if (!existsSync(databasePath(config.dataDir))) return null;
  const store = Store.open(config.dataDir);
  return {
    call: async (uuid) => {
      const c = store.getCall(uuid);
      return c === null ? null : { id: c.id, ended: c.durationMs !== null, recordings: c.recordings };
    },
    setRecordings: async (callId, files) => store.setCallRecordings(callId, files),
    close: async () => store.close(),
  };
}

function parseFiles(json: string): RecordingFile[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? (parsed as RecordingFile[]) : [];
}
