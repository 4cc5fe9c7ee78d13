/**
 * STORE_URL: where calls and tickets are kept. `sqlite:` (or unset) is the bun:sqlite file in the
 * data dir; `postgres://user:pass@host:port/db[?sslmode=…]` (or postgresql://) is a PostgreSQL
 * shared by several appliances. Checked here, at the edge, so a typo stops start-up with one line
 * (the password never printed) rather than failing at the first call.
 */

/** What Bun's client takes in ?sslmode= (libpq's names). */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export type StoreTarget =
  | { kind: "sqlite"; path: string | null }
  /** `url` as given (with its password, for the client); `shown` with the password masked, for every message. */
  | { kind: "postgres"; url: string; shown: string; database: string; sslmode: SslMode | null };

export const STORE_URL_ALLOWED = "must be sqlite: (the default: the data dir's voicebot.db) or postgres://USER:PASSWORD@HOST[:PORT]/DATABASE with an optional ?sslmode= of "
  + SSL_MODES.join(", ");

/** The URL with its password replaced by ***: safe for logs, errors and doctor's report. */
export function maskStoreUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, "$1:***@");
}

/** Throws an Error saying what is wrong (its message never holds the password); the value given may be blank (= sqlite). */
export function parseStoreUrl(value: string): StoreTarget {
  const v = value.trim();
  if (v === "" || v === "sqlite:" || v === "sqlite") return { kind: "sqlite", path: null };
  if (v.startsWith("sqlite:")) return { kind: "sqlite", path: v.slice("sqlite:".length) };
  if (!/^postgres(ql)?:\/\//i.test(v)) throw new Error(STORE_URL_ALLOWED);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`is not a URL: ${STORE_URL_ALLOWED}`);
  }
  const shown = maskStoreUrl(v);
  if (u.hostname === "") throw new Error(`names no host: ${STORE_URL_ALLOWED}`);
  if (u.username === "") throw new Error(`names no user: ${STORE_URL_ALLOWED}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (database === "" || database.includes("/")) throw new Error(`names no database (the path after the host): ${STORE_URL_ALLOWED}`);
  let sslmode: SslMode | null = null;
  for (const [key, param] of u.searchParams) {
    if (key !== "sslmode") throw new Error(`has the parameter ?${key}=, which voicebot does not take: only ?sslmode= (${SSL_MODES.join(", ")})`);
    if (!(SSL_MODES as readonly string[]).includes(param)) throw new Error(`has sslmode=${param}: sslmode must be one of ${SSL_MODES.join(", ")}`);
    sslmode = param as SslMode;
  }
  return { kind: "postgres", url: v, shown, database, sslmode };
}
