import { SQL } from "bun";
import { adminUrl, checkNodeId } from "../config/load-store.ts";
import { loadConfig } from "../config/load.ts";
import { maskStoreUrl, parseStoreUrl, type StoreTarget } from "../config/store-url.ts";
import { databasePath } from "../store/db.ts";
import { connectPg, explainPgError, type PgTarget } from "../store/pg/connect.ts";
import { migratePg } from "../store/pg/migrate.ts";
import { copyStore, openCopySource, type CopyNode, type CopyReport, type CopySource } from "../store/pg/store-copy.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { createProgress, type Progress } from "./progress.ts";

const USAGE = `Usage: voicebot store copy [--from sqlite:PATH] [--to postgres://USER:PASSWORD@HOST[:PORT]/DB]
                           [--node ID] [--node-url URL] [--json]

Moves an appliance's history (calls with their turns, events, tickets and ticket edits) from its
SQLite database into the PostgreSQL that several appliances share (STORE_URL). The SQLite file is
only read: safe while serve runs. Safe to run again, or after an interruption: a call already
there is skipped whole (one copied while still going is copied again once it has ended), and
each chunk of calls is copied whole or not at all.

Ticket numbers: into a fresh database the tickets keep their numbers, and so do later runs until
an appliance starts on it. Into one an appliance has written to, copied rows take new numbers from
the shared sequence (another appliance may hold the old ones), and the summary lists each ticket
number that changed (old → new). To keep ticket numbers, copy into a fresh database before any
appliance writes to it.

Subcommands:
  copy                 copy the SQLite history into PostgreSQL

Options:
  --from sqlite:PATH   the database file, or the data dir holding voicebot.db (default: the data dir's)
  --to URL             the PostgreSQL to copy into (default: STORE_URL, when it is a postgres:// URL);
                       its schema is brought up to date first
  --node ID            the appliance stamped on calls that name none, as stores from before NODE_ID
                       (default: NODE_ID), so their recordings are fetched from it
  --node-url URL       that appliance's admin base URL (default: NODE_URL)
  --json               print one JSON document (progress still goes to stderr)
  --data-dir DIR       data directory (default: VOICEBOT_DATA_DIR, else ./data, or /var/lib/voicebot when installed)
  --config FILE        env file to read settings from (default: VOICEBOT_CONFIG, else /etc/voicebot/voicebot.env if present)
  -h, --help           show this help
`;

