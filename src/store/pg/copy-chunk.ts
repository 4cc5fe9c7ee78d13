/**
 * The PostgreSQL side of `voicebot store copy`: one chunk of source calls in one transaction,
 * each new call with all its turns, events, tickets and ticket changes (a call lands whole or not
 * at all). A call already there, the same (lower(uuid), started_at, node_id) (the n-th such call of
 * the source is the n-th such copy), is skipped whole, unless it was copied while still going and
 * has ended since: that copy is then replaced by the whole call.
 * A transaction-level advisory lock makes two copies into one database take turns, so neither
 * inserts a call the other is inserting.
 */
import type { SQL } from "bun";
import type { SourceChunk, SourceRow } from "./copy-source.ts";

/** The key of the copy's advisory lock ("vbcp" in ASCII), apart from the schema's. */
export const COPY_LOCK_KEY = 0x76626370;

/** "keep": the source ids (a fresh database); "renumber": fresh ids from the shared sequences. */
export type IdMode = "keep" | "renumber";

/** The appliance stamped on calls that have none (copied from a store that predates NODE_ID). */
export interface CopyNode {
  id: string;
  url: string;
}

export interface ChunkResult {
  /** Calls copied, including those `finished`. */
  copied: number;
  already: number;
  /** Calls an earlier copy took while they were still going, copied again now that they have ended. */
  finished: number;
  turns: number;
  events: number;
  tickets: number;
  changes: number;
  /** Ticket numbers that changed, source → target. */
  renumbered: { from: number; to: number }[];
}

type Kind = "int" | "text" | "bool";
type Columns = readonly (readonly [string, Kind])[];

const CALLS: Columns = [["id", "int"], ["uuid", "text"], ["transport", "text"], ["tenant", "text"], ["caller", "text"], ["dnis", "text"], ["peer", "text"],
  ["sample_rate", "int"], ["started_at", "int"], ["answered_at", "int"], ["ended_at", "int"], ["end_reason", "text"], ["end_detail", "text"],
  ["recordings", "text"], ["node_id", "text"], ["node_url", "text"]];
const TURNS: Columns = [["id", "int"], ["call_id", "int"], ["speaker", "text"], ["text", "text"], ["started_at", "int"], ["ended_at", "int"],
  ["interrupted", "bool"], ["speech_end_at", "int"], ["stt_final_at", "int"], ["llm_first_token_at", "int"], ["tts_first_byte_at", "int"],
  ["first_frame_at", "int"], ["last_frame_at", "int"], ["barge_in_at", "int"], ["llm_provider", "text"], ["reply_id", "int"]];
const EVENTS: Columns = [["id", "int"], ["call_id", "int"], ["kind", "text"], ["detail", "text"], ["at", "int"]];
const TICKETS: Columns = [["id", "int"], ["call_id", "int"], ["customer", "text"], ["phone", "text"], ["problem_type", "text"], ["description", "text"],
  ["status", "text"], ["created_at", "int"], ["updated_at", "int"], ["tenant", "text"], ["notes", "text"], ["assignee", "text"]];
const CHANGES: Columns = [["id", "int"], ["ticket_id", "int"], ["field", "text"], ["old_value", "text"], ["new_value", "text"], ["by", "text"], ["at", "int"]];

/** Parameters per statement: PostgreSQL takes at most 65535. */
const MAX_PARAMS = 30_000;

/** A source value as the column takes it: SQLite's 0/1 as a boolean, and a stray fractional ms (older rows) rounded. */
function value(v: string | number | null | undefined, kind: Kind): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (kind === "bool") return Number(v) !== 0;
  if (kind === "int" && typeof v === "number" && !Number.isInteger(v)) return Math.round(v);
  return v;
}

