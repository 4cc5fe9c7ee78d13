import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { openDatabase } from "../../src/store/db.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { Store } from "../../src/store/store.ts";
import { rootLogger } from "../../src/log.ts";
import { tempStores } from "../support/temp-stores.ts";

const { tempDir, open, close } = tempStores("voicebot-search-");
const T0 = Date.UTC(2026, 11, 7, 9, 30, 0);

function newCall(store: Store): number {
  return store.insertCall({ uuid: "5d3f1c2a-9b8e-4f70-a1b2-c3d4e5f60718", transport: "audiosocket", tenant: "default", caller: "0612345678", peer: "10.0.0.5:1", sampleRate: 8000, startedAt: T0 });
}

/** Call ids whose turns match `text`, as the console's search finds them. */
function found(store: Store, text: string): number[] {
  return store.pageCalls({ text }, 50, null).calls.map((c) => c.id);
}

/** FTS5's own check that turns_fts holds exactly the indexed texts (it throws on a stale entry). */
function checkIndex(dataDir: string): void {
  const db = new Database(join(dataDir, "voicebot.db"));
  try {
    db.run("INSERT INTO turns_fts(turns_fts, rank) VALUES ('integrity-check', 1)");
  } finally {
    db.close();
  }
}

/** What `found` gives once serve's indexing has caught up (given up after 3 s). */
async function foundOnceIndexed(store: Store, text: string): Promise<number[]> {
  for (let waited = 0; found(store, text).length === 0 && waited < 3000; waited += 20) await Bun.sleep(20);
  return found(store, text);
}

/** Closes the store, then has FTS5 check that the index holds exactly the indexed texts. */
function closeAndCheck(store: Store, dataDir: string): void {
  close(store);
  checkIndex(dataDir);
}

describe("turn texts in the search index", () => {
  test("without background indexing (the CLI, tests) a turn is found as soon as it is added", () => {
    const dir = tempDir();
    const store = open(dir);
    const call = newCall(store);
    store.addTurn(call, { speaker: "caller", text: "ma box clignote en rouge", startedAt: T0 });
    expect(found(store, "clignote")).toEqual([call]);
    closeAndCheck(store, dir);
  });

  test("serve's background indexing: found a moment later; texts changed before or after indexing are found as they are now", async () => {
    const dir = tempDir();
    const store = open(dir);
    store.indexSearchInBackground(rootLogger);
    const call = newCall(store);
    const greeting = store.addTurn(call, { speaker: "bot", text: "débranchez la box trente secondes", startedAt: T0 });
    const reply = store.addTurn(call, { speaker: "bot", text: "", startedAt: T0 + 4000 });
    // Not on the call path: the turn is stored, its text not indexed yet.
    expect(found(store, "débranchez")).toEqual([]);
    // A reply's text is set once its audio stops, possibly before its turn was indexed.
    store.setTurnText(reply, "le routeur redémarre");
    expect(await foundOnceIndexed(store, "routeur")).toEqual([call]);
    expect(found(store, "debranchez")).toEqual([call]);
    // Changed after indexing: the triggers keep the index in step.
    store.setTurnText(greeting, "rebranchez le modem");
    await Bun.sleep(0);
    expect(found(store, "modem")).toEqual([call]);
    expect(found(store, "débranchez")).toEqual([]);
    // What the timer had no time for is indexed at close.
    store.addTurn(call, { speaker: "caller", text: "merci beaucoup", startedAt: T0 + 9000 });
    closeAndCheck(store, dir);
    const reopened = open(dir, { readonly: true });
    expect(found(reopened, "merci")).toEqual([call]);
  });

  test("a store opened again indexes the texts a crash left unindexed", async () => {
    const dir = tempDir();
    const first = open(dir);
    const call = newCall(first);
    close(first);
    // As serve leaves it when killed between a turn and the next batch.
    const db = new Database(join(dir, "voicebot.db"));
    db.run("INSERT INTO turns (call_id, speaker, text, started_at) VALUES (?, 'caller', 'la fibre est coupée', ?)", [call, T0]);
    db.close();
    const store = open(dir);
    expect(found(store, "fibre")).toEqual([]);
    store.indexSearchInBackground(rootLogger);
    expect(await foundOnceIndexed(store, "fibre")).toEqual([call]);
    closeAndCheck(store, dir);
  });

  test("a batch that keeps failing is logged once, and its recovery once; the turns wait, none is lost", async () => {
    const dir = tempDir();
    const store = open(dir);
    const lines: string[] = [];
    const log = { ...rootLogger, error: (msg: string) => void lines.push(`error ${msg}`), info: (msg: string) => void lines.push(`info ${msg}`) };
    const call = newCall(store);
    // The index out of reach (a hand-made change to the database): every batch fails.
    const other = new Database(join(dir, "voicebot.db"));
    other.run("ALTER TABLE turns_fts RENAME TO turns_fts_away");
    store.indexSearchInBackground(log);
    store.addTurn(call, { speaker: "caller", text: "allô la box", startedAt: T0 });
    await Bun.sleep(300);
    other.run("ALTER TABLE turns_fts_away RENAME TO turns_fts");
    other.close();
    expect(await foundOnceIndexed(store, "allo")).toEqual([call]);
    expect(lines).toEqual(["error store: turn texts could not be indexed for search; retrying every 50 ms", "info store: turn texts are indexed for search again"]);
    closeAndCheck(store, dir);
  });

  test("migration 6 keeps what version 5 indexed, and indexes nothing twice", () => {
    const dir = tempDir();
    const v5 = openDatabase(dir, {}, MIGRATIONS.slice(0, 5));
    v5.run("INSERT INTO calls (uuid, transport, tenant, peer, sample_rate, started_at) VALUES ('old-call', 'audiosocket', 'default', 'p', 8000, ?)", [T0]);
    v5.run("INSERT INTO turns (call_id, speaker, text, started_at) VALUES (1, 'bot', 'Bonjour, service après-vente', ?)", [T0]);
    v5.close();
    const store = open(dir);
    expect(found(store, "apres")).toEqual([1]);
    store.setTurnText(1, "Bonsoir");
    expect(found(store, "apres")).toEqual([]);
    expect(found(store, "bonsoir")).toEqual([1]);
    closeAndCheck(store, dir);
  });
});
