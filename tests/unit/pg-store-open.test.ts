/**
 * Opening a PostgreSQL store: migrations applied once even by appliances starting together, a
 * schema newer or older than this voicebot refused with a clear error, and the three usual
 * connection failures told apart with the URL's password masked. Also the throw-away cluster's
 * outage round trip the writer's tests rely on.
 */
import { describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseStoreUrl } from "../../src/config/store-url.ts";
import { PG_MIGRATIONS } from "../../src/store/pg/migrations.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { connectPg, PgStoreError, type PgTarget } from "../../src/store/pg/connect.ts";
import { checkPgSchema, migratePg, pgSchemaVersion } from "../../src/store/pg/migrate.ts";
import { PgStoreReader } from "../../src/store/pg/pg-reader.ts";
import { pgClusterForFile, startPgCluster, sweepStale } from "../support/pg-cluster.ts";

const pg = pgClusterForFile();

function target(url: string): PgTarget {
  const t = parseStoreUrl(url);
  if (t.kind !== "postgres") throw new Error(`not a postgres URL: ${url}`);
  return t;
}

async function failure(url: string): Promise<PgStoreError> {
  try {
    const sql = await connectPg(target(url), { connectTimeoutSeconds: 5 });
    await sql.close();
  } catch (err) {
    if (err instanceof PgStoreError) return err;
    throw err;
  }
  throw new Error(`connected to ${url}`);
}

