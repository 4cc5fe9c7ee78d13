/** doctor's PostgreSQL lines, against a throw-away cluster: reachable, credentials, schema, latency, NODE_ID. */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { CheckResult } from "../../src/install/doctor-check.ts";
import { databaseCheck } from "../../src/install/doctor-config.ts";
import { STORE_LATENCY_WARN_MS } from "../../src/install/doctor-store.ts";
import { connectPg, type PgTarget } from "../../src/store/pg/connect.ts";
import { migratePg } from "../../src/store/pg/migrate.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";

const pg = pgClusterForFile();

function configFor(url: string, node: Record<string, string> = {}): Config {
  return loadConfig({ dataDir: "/nonexistent/data" }, { VOICEBOT_CONFIG: "/dev/null", STORE_URL: url, NODE_ID: "vb-1", NODE_URL: "http://10.0.0.1:9091", ...node });
}

async function doctor(config: Config): Promise<CheckResult[]> {
  const r = await databaseCheck.run({ config, configError: null, root: "/", env: {}, signal: new AbortController().signal });
  return Array.isArray(r) ? r : [r];
}

async function migrated(): Promise<{ url: string; target: PgTarget }> {
  const url = await pg.database();
  const target = configFor(url).store as PgTarget;
  const sql = await connectPg(target);
  await migratePg(sql, target);
  await sql.close();
  return { url, target };
}

describe("doctor on a PostgreSQL store", () => {
  test("a healthy store: reachable at the latest schema, a round trip measured, the node id unique", async () => {
    const { url } = await migrated();
    const results = await doctor(configFor(url));
    expect(results.map((r) => [r.id, r.status])).toEqual([["database", "PASS"], ["database.latency", "PASS"], ["database.node", "PASS"]]);
    expect(results[0]?.detail).toContain("schema 6 (latest)");
    expect(results[0]?.detail).not.toContain("voicebot-test-password");
    expect(results[1]?.ms).toBeLessThan(STORE_LATENCY_WARN_MS);
  });

  test("an empty database: serve migrates it at its next start", async () => {
    const results = await doctor(configFor(await pg.database()));
    expect(results[0]).toMatchObject({ id: "database", status: "WARN" });
    expect(results[0]?.detail).toContain("schema 0 of 6");
    expect(results.map((r) => r.id)).toEqual(["database", "database.latency"]);
  });

  test("refused credentials and a missing database each FAIL with their fix, never showing the password", async () => {
    const url = await pg.database();
    const [bad] = await doctor(configFor(url.replace(/:[^:@/]+@/, ":wrong-one@")));
    expect(bad).toMatchObject({ id: "database", status: "FAIL" });
    expect(bad?.detail).toContain("refused the user or password");
    expect(bad?.fix).toContain("USER:PASSWORD");
    expect(JSON.stringify(bad)).not.toContain("wrong-one");
    const [missing] = await doctor(configFor(pg.cluster().url("absent_db")));
    expect(missing?.detail).toContain("createdb -O voicebot absent_db");
    expect(missing?.fix).toContain("create the database");
  });

  test("another appliance's recent calls under this NODE_ID FAIL, naming both appliances", async () => {
    const { url, target } = await migrated();
    const sql = await connectPg(target);
    await sql`INSERT INTO calls (uuid, transport, tenant, peer, sample_rate, started_at, node_id, node_url)
      VALUES ('u', 'audiosocket', 'default', 'p', 8000, ${Date.now() - 3_600_000}, 'vb-1', 'http://10.0.0.2:9091'),
             ('v', 'audiosocket', 'default', 'p', 8000, ${Date.now() - 3 * 86_400_000}, 'vb-2', 'http://10.0.0.3:9091')`;
    await sql.close();
    const node = (await doctor(configFor(url))).find((r) => r.id === "database.node");
    expect(node?.status).toBe("FAIL");
    expect(node?.detail).toBe("NODE_ID vb-1 is also used by http://10.0.0.2:9091 (calls in the last 24 h), and by this appliance at http://10.0.0.1:9091");
    // An id last used days ago by another appliance may be handed on.
    expect((await doctor(configFor(url, { NODE_ID: "vb-2" }))).find((r) => r.id === "database.node")?.status).toBe("PASS");
  });
});
