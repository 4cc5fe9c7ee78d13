/**
 * The rows of a SQLite store, replayed into a PostgreSQL store with plain INSERTs: the same ids,
 * the same values. The store suite fills a store through Store's writes, replays it here, and
 * then asks both back-ends the same questions. The sequences move past the ids copied, as a writer
 * that reserves ids later expects.
 */
import { Database } from "bun:sqlite";
import type { SQL } from "bun";

const TABLES = ["calls", "turns", "tickets", "events", "ticket_changes"] as const;
/** SQLite's own bookkeeping, with no column in PostgreSQL (turns.text_indexed: search-index.ts). */
const SQLITE_ONLY = new Set(["text_indexed"]);

export async function replaySqliteIntoPg(sqlitePath: string, sql: SQL): Promise<void> {
  const db = new Database(sqlitePath, { readonly: true });
  try {
    await sql.begin(async (tx) => {
      for (const table of TABLES) {
        const rows = db.query<Record<string, string | number | null>, []>(`SELECT * FROM ${table} ORDER BY id`).all();
        for (const row of rows) {
          const columns = Object.keys(row).filter((c) => !SQLITE_ONLY.has(c));
          const values = columns.map((c) => (table === "turns" && c === "interrupted" ? row[c] === 1 : row[c]));
          await tx.unsafe(
            `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
            values,
          );
        }
        await tx.unsafe(`SELECT setval('${table}_id_seq', GREATEST((SELECT MAX(id) FROM ${table}), 1))`);
      }
    });
  } finally {
    db.close();
  }
}
