/**
 * `voicebot store copy`: an appliance's SQLite history moved into the shared PostgreSQL, safe to
 * run again (what is there is skipped, whole calls at a time) and to interrupt (each chunk is one
 * transaction).
 *
 * Ids: another appliance may already hold the source's numbers, so copied rows take fresh ones
 * from the shared sequences, and the tickets whose number changes are reported. Only into a fresh
 * database (no calls, no tickets, no sequence ever drawn from) are the source ids kept, so the
 * ticket numbers callers were told stay valid. The sequences are then moved past the source's ids
 * before the first row is copied, not after the last, so an appliance that starts meanwhile draws
 * numbers beyond them; a copy interrupted, or run again for the calls the appliance took since,
 * finds the sequences exactly where it left them, which is how it knows it may go on keeping ids.
 */
import type { SQL } from "bun";
import { COPY_LOCK_KEY, copyCallChunk, copyServerEvents, type CopyNode, type IdMode } from "./copy-chunk.ts";
import { COPIED_TABLES, countSourceCalls, readCallChunk, readServerEvents, snapshot, sourceCallById, sourceIdCaps, type CopiedTable, type CopySource, type IdCaps } from "./copy-source.ts";

export { openCopySource, type CopySource } from "./copy-source.ts";
export type { CopyNode, IdMode } from "./copy-chunk.ts";

const DEFAULT_CHUNK_CALLS = 100;

export interface CopyOptions {
  /** Stamped on calls that carry no appliance (a store from before NODE_ID). */
  node: CopyNode;
  /** Calls per transaction. */
  chunkCalls?: number;
  /** Calls done (copied or already there) out of the total: 0 at the start, then after each chunk. */
  onProgress?: (done: number, total: number) => void;
}

export interface CopyReport {
  /** `finished`: of those copied, calls an earlier run took while they were going, now replaced by their whole. */
  calls: { total: number; copied: number; alreadyThere: number; finished: number };
  turns: number;
  events: number;
  serverEvents: { total: number; copied: number; alreadyThere: number };
  tickets: number;
  ticketChanges: number;
  ids: IdMode;
  /** Ticket numbers that changed (source → target), in source order. */
  renumberedTickets: { from: number; to: number }[];
}

/** Copies every call (with its rows) and server event of the source into a migrated PostgreSQL. */
export function copyStore(source: CopySource, sql: SQL, options: CopyOptions): Promise<CopyReport> {
  return snapshot(source.db, () => copySnapshot(source, sql, options));
}

async function copySnapshot(source: CopySource, sql: SQL, options: CopyOptions): Promise<CopyReport> {
  const caps = sourceIdCaps(source.db);
  const total = countSourceCalls(source.db);
  const chunkCalls = options.chunkCalls ?? DEFAULT_CHUNK_CALLS;
  const mode = await chooseIdMode(sql, source, caps, options.node);
  const report: CopyReport = {
    calls: { total, copied: 0, alreadyThere: 0, finished: 0 }, turns: 0, events: 0, serverEvents: { total: 0, copied: 0, alreadyThere: 0 },
    tickets: 0, ticketChanges: 0, ids: mode, renumberedTickets: [],
  };
  options.onProgress?.(0, total);

  for (let after = 0; ;) {
    const chunk = readCallChunk(source.db, after, chunkCalls);
    const last = chunk.calls.at(-1);
    if (last === undefined) break;
    const r = await copyCallChunk(sql, chunk, options.node, mode);
    report.calls.copied += r.copied;
    report.calls.alreadyThere += r.already;
    report.calls.finished += r.finished;
    report.turns += r.turns;
    report.events += r.events;
    report.tickets += r.tickets;
    report.ticketChanges += r.changes;
    report.renumberedTickets.push(...r.renumbered);
    options.onProgress?.(report.calls.copied + report.calls.alreadyThere, total);
    after = Number(last.id);
  }

  for (let after = 0; ;) {
    const events = readServerEvents(source.db, after, chunkCalls * 10);
    const last = events.at(-1);
    if (last === undefined) break;
    const copied = await copyServerEvents(sql, events, mode);
    report.serverEvents.total += events.length;
    report.serverEvents.copied += copied;
    report.serverEvents.alreadyThere += events.length - copied;
    after = Number(last.id);
  }
  return report;
}

