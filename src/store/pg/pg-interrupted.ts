/**
 * At start-up on a shared store: the calls THIS appliance left without an end (it crashed or was
 * killed) end as "interrupted", with the rules of ../calls.ts closeInterrupted. Other appliances'
 * unfinished calls are theirs: most are in progress right now.
 */
import type { SQL } from "bun";
import { INTERRUPTED_DETAIL, parseRecordings } from "../calls.ts";
import { recordedMs } from "../recorded-length.ts";
import { num, type PgRow } from "./pg-rows.ts";

/** The call's last sign of life: its last row (turn, event, answer), as ../calls.ts LAST_ACTIVITY. */
const LAST_ACTIVITY = `GREATEST(started_at, COALESCE(answered_at, 0),
  COALESCE((SELECT MAX(GREATEST(started_at, COALESCE(ended_at, 0))) FROM turns WHERE call_id = calls.id), 0),
  COALESCE((SELECT MAX(at) FROM events WHERE call_id = calls.id), 0))`;

/**
 * Ends `nodeId`'s unfinished calls at their last sign of life (or the end of their recording on
 * this host's disk, when later; never after `now`); their open tickets become "incomplete".
 * Returns how many calls it closed.
 */
export async function closeInterruptedCalls(sql: SQL, nodeId: string, now: number): Promise<number> {
  const unfinished: PgRow[] = await sql`SELECT id, started_at, recordings FROM calls WHERE ended_at IS NULL AND node_id = ${nodeId}`;
  const recordedEnds = unfinished.map((c) => {
    const startedAt = num(c.started_at);
    const recorded = recordedMs(parseRecordings(String(c.recordings)), startedAt);
    return { id: num(c.id), end: recorded === null ? 0 : startedAt + recorded };
  });
  if (recordedEnds.length === 0) return 0;
  return sql.begin(async (tx) => {
    await tx`UPDATE tickets SET status = 'incomplete', updated_at = ${now}
      WHERE status = 'open' AND call_id IN (SELECT id FROM calls WHERE ended_at IS NULL AND node_id = ${nodeId})`;
    let closed = 0;
    for (const { id, end } of recordedEnds) {
      const result = await tx.unsafe(
        `UPDATE calls SET ended_at = GREATEST(started_at, LEAST($1::bigint, GREATEST(${LAST_ACTIVITY}, $2::bigint))), end_reason = 'interrupted', end_detail = $3
         WHERE id = $4 AND ended_at IS NULL`,
        [now, end, INTERRUPTED_DETAIL, id],
      );
      closed += Number(result.count ?? 0);
    }
    return closed;
  });
}

