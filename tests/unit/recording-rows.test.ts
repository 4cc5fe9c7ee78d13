/** `recordings convert` repoints the rows of this appliance's calls, in SQLite or in a shared PostgreSQL. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseStoreUrl } from "../../src/config/store-url.ts";
import { connectPg, type PgTarget } from "../../src/store/pg/connect.ts";
import { migratePg } from "../../src/store/pg/migrate.ts";
import { openRecordingRows } from "../../src/store/recording-rows.ts";
import { Store } from "../../src/store/store.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";

const pg = pgClusterForFile();
const UUID = "0b8a5c1e-6a52-4cf2-9f4e-0d6f3f4bb3a1";
const FILES = [{ channel: "caller" as const, path: "/r/a.caller.raw", sampleRate: 8000 }, { channel: "bot" as const, path: "/r/a.bot.raw", sampleRate: 8000 }];
const MP3 = [{ channel: "stereo" as const, path: "/r/a.mp3", sampleRate: 8000 }];

describe("the rows recordings convert repoints", () => {
  test("PostgreSQL: only this appliance's call with that UUID, found in any case, ended or not", async () => {
    const target = parseStoreUrl(await pg.database()) as PgTarget;
    const sql = await connectPg(target);
    await migratePg(sql, target);
    await sql`INSERT INTO calls (id, uuid, transport, tenant, peer, sample_rate, started_at, ended_at, recordings, node_id)
      VALUES (1, ${UUID}, 'audiosocket', 'default', 'p', 8000, 1000, 2000, ${JSON.stringify(FILES)}, 'vb-a'),
             (2, ${UUID}, 'audiosocket', 'default', 'p', 8000, 3000, NULL, '[]', 'vb-b')`;
    const rows = await openRecordingRows({ dataDir: mkdtempSync(join(tmpdir(), "vb-rr-")), store: target, nodeId: "vb-a" });
    expect(await rows?.call(UUID.toUpperCase())).toEqual({ id: 1, ended: true, recordings: FILES });
    await rows?.setRecordings(1, MP3);
    expect(await rows?.call(UUID)).toEqual({ id: 1, ended: true, recordings: MP3 });
    const [other] = await sql`SELECT recordings FROM calls WHERE id = 2`;
    expect(other).toEqual({ recordings: "[]" });
    await rows?.close();
    const b = await openRecordingRows({ dataDir: mkdtempSync(join(tmpdir(), "vb-rr-")), store: target, nodeId: "vb-b" });
    expect(await b?.call(UUID)).toEqual({ id: 2, ended: false, recordings: [] });
    expect(await b?.call("11111111-2222-3333-4444-555555555555")).toBeNull();
    await b?.close();
    await sql.close();
  }, 60_000);

  test("SQLite: the data dir's file; none yet, nothing to repoint", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "vb-rr-"));
    expect(await openRecordingRows({ dataDir, store: { kind: "sqlite", path: null }, nodeId: "vb-a" })).toBeNull();
    const store = Store.open(dataDir);
    const id = store.insertCall({ uuid: UUID, transport: "audiosocket", tenant: "default", caller: null, peer: "p", sampleRate: 8000, startedAt: 1000 });
    store.setCallRecordings(id, FILES);
    store.close();
    const rows = await openRecordingRows({ dataDir, store: { kind: "sqlite", path: null }, nodeId: "vb-a" });
    expect(await rows?.call(UUID)).toEqual({ id, ended: false, recordings: FILES });
    await rows?.setRecordings(id, MP3);
    expect((await rows?.call(UUID))?.recordings).toEqual(MP3);
    await rows?.close();
  });
});