/** Many rows per INSERT: a chunk of a long history is a few round trips, not thousands. */
async function insertRows(tx: SQL, table: string, columns: Columns, rows: readonly SourceRow[]): Promise<void> {
  const perStatement = Math.floor(MAX_PARAMS / columns.length);
  for (let i = 0; i < rows.length; i += perStatement) {
    const params: (string | number | boolean | null)[] = [];
    const tuples = rows.slice(i, i + perStatement).map((row) => `(${columns.map(([name, kind]) => {
      params.push(value(row[name], kind));
      return `$${params.length}`;
    }).join(", ")})`);
    await tx.unsafe(`INSERT INTO ${table} (${columns.map(([name]) => `"${name}"`).join(", ")}) VALUES ${tuples.join(", ")}`, params);
  }
}

/** `n` ids from the table's sequence, ascending. */
async function nextIds(tx: SQL, table: string, n: number): Promise<number[]> {
  if (n === 0) return [];
  const rows: { id: unknown }[] = await tx.unsafe(`SELECT nextval('${table}_id_seq') AS id FROM generate_series(1, $1)`, [n]);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** Old id → new id for the rows of a table: the same in "keep", fresh from the sequence in "renumber". */
async function idMap(tx: SQL, table: string, rows: readonly SourceRow[], mode: IdMode): Promise<Map<number, number>> {
  const old = rows.map((r) => Number(r.id));
  const fresh = mode === "keep" ? old : await nextIds(tx, table, old.length);
  return new Map(old.map((id, i) => [id, fresh[i] as number]));
}

function mapped(map: Map<number, number>, id: string | number | null | undefined, what: string): number {
  const to = map.get(Number(id));
  if (to === undefined) throw new Error(`store copy: ${what} ${String(id)} is not among the rows being copied`);
  return to;
}

interface TargetCopy {
  id: number;
  open: boolean;
}

/** The copies in the target of each source call (by index into `calls`), by id: calls of the same (uuid, start, node) in their order. */
async function copiesThere(tx: SQL, calls: readonly SourceRow[]): Promise<Map<number, TargetCopy[]>> {
  const params: (string | number)[] = [];
  const tuples = calls.map((c, i) => {
    params.push(i, c.uuid ?? "", c.started_at ?? 0, c.node_id ?? "");
    const n = params.length;
    return `($${n - 3}::int, $${n - 2}::text, $${n - 1}::bigint, $${n}::text)`;
  });
  const rows: { i: unknown; copies: unknown }[] = await tx.unsafe(`SELECT v.i, string_agg(c.id::text || ':' || (c.ended_at IS NULL)::text, ',' ORDER BY c.id) AS copies
    FROM (VALUES ${tuples.join(", ")}) AS v(i, u, s, n)
    JOIN calls c ON lower(c.uuid) = lower(v.u) AND c.started_at = v.s AND c.node_id = v.n GROUP BY v.i`, params);
  return new Map(rows.map((r) => [Number(r.i), String(r.copies).split(",").map((copy) => {
    const [id, open] = copy.split(":");
    return { id: Number(id), open: open === "true" };
  })]));
}

/** A call copied while it was still going, with everything of it, to be copied again as it ended. */
async function deleteCalls(tx: SQL, ids: readonly number[]): Promise<void> {
  const list = ids.map((_, i) => `$${i + 1}`).join(", ");
  await tx.unsafe(`DELETE FROM ticket_changes WHERE ticket_id IN (SELECT id FROM tickets WHERE call_id IN (${list}))`, [...ids]);
  for (const table of ["tickets", "turns", "events"]) await tx.unsafe(`DELETE FROM ${table} WHERE call_id IN (${list})`, [...ids]);
  await tx.unsafe(`DELETE FROM calls WHERE id IN (${list})`, [...ids]);
}

/** The call as it is kept in the target: its own appliance, else the one the copy names. */
function withNode(call: SourceRow, node: CopyNode): SourceRow {
  return call.node_id === null || call.node_id === undefined ? { ...call, node_id: node.id, node_url: node.url } : call;
}

export async function copyCallChunk(sql: SQL, chunk: SourceChunk, node: CopyNode, mode: IdMode): Promise<ChunkResult> {
  return sql.begin(async (tx) => {
    await tx.unsafe(`SELECT pg_advisory_xact_lock(${COPY_LOCK_KEY})`);
    const stamped = chunk.calls.map((c) => withNode(c, node));
    const there = stamped.length === 0 ? new Map<number, TargetCopy[]>() : await copiesThere(tx, stamped);
    const replaced: number[] = [];
    const calls = stamped.filter((c, i) => {
      const copy = there.get(i)?.[(chunk.ranks[i] ?? 1) - 1];
      if (copy === undefined) return true;
      if (!copy.open || c.ended_at === null || c.ended_at === undefined) return false;
      replaced.push(copy.id);
      return true;
    });
    const result: ChunkResult = {
      copied: calls.length, already: stamped.length - calls.length, finished: replaced.length,
      turns: 0, events: 0, tickets: 0, changes: 0, renumbered: [],
    };
    if (calls.length === 0) return result;
    if (replaced.length > 0) await deleteCalls(tx, replaced);

    const callIds = await idMap(tx, "calls", calls, mode);
    const copied = (r: SourceRow): boolean => callIds.has(Number(r.call_id));
    const turns = chunk.turns.filter(copied);
    const events = chunk.events.filter(copied);
    const tickets = chunk.tickets.filter(copied);
    const ticketIds = await idMap(tx, "tickets", tickets, mode);
    const changes = chunk.changes.filter((c) => ticketIds.has(Number(c.ticket_id)));
    const [turnIds, eventIds, changeIds] = [await idMap(tx, "turns", turns, mode), await idMap(tx, "events", events, mode), await idMap(tx, "ticket_changes", changes, mode)];

    await insertRows(tx, "calls", CALLS, calls.map((c) => ({ ...c, id: mapped(callIds, c.id, "call") })));
    await insertRows(tx, "turns", TURNS, turns.map((t) => ({ ...t, id: mapped(turnIds, t.id, "turn"), call_id: mapped(callIds, t.call_id, "call") })));
    await insertRows(tx, "events", EVENTS, events.map((e) => ({ ...e, id: mapped(eventIds, e.id, "event"), call_id: mapped(callIds, e.call_id, "call") })));
    await insertRows(tx, "tickets", TICKETS, tickets.map((t) => ({ ...t, id: mapped(ticketIds, t.id, "ticket"), call_id: mapped(callIds, t.call_id, "call") })));
    await insertRows(tx, "ticket_changes", CHANGES, changes.map((c) => ({ ...c, id: mapped(changeIds, c.id, "ticket change"), ticket_id: mapped(ticketIds, c.ticket_id, "ticket") })));

    for (const [from, to] of ticketIds) if (from !== to) result.renumbered.push({ from, to });
    return { ...result, turns: turns.length, events: events.length, tickets: tickets.length, changes: changes.length };
  });
}

/**
 * Events of no call, each unless an identical one (kind, detail, at, no call) is already there;
 * returns how many were copied.
 */
export async function copyServerEvents(sql: SQL, events: readonly SourceRow[], mode: IdMode): Promise<number> {
  if (events.length === 0) return 0;
  return sql.begin(async (tx) => {
    await tx.unsafe(`SELECT pg_advisory_xact_lock(${COPY_LOCK_KEY})`);
    const params: (string | number | null)[] = [];
    const tuples = events.map((e, i) => {
      params.push(i, e.kind ?? "", e.detail ?? null, value(e.at, "int") as number);
      const n = params.length;
      return `($${n - 3}::int, $${n - 2}::text, $${n - 1}::text, $${n}::bigint)`;
    });
    const rows: { i: unknown }[] = await tx.unsafe(`SELECT DISTINCT v.i FROM (VALUES ${tuples.join(", ")}) AS v(i, k, d, a)
      JOIN events e ON e.call_id IS NULL AND e.kind = v.k AND e.detail IS NOT DISTINCT FROM v.d AND e.at = v.a`, params);
    const there = new Set(rows.map((r) => Number(r.i)));
    const fresh = events.filter((_, i) => !there.has(i));
    const ids = await idMap(tx, "events", fresh, mode);
    await insertRows(tx, "events", EVENTS, fresh.map((e) => ({ ...e, id: mapped(ids, e.id, "event") })));
    return fresh.length;
  });
}
