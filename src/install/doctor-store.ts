/**
 * doctor's lines for a PostgreSQL store (STORE_URL): reachable with these credentials, the schema
 * this voicebot reads, the round trip a write pays, and NODE_ID not taken by another appliance.
 */
import type { SQL } from "bun";
import type { Config } from "../config/schema.ts";
import { connectPg, PgStoreError, type PgFailure, type PgTarget } from "../store/pg/connect.ts";
import { pgSchemaVersion } from "../store/pg/migrate.ts";
import { PG_MIGRATIONS } from "../store/pg/migrations.ts";
import type { CheckResult } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";

/** Above this a store write's round trip is felt as a queue behind busy calls (issue #15). */
export const STORE_LATENCY_WARN_MS = 20;
const ROUND_TRIPS = 5;
/** Who wrote lately: an appliance that stopped a week ago may have handed its NODE_ID on. */
const RECENT_MS = 24 * 3_600_000;

const FIXES: Record<PgFailure, string> = {
  unreachable: "start PostgreSQL or open its port to this host (listen_addresses, the firewall), or correct HOST:PORT in STORE_URL",
  credentials: "correct USER:PASSWORD in STORE_URL (/etc/voicebot/voicebot.env), or let that user in through pg_hba.conf (scram-sha-256)",
  database: "create the database as the message says, or correct its name in STORE_URL",
  tls: "match ?sslmode= in STORE_URL to the server (disable when it has no TLS; verify-full needs its CA trusted here)",
  other: "see the message; `voicebot doctor` again once fixed",
};

export async function pgStoreResults(config: Config, target: PgTarget): Promise<CheckResult[]> {
  let sql: SQL;
  try {
    sql = await connectPg(target, { max: 1, connectTimeoutSeconds: 2 });
  } catch (err) {
    const e = err instanceof PgStoreError ? err : new PgStoreError("other", String(err));
    return [fail("database", e.message, FIXES[e.failure])];
  }
  try {
    const results: CheckResult[] = [];
    const latest = PG_MIGRATIONS.length;
    const version = await pgSchemaVersion(sql);
    if (version > latest) {
      results.push(fail("database", `${target.shown} is at schema ${version}, newer than this voicebot (${latest})`, "another appliance runs a newer voicebot: `sudo voicebot upgrade` this one too"));
    } else if (version < latest) {
      results.push(warn("database", `${target.shown}: reachable, schema ${version} of ${latest}`, "`voicebot serve` migrates it at its next start (sudo systemctl restart voicebot)"));
    } else {
      results.push(pass("database", `${target.shown}: reachable, schema ${version} (latest)`));
    }
    results.push(await latency(sql, target));
    if (version >= 5) results.push(await nodeUnique(sql, config));
    return results;
  } catch (err) {
    return [fail("database", `${target.shown}: ${err instanceof Error ? err.message : String(err)}`, FIXES.other)];
  } finally {
    await sql.close();
  }
}

/** The median of a few round trips on one open connection: what each write pays on top of its work. */
async function latency(sql: SQL, target: PgTarget): Promise<CheckResult> {
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const started = performance.now();
    await sql`SELECT 1`;
    times.push(performance.now() - started);
  }
  const median = [...times].sort((a, b) => a - b)[ROUND_TRIPS >> 1] ?? 0;
  const detail = `round trip to ${target.shown}: median of ${ROUND_TRIPS}`;
  return median > STORE_LATENCY_WARN_MS
    ? warn("database.latency", `${detail}, above ${STORE_LATENCY_WARN_MS} ms`, "put PostgreSQL near the appliances (same site or LAN): writes queue behind a slow store", median)
    : pass("database.latency", detail, median);
}

/** Calls of the last day stamped with this NODE_ID but another NODE_URL: two appliances share the id. */
async function nodeUnique(sql: SQL, config: Config): Promise<CheckResult> {
  const since = Date.now() - RECENT_MS;
  const others: { node_url: string | null }[] = await sql`SELECT DISTINCT node_url FROM calls
    WHERE node_id = ${config.nodeId} AND started_at > ${since} AND node_url IS DISTINCT FROM ${config.nodeUrl} LIMIT 3`;
  if (others.length > 0) {
    const urls = others.map((o) => o.node_url ?? "(no NODE_URL)").join(", ");
    return fail("database.node", `NODE_ID ${config.nodeId} is also used by ${urls} (calls in the last 24 h), and by this appliance at ${config.nodeUrl}`,
      "give each appliance its own NODE_ID in /etc/voicebot/voicebot.env (default: its host name), then restart it");
  }
  return pass("database.node", `NODE_ID ${config.nodeId} (${config.nodeUrl}) is this appliance's alone among the last 24 h of calls`);
}
