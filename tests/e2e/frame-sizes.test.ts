import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult, ScriptStep } from "../../src/simulate/call-types.ts";
import { startReframingProxy, type Recut } from "../support/reframing-proxy.ts";
import { startAiFakes, type AiFakes } from "./ai-fakes.ts";
import { E2E_TIMEOUT_MS, startServer, type RunningServer } from "./harness.ts";
import { queryStore } from "./store-reads.ts";

/**
 * Real PBXes do not keep to 20 ms frames: a Playback() ends on a short one (138 samples killed AI
 * calls), trunks send 30-60 ms, and `c(ulaw)` sends μ-law labelled as slin whose last frame has an
 * odd length. Calls through dist/voicebot with the caller's audio re-cut that way must run as usual.
 */
const BOX = "Bonjour mon internet ne marche plus.";
const WAIT = "Attendez je la débranche tout de suite.";
const WORKS = "Voilà ça marche maintenant merci.";
/** 1 to 1000 samples, mixed within the call: Asterisk's odd tails among trunk packet sizes. */
const MIXED: Recut = { sizes: [138, 25, 1, 160, 240, 1000, 7, 480, 320, 999, 80, 333, 2] };

let fakes: AiFakes;
let ai: RunningServer;
let keypad: RunningServer;
const wide = new Map<string, Int16Array>();

beforeAll(async () => {
  fakes = await startAiFakes([BOX, WAIT, WORKS]);
  const pool = createResamplerPool({ size: 1 });
  for (const [text, pcm] of fakes.audio) wide.set(text, await pool.resample(pcm.slice(), 8000, 16000)); // the pool takes (detaches) its input
  await pool.close();
  [ai, keypad] = await Promise.all([startServer(fakes.env), startServer()]);
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  for (const server of [ai, keypad]) {
    expect(server.logs()).not.toContain("call handler failed");
    expect(server.logs()).not.toContain("protocol error");
    expect(server.logs()).not.toContain("a part of the call failed");
    expect(await server.stop()).toBe(0);
  }
  await fakes.stop();
}, E2E_TIMEOUT_MS);

type Step = string | { over: string } | { dtmf: string };

/** One call through a proxy that re-cuts the caller's audio; `seconds` is when the caller hangs up. */
async function call(server: RunningServer, recut: Recut, steps: Step[], options: { rate?: number; seconds?: number } = {}) {
  const rate = options.rate ?? 8000;
  const speech = (text: string): Int16Array => (rate === 8000 ? fakes.audio : wide).get(text) as Int16Array;
  fakes.words = steps.flatMap((s) => (typeof s === "string" ? [s] : "over" in s ? [s.over] : []));
  const script: ScriptStep[] = steps.map((s) =>
    typeof s === "string" ? { say: speech(s) } : "over" in s ? { say: speech(s.over), overBotAfterMs: 1000 } : { dtmf: s.dtmf });
  script.push({ hangupAfter: options.seconds ?? 60 });
  const proxy = await startReframingProxy(server.audiosocket, recut);
  try {
    const result: CallResult = await new SimulatedCaller({ host: "127.0.0.1", port: proxy.port, sampleRate: rate, script, greetingTimeoutMs: 10_000 }).run();
    const row = await callRow(server, result.uuid);
    return { result, sizes: new Set(proxy.messageSizes), row };
  } finally {
    proxy.stop();
  }
}

/** The call's row once the server has closed it (the caller may see the hang-up first). */
async function callRow(server: RunningServer, uuid: string): Promise<{ id: number; end_reason: string; ticket: string | null }> {
  for (let i = 0; ; i++) {
    const [row] = queryStore<{ id: number; end_reason: string | null; ticket: string | null }>(server,
      "SELECT c.id, c.end_reason, t.status AS ticket FROM calls c LEFT JOIN tickets t ON t.call_id = c.id WHERE c.uuid = ? ORDER BY c.id DESC LIMIT 1", uuid);
    if ((row && row.end_reason !== null) || i === 100) return row as { id: number; end_reason: string; ticket: string | null };
    await Bun.sleep(50);
  }
}

function eventsOf(server: RunningServer, callId: number, kind: string): string[] {
  return queryStore<{ detail: string }>(server, "SELECT detail FROM events WHERE call_id = ? AND kind = ?", callId, kind).map((r) => r.detail);
}

describe("caller frames of any size, mixed within a call", () => {
  test("AI call at 8 kHz: the dialog completes, and speaking over the bot still cuts it off", async () => {
    const { result, sizes, row } = await call(ai, MIXED, [BOX, { over: WAIT }, WORKS]);
    expect(result.error).toBeNull();
    expect(result.hungUpBy).toBe("server");
    expect(sizes.size).toBeGreaterThan(5);
    expect(row).toMatchObject({ end_reason: "resolved", ticket: "resolved" });
    expect(result.bargeInStopMs.length).toBe(1);
    expect(eventsOf(ai, row.id, "barge-in").length).toBeGreaterThanOrEqual(1);
    expect(ai.logs()).not.toContain("VAD:");
  }, E2E_TIMEOUT_MS);

  test("AI call at 16 kHz: the dialog completes", async () => {
    const { result, row } = await call(ai, MIXED, [BOX, WORKS], { rate: 16000 });
    expect(result.hungUpBy).toBe("server");
    expect(row).toMatchObject({ end_reason: "resolved", ticket: "resolved" });
  }, E2E_TIMEOUT_MS);

  test("keypad calls at 8 and 16 kHz: the dialog completes", async () => {
    for (const rate of [8000, 16000]) {
      const { result, row } = await call(keypad, MIXED, [{ dtmf: "1" }, { dtmf: "1" }], { rate });
      expect(result.hungUpBy).toBe("server");
      expect(row).toMatchObject({ end_reason: "resolved", ticket: "resolved" });
    }
  }, E2E_TIMEOUT_MS);
});

describe("μ-law labelled as slin (Dial(AudioSocket/…/c(ulaw)))", () => {
  test("a caller whose last frame is 149 bytes: decoded, and the call ends as the caller's hang-up", async () => {
    const { result, row } = await call(ai, { mulawTailBytes: 149 }, [BOX], { seconds: 6 });
    expect(result.hungUpBy).toBe("caller");
    expect(row).toMatchObject({ end_reason: "caller-hangup", ticket: "abandoned" });
    expect(eventsOf(ai, row.id, "hangup")).toEqual(["caller"]);
    expect(ai.logs()).toContain("μ-law labelled as slin");
  }, E2E_TIMEOUT_MS);
});

describe("a recorder that fails", () => {
  test("the call goes on to its end; the log says the recording stopped, naming the call", async () => {
    const recordings = join(keypad.dataDir, "recordings");
    rmSync(recordings, { recursive: true, force: true });
    writeFileSync(recordings, "not a directory: every recording write fails");
    const { result, row } = await call(keypad, MIXED, [{ dtmf: "1" }, { dtmf: "1" }]);
    expect(result.hungUpBy).toBe("server");
    expect(row).toMatchObject({ end_reason: "resolved", ticket: "resolved" });
    const stopped = keypad.logs().split("\n").filter((line) => line.includes("recording stopped"));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toContain(result.uuid);
  }, E2E_TIMEOUT_MS);
});
