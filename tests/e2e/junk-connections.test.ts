import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { AudioSocketParser, Kind, rateForKind, uuidToString } from "../../src/transports/audiosocket-codec.ts";
import { anyInput, chunk, chunkSizes } from "../support/audiosocket-fuzz-inputs.ts";
import { E2E_TIMEOUT_MS, startServer, type RunningServer } from "./harness.ts";

/**
 * The fuzz tests' byte streams sent to dist/voicebot: a connection that gives a valid UUID and
 * then anything but the caller's audio never reaches the dialog. Its call row stays (the audit
 * trail, with its end reason) but it opens no ticket and leaves no recording.
 */
let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  expect(server.logs()).not.toContain("unhandled rejection");
  expect(await server.stop()).toBe(0);
}, E2E_TIMEOUT_MS);

interface Junk {
  uuid: string;
  bytes: Uint8Array;
  sizes: number[];
  /** The bytes break the protocol after the UUID: the server closes with protocol-error. */
  protocolError: boolean;
}

/** The call id, when the stream starts with a valid UUID and no audio message follows it before the end or a fault. */
function junkCall(bytes: Uint8Array, sizes: number[]): Junk | null {
  let uuid: string | null = null;
  let audio = false;
  let over = false;
  const parser = new AudioSocketParser((kind, payload) => {
    if (over) return;
    if (uuid === null) {
      if (kind === Kind.Uuid) uuid = uuidToString(payload);
      over = uuid === null;
      return;
    }
    if (rateForKind(kind) !== undefined) audio = true;
    // A second UUID is a fault; hang-up and error end the call.
    over = kind === Kind.Uuid || kind === Kind.Hangup || kind === Kind.Error;
  });
  let protocolError = false;
  try {
    parser.push(bytes);
  } catch {
    // A fault after the hang-up (0x00) or error (0xff) message is never read: the call ended there.
    protocolError = !over;
  }
  if (uuid === null || audio) return null;
  return { uuid, bytes, sizes, protocolError };
}

async function send(junk: Junk): Promise<void> {
  let closed = false;
  const socket = await Bun.connect({
    hostname: server.audiosocket.host, port: server.audiosocket.port,
    socket: { data: () => {}, close: () => void (closed = true), error: () => {} },
  });
  for (const c of chunk(junk.bytes, junk.sizes)) {
    if (socket.write(c) < c.length) break;
  }
  const deadline = performance.now() + 40;
  while (!closed && performance.now() < deadline) await Bun.sleep(2);
  if (!closed) socket.end();
}

function query<T>(sql: string, ...args: string[]): T[] {
  const db = new Database(join(server.dataDir, "voicebot.db"), { readonly: true });
  try {
    return db.query<T, string[]>(sql).all(...args);
  } finally {
    db.close();
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

describe("junk after a valid UUID", () => {
  test("the fuzz inputs that never send audio: rows kept with their end reason, no ticket, no recording", async () => {
    const samples = fc.sample(fc.tuple(anyInput, chunkSizes), { numRuns: 400, seed: 11 });
    const seen = new Set<string>();
    const junk = samples.flatMap(([bytes, sizes]) => {
      const j = junkCall(bytes, sizes);
      if (j === null || seen.has(j.uuid)) return [];
      seen.add(j.uuid);
      return [j];
    });
    expect(junk.filter((j) => j.protocolError).length).toBeGreaterThanOrEqual(20);
    for (const j of junk) await send(j);

    type Row = { uuid: string; end_reason: string | null; recordings: string; tickets: number };
    const sql = `SELECT c.uuid, c.end_reason, c.recordings, (SELECT COUNT(*) FROM tickets t WHERE t.call_id = c.id) AS tickets
                 FROM calls c WHERE c.uuid = ?`;
    const rows = async (j: Junk): Promise<Row> => {
      for (let i = 0; i < 100; i++) {
        const [row] = query<Row>(sql, j.uuid);
        if (row && row.end_reason !== null) return row;
        await Bun.sleep(50);
      }
      throw new Error(`no ended call row for ${j.uuid}`);
    };
    for (const j of junk) {
      const row = await rows(j);
      if (j.protocolError) expect(row.end_reason).toBe("protocol-error");
      expect(row.tickets).toBe(0);
      expect(row.recordings).toBe("[]");
    }
    const recorded = filesUnder(join(server.dataDir, "recordings"));
    expect(recorded.filter((name) => junk.some((j) => name.includes(j.uuid)))).toEqual([]);
    expect(query<{ n: number }>("SELECT COUNT(*) AS n FROM tickets")).toEqual([{ n: 0 }]);
  }, E2E_TIMEOUT_MS);
});
