/**
 * `voicebot bench --fleet N`: N `serve` processes on this host, a simulated PBX spreading the
 * keypad calls over them as the rendered dialplan does (round-robin, passing over a full or
 * unreachable appliance), and, with --store-url, one PostgreSQL they share. --store-outage cuts
 * that PostgreSQL away (every connection dropped, new ones refused, through a relay) for a while
 * in the middle of the run; at the end the bench waits for the appliances' queued writes and
 * counts in PostgreSQL what they stored: every call placed, each ticket number once.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseStoreUrl, type StoreTarget } from "../config/store-url.ts";
import { connectPg } from "../store/pg/connect.ts";
import { describeArrival, type Arrival } from "../simulate/arrival.ts";
import { simulatedPbxClock } from "../simulate/caller.ts";
import { CutProxy } from "../simulate/cut-proxy.ts";
import { hostCpuUse, readHostCpu } from "../simulate/host-cpu.ts";
import { SimulatedPbx, type FleetNode } from "../simulate/pbx-fleet.ts";
import { failedCount, newOutcomes, redialCallers } from "../simulate/redial.ts";
import { ServerProcess, type Endpoint } from "../simulate/server-process.ts";
import { callerFigures, newTally, record } from "./bench-report.ts";
import { KEYPAD_GREETING_TIMEOUT_MS, KEYPAD_SCRIPT, keypadFailureOf, NO_PROVIDER_KEYS } from "./bench-keypad.ts";
import { printJson } from "./command.ts";

export interface FleetBenchOptions {
  calls: number;
  nodes: number;
  arrival: Arrival;
  /** The most the run may take. */
  seconds: number;
  /** null = each appliance its own SQLite. */
  storeUrl: string | null;
  /** PostgreSQL cut away for this long (s), starting `outageAtSeconds` into the run. */
  outageSeconds: number | null;
  outageAtSeconds: number;
  json: boolean;
}

/** How long the appliances may take to send what they queued during an outage. */
const FLUSH_WAIT_MS = 120_000;

interface StoreCount {
  calls: number;
  unended: number;
  tickets: number;
  distinctTickets: number;
}

interface StoreHealthView {
  state?: string;
  queued?: number;
}

async function storeHealth(http: Endpoint): Promise<StoreHealthView | null> {
  try {
    const res = await fetch(`http://${http.host}:${http.port}/healthz`);
    const body = (await res.json()) as { store?: StoreHealthView };
    return body.store ?? null;
  } catch {
    return null;
  }
}

/** True once every appliance's store reports nothing queued; false when the wait ran out first. */
async function untilFlushed(servers: readonly ServerProcess[]): Promise<boolean> {
  const deadline = performance.now() + FLUSH_WAIT_MS;
  while (performance.now() < deadline) {
    const states = await Promise.all(servers.map((s) => storeHealth(s.http)));
    if (states.every((s) => s !== null && s.state === "ok" && (s.queued ?? 0) === 0)) return true;
    await Bun.sleep(250);
  }
  return false;
}

/** The target's host and port replaced by the relay's. */
function throughProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
}

async function countStored(target: Extract<StoreTarget, { kind: "postgres" }>, nodes: readonly string[]): Promise<StoreCount> {
  const sql = await connectPg(target, { max: 1 });
  try {
    const [row] = await sql`SELECT
        (SELECT count(*) FROM calls WHERE node_id IN ${sql(nodes)})::int AS calls,
        (SELECT count(*) FROM calls WHERE node_id IN ${sql(nodes)} AND ended_at IS NULL)::int AS unended,
        (SELECT count(*) FROM tickets t JOIN calls c ON c.id = t.call_id WHERE c.node_id IN ${sql(nodes)})::int AS tickets,
        (SELECT count(DISTINCT t.id) FROM tickets t JOIN calls c ON c.id = t.call_id WHERE c.node_id IN ${sql(nodes)})::int AS "distinctTickets"`;
    return row as StoreCount;
  } finally {
    await sql.close();
  }
}

