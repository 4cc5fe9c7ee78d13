/**
 * install's check of a PostgreSQL STORE_URL before it is written to voicebot.env: it connects
 * with those credentials, reads the schema level (a store already shared by newer appliances is
 * refused), and says the round trip. Never prints the password.
 */
import { parseStoreUrl } from "../config/store-url.ts";
import { connectPg, PgStoreError } from "../store/pg/connect.ts";
import { pgSchemaVersion } from "../store/pg/migrate.ts";
import { PG_MIGRATIONS } from "../store/pg/migrations.ts";
import type { KeyCheck } from "./prompts.ts";

export async function probeStoreUrl(url: string): Promise<KeyCheck> {
  let target;
  try {
    target = parseStoreUrl(url);
  } catch (err) {
    return { ok: false, detail: `STORE_URL ${err instanceof Error ? err.message : String(err)}` };
  }
  if (target.kind !== "postgres") return { ok: true, detail: "SQLite in the data dir" };
  try {
    const sql = await connectPg(target, { max: 1, connectTimeoutSeconds: 5 });
    try {
      const started = performance.now();
      const version = await pgSchemaVersion(sql);
      const ms = Math.round(performance.now() - started);
      const latest = PG_MIGRATIONS.length;
      if (version > latest) return { ok: false, detail: `${target.shown} is at schema ${version}, newer than this voicebot (${latest}): install the newer voicebot the other appliances run` };
      const schema = version === 0 ? "empty (serve creates the tables at its first start)" : `schema ${version} of ${latest}`;
      return { ok: true, detail: `${target.shown}: connected, ${schema}, ${ms} ms round trip` };
    } finally {
      await sql.close();
    }
  } catch (err) {
    return { ok: false, detail: err instanceof PgStoreError ? err.message : `${target.shown}: ${err instanceof Error ? err.message : String(err)}` };
  }
}
