/** Reads of a running server's SQLite store from a test, beside the server that keeps writing it. */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import type { RunningServer } from "./harness.ts";

/** Rows for `sql`, through a read-only connection opened for this one query. */
export function queryStore<T>(server: Pick<RunningServer, "dataDir">, sql: string, ...args: (string | number)[]): T[] {
  const db = new Database(join(server.dataDir, "voicebot.db"), { readonly: true });
  try {
    return db.query<T, (string | number)[]>(sql).all(...args);
  } finally {
    db.close();
  }
}

/** The call's event kinds, oldest first. */
export function eventKinds(server: Pick<RunningServer, "dataDir">, callId: number): string[] {
  return queryStore<{ kind: string }>(server, "SELECT kind FROM events WHERE call_id = ? ORDER BY id", callId).map((e) => e.kind);
}

/**
 * The call asked for no transfer, or the PBX's answer to it is stored. That answer may land after
 * the call's end: the leg closes as soon as the PBX moves the caller.
 */
export function handOffSettled(kinds: readonly string[]): boolean {
  return !kinds.includes("transfer") || kinds.includes("transfer-sent") || kinds.includes("transfer-failed");
}