export async function runFleetBench(o: FleetBenchOptions): Promise<number> {
  const say = (line: string): void => {
    if (!o.json) process.stderr.write(`bench: ${line}\n`);
  };
  const target = o.storeUrl === null ? null : parseStoreUrl(o.storeUrl);
  if (target !== null && target.kind !== "postgres") throw new Error("--store-url must be a postgres:// URL (without it each appliance keeps its own SQLite)");
  const tempDir = mkdtempSync(join(tmpdir(), "voicebot-bench-fleet-"));
  const run = crypto.randomUUID().slice(0, 8);
  const nodeIds = Array.from({ length: o.nodes }, (_, i) => `bench-${run}-${i + 1}`);
  const servers: ServerProcess[] = [];
  const stop = new AbortController();
  let proxy: CutProxy | null = null;
  const staged: { outage: { atMs: number; ms: number } | null } = { outage: null };
  try {
    if (target !== null && o.outageSeconds !== null) {
      const u = new URL(target.url);
      proxy = await CutProxy.start(u.hostname.replace(/^\[(.*)\]$/, "$1"), u.port === "" ? 5432 : Number(u.port));
    }
    const configFile = join(tempDir, "bench.env");
    writeFileSync(configFile, "# empty: the bench measures the embedded defaults\n");
    say(`starting ${o.nodes} voicebot serve processes${target === null ? " (each its own SQLite)" : ` sharing PostgreSQL at ${target.shown}`}...`);
    for (const [i, node] of nodeIds.entries()) {
      const env: Record<string, string> = { ...NO_PROVIDER_KEYS, VOICEBOT_NODE_ID: node };
      if (target !== null) env.VOICEBOT_STORE_URL = proxy === null ? target.url : throughProxy(target.url, proxy.port);
      servers.push(await ServerProcess.start({ dataDir: join(tempDir, `node-${i + 1}`), maxCalls: o.calls + 10, extraArgs: ["--config", configFile], signal: stop.signal, env }));
    }
    const fleet: FleetNode[] = servers.map((s, i) => ({ name: nodeIds[i] as string, admin: `http://${s.http.host}:${s.http.port}`, audiosocket: s.audiosocket }));
    const pbx = new SimulatedPbx({ nodes: fleet, order: "round-robin", token: null });
    const perNode = new Map<string, number>(nodeIds.map((n) => [n, 0]));

    const outcomes = newOutcomes();
    const tally = newTally(outcomes);
    const clock = simulatedPbxClock();
    const hostBefore = readHostCpu();
    const wallStart = performance.now();
    const timer = setTimeout(() => stop.abort(), o.seconds * 1000);
    let outageTimer: ReturnType<typeof setTimeout> | null = null;
    if (proxy !== null && o.outageSeconds !== null) {
      const cutter = proxy;
      const ms = o.outageSeconds * 1000;
      outageTimer = setTimeout(() => {
        staged.outage = { atMs: Math.round(performance.now() - wallStart), ms };
        say(`PostgreSQL cut away for ${o.outageSeconds} s`);
        cutter.cut(ms);
      }, o.outageAtSeconds * 1000);
    }
    say(`${o.calls} keypad calls arriving ${describeArrival(o.arrival)}, spread round-robin over ${o.nodes} appliances...`);
    const unreachable = await redialCallers({
      calls: o.calls, rampMs: 2000, arrival: o.arrival, once: true, clock, signal: stop.signal,
      failureOf: keypadFailureOf,
      onResult: (r) => record(tally, r),
      call: async () => {
        const uuid = crypto.randomUUID();
        const { node } = await pbx.choose(uuid);
        if (node === null) return "no appliance took the call";
        perNode.set(node.name, (perNode.get(node.name) ?? 0) + 1);
        return { ...node.audiosocket, uuid, sampleRate: 8000, script: KEYPAD_SCRIPT, greetingTimeoutMs: KEYPAD_GREETING_TIMEOUT_MS };
      },
    }, outcomes);
    clearTimeout(timer);
    if (outageTimer !== null) clearTimeout(outageTimer);
    const wallMs = performance.now() - wallStart;
    const host = hostCpuUse(hostBefore, readHostCpu());
    if (unreachable !== null) throw new Error(unreachable);

    let store: (StoreCount & { flushed: boolean; placed: number; lost: number }) | null = null;
    if (target !== null && target.kind === "postgres") {
      say("waiting for the appliances to send what they queued...");
      const flushed = await untilFlushed(servers);
      const counted = await countStored(target, nodeIds);
      const placed = outcomes.dialed - (outcomes.failures.get("no appliance took the call") ?? 0);
      store = { ...counted, flushed, placed, lost: placed - counted.calls };
    }
    const failed = failedCount(outcomes);
    const figures = callerFigures(tally);
    const result = {
      calls: o.calls, nodes: o.nodes, arrival: o.arrival, store: target === null ? "sqlite (one per appliance)" : `postgres ${target.shown}`,
      completed: outcomes.completed, failed, failures: Object.fromEntries(outcomes.failures), perNode: Object.fromEntries(perNode),
      ...figures, outage: staged.outage, stored: store, host, seconds: Math.round(wallMs / 100) / 10,
    };
    if (o.json) printJson(result);
    else process.stdout.write(formatFleet(result));
    const storeBad = store !== null && (!store.flushed || store.lost !== 0 || store.unended !== 0 || store.distinctTickets !== store.tickets);
    return failed > 0 || storeBad ? 1 : 0;
  } finally {
    stop.abort();
    await Promise.all(servers.map((s) => s.stop()));
    await proxy?.close();
    rmSync(tempDir, { recursive: true, force: true });
  }
}

function formatFleet(r: {
  calls: number; nodes: number; store: string; completed: number; failed: number; failures: Record<string, number>; perNode: Record<string, number>;
  greetingDelayMs: { p50: number | null; p99: number | null }; jitterMs: { p99: number | null }; longestGapMs: { max: number | null };
  outage: { atMs: number; ms: number } | null; stored: (StoreCount & { flushed: boolean; placed: number; lost: number }) | null;
  host: { stealPercent: number } | null; seconds: number;
}): string {
  const lines = [
    `Fleet: ${r.calls} keypad calls over ${r.nodes} appliances, store ${r.store}`,
    `  calls: ${r.completed} completed, ${r.failed} failed; per appliance ${Object.entries(r.perNode).map(([n, c]) => `${n}=${c}`).join(", ")}`,
    ...Object.entries(r.failures).map(([why, n]) => `    ${n} × ${why}`),
    `  greeting p50 ${r.greetingDelayMs.p50} ms, p99 ${r.greetingDelayMs.p99} ms; jitter p99 ${r.jitterMs.p99} ms; worst gap ${r.longestGapMs.max} ms`,
  ];
  if (r.outage !== null) lines.push(`  PostgreSQL cut away ${r.outage.ms / 1000} s from ${(r.outage.atMs / 1000).toFixed(1)} s into the run`);
  if (r.stored !== null) {
    const s = r.stored;
    lines.push(`  stored: ${s.calls} of ${s.placed} calls (${s.lost} lost), ${s.unended} left unended, ${s.tickets} tickets with ${s.distinctTickets} distinct numbers${s.flushed ? "" : "; the queued writes were NOT all sent within the wait"}`);
  }
  lines.push(`  host steal ${r.host?.stealPercent ?? "?"} %; ${r.seconds} s`);
  return `${lines.join("\n")}\n`;
}