const OPTIONS = {
  from: { type: "string" },
  to: { type: "string" },
  node: { type: "string" },
  "node-url": { type: "string" },
  "data-dir": { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Renumbered tickets shown in the text summary; --json lists them all. */
const SHOWN_RENUMBERED = 20;

export const storeCommand: Command = {
  name: "store",
  summary: "copy an appliance's SQLite history into PostgreSQL (store copy)",
  async run(argv) {
    const parsed = parseCommandArgs(argv, OPTIONS, USAGE, true);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError("missing subcommand: copy (see --help)");
    if (sub !== "copy") throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: copy (see --help)`);
    if (rest.length > 0) throw new UsageError(`store copy takes no arguments, got ${JSON.stringify(rest[0])} (see --help)`);

    const config = loadConfig({ config: values.config, dataDir: values["data-dir"] });
    const from = sourcePath(values.from, config.dataDir);
    const target = targetOf(values.to, config.store);
    const node: CopyNode = {
      id: values.node === undefined ? config.nodeId : checkNodeId(values.node, "--node", "command line"),
      url: values["node-url"] === undefined ? config.nodeUrl : adminUrl({ value: values["node-url"], source: "command line", variable: "--node-url" }),
    };
    return copy(from, target, node, values.json === true);
  },
};

function sourcePath(from: string | undefined, dataDir: string): string {
  if (from === undefined) return databasePath(dataDir);
  const allowed = "must be sqlite:PATH, PATH the voicebot.db file or the data dir holding it (sqlite: alone: the data dir's)";
  let source: StoreTarget;
  try {
    source = parseStoreUrl(from);
  } catch {
    throw new UsageError(`--from ${JSON.stringify(maskStoreUrl(from))} is not allowed: ${allowed}`);
  }
  if (source.kind !== "sqlite") throw new UsageError(`--from ${JSON.stringify(source.shown)} is not allowed: ${allowed}`);
  return source.path === null || source.path === "" ? databasePath(dataDir) : source.path;
}

function targetOf(to: string | undefined, configured: StoreTarget): PgTarget {
  const allowed = "a postgres://USER:PASSWORD@HOST[:PORT]/DATABASE URL, with an optional ?sslmode=";
  if (to === undefined) {
    if (configured.kind === "postgres") return configured;
    throw new UsageError(`nothing to copy into: STORE_URL is sqlite:, so --to is needed: ${allowed}`);
  }
  let target: StoreTarget;
  try {
    target = parseStoreUrl(to);
  } catch (err) {
    throw new UsageError(`--to ${JSON.stringify(maskStoreUrl(to))} ${err instanceof Error ? err.message : String(err)}`);
  }
  if (target.kind !== "postgres") throw new UsageError(`--to ${JSON.stringify(to)} is not allowed: ${allowed}`);
  return target;
}

async function copy(from: string, target: PgTarget, node: CopyNode, json: boolean): Promise<number> {
  const started = performance.now();
  let source: CopySource | null = null;
  let sql: SQL | null = null;
  // Made at the first report of the copy (which knows the total); `as` keeps TypeScript from taking it for null ever after.
  let progress = null as Progress | null;
  let copying = false;
  try {
    source = openCopySource(from);
    sql = await connectPg(target, { max: 2 });
    await migratePg(sql, target);
    copying = true;
    const report = await copyStore(source, sql, {
      node,
      onProgress: (done, total) => {
        progress ??= createProgress({ total: Math.max(1, total), unit: "calls", detail: `into ${target.shown}`, out: process.stderr });
        progress.update(done);
      },
    });
    progress?.finish();
    const seconds = Math.round(performance.now() - started) / 1000;
    if (json) printJson({ from: source.path, to: target.shown, ...report, seconds });
    else process.stdout.write(summary(source.path, target.shown, report, seconds));
    return 0;
  } catch (err) {
    progress?.finish();
    const why = err instanceof SQL.PostgresError ? explainPgError(err, target).message : err instanceof Error ? err.message : String(err);
    const resume = copying ? " (what was copied stays: run the same command again to copy the rest)" : "";
    process.stderr.write(`voicebot store: ${why}${resume}\n`);
    return 1;
  } finally {
    source?.close();
    await sql?.close().catch(() => undefined);
  }
}

function summary(from: string, to: string, r: CopyReport, seconds: number): string {
  const finished = r.calls.finished > 0 ? `; ${r.calls.finished} copied again, having ended since an earlier run took them` : "";
  const lines = [
    `copied ${r.calls.copied} of ${r.calls.total} calls (${r.calls.alreadyThere} already there${finished}) from ${from} into ${to} in ${seconds.toFixed(1)} s`,
    `  with ${r.turns} turns, ${r.events} events, ${r.tickets} tickets, ${r.ticketChanges} ticket edits; `
      + `server events: ${r.serverEvents.copied} copied, ${r.serverEvents.alreadyThere} already there`,
  ];
  if (r.ids === "keep") lines.push("  ids kept: ticket numbers are the same as on the appliance");
  else if (r.renumberedTickets.length === 0) lines.push("  ids drawn from the shared sequences: no ticket number changed");
  else {
    const shown = r.renumberedTickets.slice(0, SHOWN_RENUMBERED).map((t) => `#${t.from} → #${t.to}`).join(", ");
    const more = r.renumberedTickets.length - SHOWN_RENUMBERED;
    lines.push(`  ${r.renumberedTickets.length} ticket numbers changed (the database was already in use): ${shown}${more > 0 ? `, and ${more} more (all in --json)` : ""}`);
  }
  return lines.join("\n") + "\n";
}
