/**
 * What the running service says of itself in /healthz that doctor reports: its circuit breakers (a
 * provider it is skipping now is a warning) and its store (writes waiting for PostgreSQL).
 */
import type { Check, CheckResult } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";
import { fetchHealth, type Health } from "./health.ts";

/** "18:52:10 UTC": the admin compares it with the journal. */
function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

export const circuitsCheck: Check = {
  id: "provider.circuit",
  async run(ctx) {
    const c = ctx.config;
    if (!c) return fail("provider.circuit", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    const health = await fetchHealth(c, ctx.signal);
    if (!health) return pass("provider.circuit", "voicebot is not running here: no circuit breaker to read");
    const providers = Object.entries(health.providers ?? {});
    const skipped = providers.filter(([, b]) => b.state !== "closed");
    if (skipped.length === 0) {
      return pass("provider.circuit", providers.length === 0 ? "no cloud provider in use" : `every provider answers (${providers.map(([id]) => id).join(", ")})`);
    }
    return skipped.map(([id, b]): CheckResult => {
      const since = b.openSince === null ? "" : ` since ${clockTime(b.openSince)}`;
      const next = b.state === "open" && b.openUntil !== null ? `; next trial at ${clockTime(b.openUntil)}` : "; a trial request is due";
      return warn(`provider.circuit.${id}`, `${id} is skipped${since} after ${b.failures} failures in a row${next}`,
        "calls use its fallback meanwhile; see why with `journalctl -u voicebot | grep -i circuit`, then check the provider's status and this host's network");
    });
  },
};

export const storeQueueCheck: Check = {
  id: "database.queue",
  async run(ctx) {
    const c = ctx.config;
    if (!c) return [];
    const health = await fetchHealth(c, ctx.signal);
    const store = health?.store;
    if (!store) return c.store.kind === "postgres" ? pass("database.queue", "voicebot is not running here: no write queue to read") : [];
    return store.backend === "sqlite" ? sqliteQueue(store) : postgresQueue(store);
  },
};

type StoreHealth = NonNullable<Health["store"]>;

function postgresQueue(store: StoreHealth): CheckResult[] {
  const dropped = store.dropped ?? 0;
  const results: CheckResult[] = [];
  if (store.state !== "ok") {
    const since = store.degradedSince === null || store.degradedSince === undefined ? "" : ` since ${clockTime(store.degradedSince)}`;
    results.push(warn("database.queue", `degraded${since}: PostgreSQL does not take writes (${store.lastError ?? "no answer"}); ${store.queued ?? 0} writes wait, ${store.journaled ?? 0} of them in the journal`,
      "calls go on and nothing is lost while the journal holds them: bring PostgreSQL back (the database line above says what fails), they are sent then"));
  } else {
    results.push(pass("database.queue", `PostgreSQL takes the writes: ${store.queued ?? 0} waiting`));
  }
  if (dropped > 0) {
    results.push(warn("database.dropped", `${dropped} writes PostgreSQL refused as invalid were dropped since the service started`,
      "see which with `journalctl -u voicebot | grep 'refused a write'`; report them (a schema this voicebot does not expect?)"));
  }
  return results;
}

/** serve's writer thread: quiet while all is well (the database line says the file is fine). */
function sqliteQueue(store: StoreHealth): CheckResult[] {
  const dropped = store.dropped ?? 0;
  if (store.state === "ok" && dropped === 0) return [];
  const fix = "see why with `journalctl -u voicebot | grep 'store:'`: a full disk (`df -h` on the data dir), or another process holding the database (`fuser` on voicebot.db)";
  return store.state === "ok"
    ? [warn("database.dropped", `${dropped} writes to SQLite were lost since the service started; it takes writes again`, fix)]
    : [warn("database.queue", `degraded: SQLite did not commit the last batch of writes; ${dropped} writes lost since the service started, ${store.queued ?? 0} waiting`, fix)];
}
