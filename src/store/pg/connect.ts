/**
 * Opening a PostgreSQL store from STORE_URL through Bun's built-in client. Every part of the URL is
 * handed to the client explicitly: Bun lets PGDATABASE and friends from the environment override
 * a URL's, and a service's environment must not quietly point it at another database. A failure
 * says which of the usual three it is (unreachable, credentials, database missing), naming the URL
 * with its password masked.
 */
import { SQL } from "bun";
import type { StoreTarget } from "../../config/store-url.ts";

export type PgTarget = Extract<StoreTarget, { kind: "postgres" }>;

export interface PgConnectOptions {
  /** Connections in the pool (Bun's default is 10). */
  max?: number;
  /** How long one connection attempt may take, in seconds. */
  connectTimeoutSeconds?: number;
  /** Told when a pooled connection closes or fails to open (the writer's degraded status). */
  onclose?: (err: Error) => void;
}

export type PgFailure = "unreachable" | "credentials" | "database" | "tls" | "other";

/** A failure to reach or use the store: `failure` says which kind; the message never holds the password. */
export class PgStoreError extends Error {
  constructor(readonly failure: PgFailure, message: string) {
    super(message);
    this.name = "PgStoreError";
  }
}

/** A pool for the target; no connection is made until the first query (see connectPg). */
export function pgClient(target: PgTarget, options: PgConnectOptions = {}): SQL {
  const u = new URL(target.url);
  return new SQL({
    adapter: "postgres",
    hostname: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port === "" ? 5432 : Number(u.port),
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: target.database,
    tls: target.sslmode ?? "prefer",
    max: options.max ?? 10,
    connectionTimeout: options.connectTimeoutSeconds ?? 10,
    connection: { application_name: "voicebot" },
    ...(options.onclose ? { onclose: (err: Error | null) => options.onclose?.(err ?? new Error("connection closed")) } : {}),
  });
}

/** A pool that has answered one query; throws a PgStoreError naming what went wrong. */
export async function connectPg(target: PgTarget, options: PgConnectOptions = {}): Promise<SQL> {
  const sql = pgClient(target, options);
  try {
    await sql`SELECT 1`;
    return sql;
  } catch (err) {
    await sql.close().catch(() => undefined);
    throw explainPgError(err, target);
  }
}

/** The client's error as the admin needs it: what failed, at which (password-less) URL, what to check. */
export function explainPgError(err: unknown, target: PgTarget): PgStoreError {
  if (err instanceof PgStoreError) return err;
  const code = err instanceof SQL.PostgresError ? err.code : "";
  const state = err instanceof SQL.PostgresError ? (err.errno ?? "") : "";
  const said = err instanceof Error ? err.message : String(err);
  const at = `PostgreSQL at ${target.shown}`;
  if (state === "28P01" || state === "28000") {
    return new PgStoreError("credentials", `${at} refused the user or password (${said}): check USER:PASSWORD in STORE_URL and the server's pg_hba.conf`);
  }
  if (state === "3D000") {
    const owner = decodeURIComponent(new URL(target.url).username);
    return new PgStoreError("database", `${at}: the database ${JSON.stringify(target.database)} does not exist (${said}): create it (sudo -u postgres createdb -O ${owner} ${target.database}) or fix STORE_URL`);
  }
  if (code.includes("TLS") || code.includes("SSL")) {
    return new PgStoreError("tls", `${at}: TLS failed (${said}): check sslmode in STORE_URL against the server's ssl setting and certificate`);
  }
  if (/CONNECTION_(REFUSED|FAILED|CLOSED|TIMEOUT)|TIMEOUT/.test(code) || state === "57P01" || state === "57P02" || state === "57P03") {
    return new PgStoreError("unreachable", `${at} cannot be reached (${said}): is the server running, and does it listen on that host and port for this appliance?`);
  }
  return new PgStoreError("other", `${at}: ${said}`);
}
