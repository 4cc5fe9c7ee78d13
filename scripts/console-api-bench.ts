/**
 * The console's history at scale: fills a store in a temp dir with N synthetic calls (4 turns
 * each, a ticket on every third), starts the admin server on it, and times GET /api/calls?limit=50
 * with and without filters and text search (over HTTP, JSON parsed, as the page will). With
 * --browser it then opens the console's history in headless Chromium and times each filter from
 * the address change to the page of 50 rows painted.
 *
 *   ./node_modules/.bin/bun scripts/console-api-bench.ts [--calls 100000] [--runs 30] [--browser]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LiveFeed } from "../src/admin/api-live.ts";
import { startAdminServer } from "../src/admin/server.ts";
import { rootLogger } from "../src/log.ts";
import { HistoryReader } from "../src/store/history-reader.ts";
import { SqliteReader } from "../src/store/sqlite-reader.ts";
import { Store } from "../src/store/store.ts";
import { timePageRenders } from "./console-render-bench.ts";

const { values } = parseArgs({ options: { calls: { type: "string", default: "100000" }, runs: { type: "string", default: "30" }, browser: { type: "boolean", default: false } } });
const calls = Number(values.calls);
const runs = Number(values.runs);
const WORDS = ["box", "internet", "téléphone", "facture", "coupure", "wifi", "fibre", "routeur", "lent", "rappel", "technicien", "panne", "mot", "passe", "télévision", "décodeur"];
const REASONS = ["resolved", "transfer", "caller-hangup", "silence", "escalated"];
const STATUSES = ["resolved", "escalated", "abandoned"] as const;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const SPAN = 300 * 86_400_000;

/** mulberry32: the same store every run. */
let seed = 42;
const rand = (n: number): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
};
/** Half the words from the desk's few common ones, half from a long tail of 2,000 rarer ones. */
const sentence = (n: number): string => Array.from({ length: n }, () => (rand(2) ? WORDS[rand(WORDS.length)] : `mot${rand(2000)}`)).join(" ");

const dir = mkdtempSync(join(tmpdir(), "voicebot-console-bench-"));
const store = Store.open(dir);
const filling = performance.now();
const fill = (i: number): void => {
  const startedAt = T0 + Math.floor((i / calls) * SPAN) + rand(60_000);
  const id = store.insertCall({ uuid: crypto.randomUUID(), transport: "audiosocket", tenant: `tenant-${rand(10)}`, caller: `06${String(rand(20_000)).padStart(8, "0")}`, peer: "10.0.0.1:4000", sampleRate: 8000, startedAt });
  for (let t = 0; t < 4; t++) store.addTurn(id, { speaker: t % 2 ? "caller" : "bot", text: sentence(6 + rand(10)), startedAt: startedAt + t * 4000, endedAt: startedAt + t * 4000 + 3000 });
  if (i % 3 === 0) {
    const ticket = store.openTicket(id, { at: startedAt + 20_000, problemType: WORDS[rand(4)] });
    store.updateTicket(ticket, { status: STATUSES[rand(STATUSES.length)], at: startedAt + 30_000 });
  }
  store.endCall(id, { endedAt: startedAt + 30_000 + rand(200_000), reason: REASONS[rand(REASONS.length)] as string });
};
for (let from = 0; from < calls; from += 5000) store.transaction(() => {
  for (let i = from; i < Math.min(calls, from + 5000); i++) fill(i);
});
console.log(`filled ${calls} calls in ${((performance.now() - filling) / 1000).toFixed(1)} s (${dir})`);

const reader = new SqliteReader(store, new HistoryReader(dir));
const admin = startAdminServer({
  host: "127.0.0.1", port: 0, log: rootLogger, tokens: { admin: "bench", pbx: null },
  health: () => ({ ready: true, body: {} }), metrics: () => [],
  console: { reader, live: new LiveFeed(store, reader, null), tenants: () => [], modes: () => ({}), health: () => ({}), metrics: () => [] },
});
const base = `http://127.0.0.1:${admin.port}`;
const QUERIES = [
  "limit=50",
  "limit=50&tenant=tenant-3",
  "limit=50&reason=transfer&ticket=escalated",
  "limit=50&from=2026-06-01&to=2026-06-15",
  "limit=50&caller=0600012345",
  "limit=50&caller=0600012345&q=box",
  "limit=50&q=box",
  "limit=50&q=technicien%20fibre",
  "limit=50&q=routeur%20panne&tenant=tenant-3",
  "limit=50&q=mot1234",
  "limit=50&q=mot77%20mot1999",
];
console.log("query | calls | median ms | p95 ms | max ms");
for (const q of QUERIES) {
  const times: number[] = [];
  let count = 0;
  let cursor: string | null = null;
  for (let r = 0; r < runs; r++) {
    // Every other run asks the next page: keyset paging deep into the history.
    const url: string = `${base}/api/calls?${q}${r % 2 && cursor ? `&cursor=${cursor}` : ""}`;
    const t = performance.now();
    const page = (await (await fetch(url, { headers: { authorization: "Bearer bench" } })).json()) as { calls: unknown[]; next: string | null };
    times.push(performance.now() - t);
    count = page.calls.length;
    cursor = page.next;
  }
  times.sort((a, b) => a - b);
  const at = (p: number): string => (times[Math.min(times.length - 1, Math.floor(p * times.length))] as number).toFixed(1);
  console.log(`${q} | ${count} | ${at(0.5)} | ${at(0.95)} | ${at(1)}`);
}
if (values.browser) await timePageRenders(base, "bench", QUERIES.map((q) => q.replace(/^limit=50&?/, "")), runs);
await admin.stop();
store.close();
rmSync(dir, { recursive: true, force: true });
