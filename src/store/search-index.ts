import type { Database, Statement } from "bun:sqlite";

/** SQLite's LIMIT for "no limit". */
export const ALL_PENDING = -1;

/**
 * The full-text index of what was said (turns_fts, searched by the console), filled from turns
 * whose text is not indexed yet (text_indexed = 0, schema version 6). Indexing a text costs
 * 15–30 µs, as much as the rest of the turn's row: serve does it in small batches off the call
 * path (Store.indexSearchInBackground); other writers index each turn as it is added. A text
 * changed or a row deleted after indexing is kept in step by triggers.
 */
export class TurnSearchIndex {
  /** Indexes up to `limit` turns (ALL_PENDING: every one), oldest first; returns how many. */
  readonly index: (limit: number) => number;
  private readonly waitingStmt: Statement<{ one: number }, []>;

  constructor(db: Database) {
    const insert = db.prepare("INSERT INTO turns_fts(rowid, text) SELECT id, text FROM turns WHERE text_indexed = 0 ORDER BY id LIMIT ?");
    const mark = db.prepare("UPDATE turns SET text_indexed = 1 WHERE id IN (SELECT id FROM turns WHERE text_indexed = 0 ORDER BY id LIMIT ?)");
    // Both pick the same turns, and land together (a savepoint inside serve's batch): a text indexed
    // twice would leave a stale entry that no delete removes.
    this.index = db.transaction((limit: number): number => {
      insert.run(limit);
      return mark.run(limit).changes;
    });
    this.waitingStmt = db.query<{ one: number }, []>("SELECT 1 AS one FROM turns WHERE text_indexed = 0 LIMIT 1");
  }

  /** Some turn's text cannot be found by search yet (a lookup in the partial index of those). */
  get waiting(): boolean {
    return this.waitingStmt.get() !== null;
  }
}
