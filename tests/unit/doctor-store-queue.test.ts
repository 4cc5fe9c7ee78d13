/** doctor reads the running service's /healthz: a store that does not take writes is a warning that says how many wait. */
import { afterEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { CheckResult } from "../../src/install/doctor-check.ts";
import { storeQueueCheck } from "../../src/install/doctor-circuits.ts";

const servers: ReturnType<typeof Bun.serve>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
});

function serviceSaying(store: Record<string, unknown> | null): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ status: "ok", ...(store === null ? {} : { store }) }) });
  servers.push(server);
  return server.port as number;
}

function config(port: number, url = "postgres://vb:pw@127.0.0.1:5432/voicebot"): Config {
  return loadConfig({ dataDir: "/nonexistent/data" }, { VOICEBOT_CONFIG: "/dev/null", STORE_URL: url, HTTP_HOST: "127.0.0.1", HTTP_PORT: String(port) });
}

async function doctor(c: Config): Promise<CheckResult[]> {
  const r = await storeQueueCheck.run({ config: c, configError: null, root: "/", env: {}, signal: new AbortController().signal });
  return Array.isArray(r) ? r : [r];
}

describe("doctor: the service's write queue", () => {
  test("degraded: a warning with since when, why and how many writes wait; dropped writes are their own warning", async () => {
    const port = serviceSaying({ backend: "postgres", state: "degraded", queued: 1234, journaled: 1200, dropped: 2, degradedSince: Date.UTC(2026, 11, 7, 9, 15, 0), lastError: "Connection closed" });
    const results = await doctor(config(port));
    expect(results.map((r) => [r.id, r.status])).toEqual([["database.queue", "WARN"], ["database.dropped", "WARN"]]);
    expect(results[0]?.detail).toBe("degraded since 09:15:00 UTC: PostgreSQL does not take writes (Connection closed); 1234 writes wait, 1200 of them in the journal");
    expect(results[1]?.detail).toContain("2 writes PostgreSQL refused");
  });

  test("healthy, or no service running, or a SQLite store: no warning", async () => {
    expect((await doctor(config(serviceSaying({ backend: "postgres", state: "ok", queued: 3, journaled: 0, dropped: 0 })))).map((r) => [r.status, r.detail]))
      .toEqual([["PASS", "PostgreSQL takes the writes: 3 waiting"]]);
    expect((await doctor(config(serviceSaying(null))))[0]?.status).toBe("PASS");
    expect(await doctor(config(serviceSaying({ backend: "sqlite", state: "ok", queued: 4, dropped: 0 }), "sqlite:"))).toEqual([]);
    expect(await doctor(config(serviceSaying(null), "sqlite:"))).toEqual([]);
  });

  test("SQLite: a batch that could not be committed, or writes lost earlier, is a warning with where to look", async () => {
    const degraded = await doctor(config(serviceSaying({ backend: "sqlite", state: "degraded", queued: 12, dropped: 40 }), "sqlite:"));
    expect(degraded.map((r) => [r.id, r.status, r.detail])).toEqual([
      ["database.queue", "WARN", "degraded: SQLite did not commit the last batch of writes; 40 writes lost since the service started, 12 waiting"],
    ]);
    expect(degraded[0]?.fix).toContain("df -h");
    const recovered = await doctor(config(serviceSaying({ backend: "sqlite", state: "ok", queued: 0, dropped: 40 }), "sqlite:"));
    expect(recovered.map((r) => [r.id, r.status])).toEqual([["database.dropped", "WARN"]]);
  });
});