describe("migrations", () => {
  test("both dialects have the same numbered versions", () => {
    expect(PG_MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  test("four appliances starting at once apply each step exactly once; a second start changes nothing", async () => {
    const t = target(await pg.database());
    const pools = await Promise.all([1, 2, 3, 4].map(() => connectPg(t)));
    try {
      expect(await Promise.all(pools.map((sql) => migratePg(sql, t)))).toEqual([6, 6, 6, 6]);
      const [sql] = pools as [SQL];
      expect(await migratePg(sql, t)).toBe(6);
      const rows = await sql`SELECT version FROM schema_migrations ORDER BY version`;
      expect(rows.map((r: { version: number }) => r.version)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await checkPgSchema(sql, t)).toBe(6);
    } finally {
      await Promise.all(pools.map((sql) => sql.close()));
    }
  });

  test("ids come from the sequences and explicit reserved ids are taken; a replayed insert is a no-op", async () => {
    const t = target(await pg.database());
    const sql = await connectPg(t);
    try {
      await migratePg(sql, t);
      const reserved = (await sql`SELECT nextval('calls_id_seq') AS id FROM generate_series(1, 3)`).map((r: { id: string }) => Number(r.id));
      expect(reserved).toEqual([1, 2, 3]);
      for (let i = 0; i < 2; i++) {
        await sql`INSERT INTO calls (id, uuid, transport, tenant, peer, sample_rate, started_at) VALUES (${reserved[1]}, 'u', 'audiosocket', 'default', 'p', 8000, 1) ON CONFLICT (id) DO NOTHING`;
      }
      const [row] = await sql`INSERT INTO calls (uuid, transport, tenant, peer, sample_rate, started_at) VALUES ('v', 'audiosocket', 'default', 'p', 8000, 2) RETURNING id`;
      expect(Number(row.id)).toBe(4);
      for (const seq of ["turns_id_seq", "events_id_seq", "tickets_id_seq", "ticket_changes_id_seq"]) {
        const [n] = await sql`SELECT nextval(${seq}) AS id`;
        expect(Number(n.id)).toBe(1);
      }
    } finally {
      await sql.close();
    }
  });

  test("a schema newer than this voicebot is refused, by the writer and the readers; an older one by the readers", async () => {
    const t = target(await pg.database());
    const sql = await connectPg(t);
    try {
      await migratePg(sql, t, PG_MIGRATIONS.slice(0, 3));
      expect(await pgSchemaVersion(sql)).toBe(3);
      await expect(checkPgSchema(sql, t)).rejects.toThrow(/has schema version 3, this voicebot reads version 6: start `voicebot serve` once/);
      await expect(PgStoreReader.open(t)).rejects.toThrow(/schema version 3/);
      await migratePg(sql, t, [...PG_MIGRATIONS, { version: 7, sql: "CREATE TABLE extra (x INTEGER)" }]);
      await expect(migratePg(sql, t)).rejects.toThrow(/has schema version 7, newer than this voicebot knows \(6\)/);
      await expect(checkPgSchema(sql, t)).rejects.toThrow(/newer than this voicebot knows/);
    } finally {
      await sql.close();
    }
  });
});

describe("connection failures name the URL without its password", () => {
  test("bad credentials", async () => {
    const url = (await pg.database()).replace(/:[^:@/]+@/, ":not-the-password@");
    const err = await failure(url);
    expect(err.failure).toBe("credentials");
    expect(err.message).toContain(`PostgreSQL at ${url.replace("not-the-password", "***")} refused the user or password`);
    expect(err.message).not.toContain("not-the-password");
  });

  test("a database that does not exist", async () => {
    const url = pg.cluster().url("nowhere");
    const err = await failure(url);
    expect(err.failure).toBe("database");
    expect(err.message).toMatch(/the database "nowhere" does not exist .*createdb -O voicebot nowhere/);
    expect(err.message).not.toContain("voicebot-test-password");
  });

  test("nothing listening", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const err = await failure(`postgres://voicebot:secret@127.0.0.1:${port}/db`);
    expect(err.failure).toBe("unreachable");
    expect(err.message).toContain(`PostgreSQL at postgres://voicebot:***@127.0.0.1:${port}/db cannot be reached`);
  });

  test("sslmode=require against a server without TLS", async () => {
    const err = await failure(`${await pg.database()}?sslmode=require`);
    expect(err.failure).toBe("tls");
    expect(err.message).toContain("check sslmode in STORE_URL");
  });
});

test("the throw-away cluster stops and starts again on the same port with its data, and leaves nothing at close", async () => {
  const cluster = await startPgCluster();
  try {
    const t = target(await cluster.createDatabase("outage"));
    const before = await connectPg(t);
    await before`CREATE TABLE kept (x INTEGER)`;
    await before`INSERT INTO kept VALUES (42)`;
    await before.close();
    await cluster.stop();
    expect((await failure(t.url)).failure).toBe("unreachable");
    await cluster.start();
    const after = await connectPg(t);
    expect((await after`SELECT x FROM kept`)[0].x).toBe(42);
    await after.close();
  } finally {
    await cluster.close();
  }
  expect((await failure(cluster.url("outage"))).failure).toBe("unreachable");
});

test("a test process killed mid-run takes its server with it; a later start sweeps the dir it left", async () => {
  const child = Bun.spawn([process.execPath, "-e", `
    import { startPgCluster } from ${JSON.stringify(join(import.meta.dir, "../support/pg-cluster.ts"))};
    const c = await startPgCluster();
    console.log(JSON.stringify({ port: c.port, dir: c.dir }));
    await Bun.sleep(60_000);
  `], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const { port, dir } = JSON.parse(new TextDecoder().decode(value)) as { port: number; dir: string };
  try {
    child.kill("SIGKILL");
    await child.exited;
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = (await failure(`postgres://voicebot:x@127.0.0.1:${port}/postgres`).catch(() => null))?.failure === "unreachable";
      if (!refused) await Bun.sleep(50);
    }
    expect(refused).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the sweep removes only old cluster dirs without a live server", () => {
  const base = mkdtempSync(join(tmpdir(), "voicebot-sweep-"));
  try {
    const old = join(base, "voicebot-pg-old");
    const fresh = join(base, "voicebot-pg-fresh");
    const live = join(base, "voicebot-pg-live");
    const other = join(base, "something-else");
    for (const d of [old, fresh, join(live, "data"), other]) mkdirSync(d, { recursive: true });
    writeFileSync(join(live, "data", "postmaster.pid"), `${process.pid}\n`);
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const d of [old, live, other]) utimesSync(d, hourAgo, hourAgo);
    sweepStale(base);
    expect([old, fresh, live, other].map((d) => existsSync(d))).toEqual([false, true, true, true]);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