interface SequenceState {
  lastValue: number;
  isCalled: boolean;
  /** Up to which id a copy keeping source ids moved it (its comment), if one did. */
  keptUpTo: number | null;
}

/** Said on each sequence a copy keeping ids moves: how a later run knows nothing was drawn since. */
const KEPT_MARK = "voicebot store copy: source ids kept up to ";

async function sequences(tx: SQL): Promise<Map<CopiedTable, SequenceState>> {
  const states = new Map<CopiedTable, SequenceState>();
  for (const table of COPIED_TABLES) {
    const [row] = await tx.unsafe(`SELECT last_value, is_called, obj_description('${table}_id_seq'::regclass, 'pg_class') AS note FROM ${table}_id_seq`);
    const note = typeof row?.note === "string" && row.note.startsWith(KEPT_MARK) ? Number(row.note.slice(KEPT_MARK.length)) : NaN;
    states.set(table, { lastValue: Number(row?.last_value ?? 0), isCalled: row?.is_called === true, keptUpTo: Number.isSafeInteger(note) ? note : null });
  }
  return states;
}

/**
 * "keep" into a fresh database, or when going on with a copy that kept ids (interrupted, or run
 * again for the calls taken since): every sequence still exactly where that copy left it, so no
 * appliance holds a number drawn from it, and every call there one of this source's, under its own
 * id. The sequences are then moved past the source's ids, before any row is copied. "renumber"
 * otherwise.
 */
async function chooseIdMode(sql: SQL, source: CopySource, caps: IdCaps, node: CopyNode): Promise<IdMode> {
  return sql.begin(async (tx) => {
    await tx.unsafe(`SELECT pg_advisory_xact_lock(${COPY_LOCK_KEY})`);
    const seqs = await sequences(tx);
    const [counts] = await tx.unsafe("SELECT (SELECT COUNT(*) FROM calls) AS calls, (SELECT COUNT(*) FROM tickets) AS tickets");
    const fresh = Number(counts?.calls) === 0 && Number(counts?.tickets) === 0 && [...seqs.values()].every((s) => !s.isCalled);
    const untouched = COPIED_TABLES.every((table) => {
      const s = seqs.get(table);
      return s !== undefined && s.keptUpTo !== null && (s.keptUpTo === 0 ? !s.isCalled : s.isCalled && s.lastValue === s.keptUpTo);
    });
    if (!fresh && !(untouched && await onlySourceCalls(tx, source, node))) return "renumber";
    for (const table of COPIED_TABLES) {
      const upTo = Math.max(caps[table], seqs.get(table)?.keptUpTo ?? 0);
      if (upTo > 0) await tx.unsafe(`SELECT setval('${table}_id_seq', $1)`, [upTo]);
      await tx.unsafe(`COMMENT ON SEQUENCE ${table}_id_seq IS '${KEPT_MARK}${upTo}'`);
    }
    return "keep";
  });
}

async function onlySourceCalls(tx: SQL, source: CopySource, node: CopyNode): Promise<boolean> {
  const there: { id: unknown; uuid: unknown; started_at: unknown; node_id: unknown }[] = await tx.unsafe("SELECT id, uuid, started_at, node_id FROM calls");
  return there.every((c) => {
    const s = sourceCallById(source.db, Number(c.id));
    return s !== null && String(s.uuid).toLowerCase() === String(c.uuid).toLowerCase() && Number(s.started_at) === Number(c.started_at)
      && (s.node_id ?? node.id) === c.node_id;
  });
}
