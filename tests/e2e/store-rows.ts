/**
 * Reading a running server's store from an e2e test: read-only, one connection per query, so the
 * server's own writes go on undisturbed.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";

export function queryStore<T>(server: { dataDir: string }, sql: string, ...params: (string | number)[]): T[] {
  const d = new Database(join(server.dataDir, "voicebot.db"), { readonly: true });
  try {
    return d.query<T, (string | number)[]>(sql).all(...params);
  } finally {
    d.close();
  }
}

/** The call's row once the server has closed it (the caller may see the hang-up first); after 5 s, as it is. */
export async function endedCallRow(server: { dataDir: string }, uuid: string): Promise<{ id: number; end_reason: string }> {
  for (let i = 0; ; i++) {
    const row = queryStore<{ id: number; end_reason: string | null }>(server, "SELECT id, end_reason FROM calls WHERE uuid = ? ORDER BY id DESC LIMIT 1", uuid)[0];
    if ((row && row.end_reason !== null) || i === 100) return row as { id: number; end_reason: string };
    await Bun.sleep(50);
  }
}
