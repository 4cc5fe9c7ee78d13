/**
 * An ASP call through dist/voicebot, the test standing in for the PABX Docker media server
 * (src/simulate/asp-wire.ts: capabilities awaited, session.start with caller metadata, no audio
 * before the greeting's response.end, 1600-byte chunks after). Offline mode: the keypad greeting is
 * heard; ASP carries no DTMF, so the caller hangs up. The call is stored as transport "asp" with the
 * caller from the metadata, and `voicebot simulate --asp` places the same call from a shell.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { E2E_TIMEOUT_MS, listenerOf, runCli, startServer, type RunningServer } from "./harness.ts";
import { endedCallRow } from "./store-rows.ts";

const ADMIN_TOKEN = "e2e-asp-admin";
const ASP_TOKEN = "e2e-asp-t0ken";
let server: RunningServer;
let asp = "";

beforeAll(async () => {
  server = await startServer({ ADMIN_TOKEN, ASP_TOKEN });
  asp = await listenerOf(server, "asp");
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
}, E2E_TIMEOUT_MS);

interface StoredCall {
  transport: string;
  caller: string | null;
  endReason: string | null;
  sampleRate: number;
  events: { kind: string; detail: string | null }[];
}

/** The call as the API shows it, once the server has ended it (the caller sees the close first). */
async function stored(uuid: string): Promise<StoredCall> {
  await endedCallRow(server, uuid);
  return (await (await fetch(`${server.http}/api/calls/${uuid}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as StoredCall;
}

test("a keypad call over ASP: greeting heard, caller hangs up, stored as transport asp with the metadata's caller", async () => {
  const refused = await new SimulatedCaller({ asp: { url: `ws://${asp}/` } }).run();
  expect(refused.connected).toBe(false);

  const caller = new SimulatedCaller({
    asp: { url: `ws://${asp}/?token=${ASP_TOKEN}`, caller: "0612345678" },
    script: [{ hangupAfter: 12 }],
    greetingTimeoutMs: 10_000,
    signal: AbortSignal.timeout(90_000),
  });
  const result = await caller.run();
  expect(result.error).toBeNull();
  expect(result.connected).toBe(true);
  expect(result.greetingDelayMs).not.toBeNull();
  expect(result.hungUpBy).toBe("caller");
  expect(result.utterances.length).toBeGreaterThanOrEqual(1);

  const call = await stored(result.uuid);
  expect(call).toMatchObject({ transport: "asp", caller: "0612345678", sampleRate: 8000 });
  const metadata = JSON.parse(call.events.find((e) => e.kind === "metadata")?.detail ?? "{}") as Record<string, unknown>;
  expect(metadata).toMatchObject({ source: "media-server", caller_number: "0612345678" });
  expect(String(metadata.call_id)).toContain("@voicebot-simulate");
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  expect(Number(/^voicebot_frames_out_total\{transport="asp"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(100);
  expect(metrics).toMatch(/^voicebot_connections_rejected_total\{transport="asp"\} 1$/m);
  expect(server.logs()).toMatch(/asp .*session started call=[0-9a-f-]{36} status=accepted rate=8000/);
}, E2E_TIMEOUT_MS);

test("voicebot simulate --asp places the same call from a shell, ASP_TOKEN from the environment", async () => {
  const r = await runCli(["simulate", "--asp", asp, "--rate", "16000", "--seconds", "10"], { ASP_TOKEN });
  expect(r.code).toBe(0);
  const uuid = /^call ([0-9a-f-]{36}) /.exec(r.stdout)?.[1] as string;
  expect(r.stdout).toMatch(/bot speaks/);
  const call = await stored(uuid);
  expect(call).toMatchObject({ transport: "asp", sampleRate: 16000 });
}, E2E_TIMEOUT_MS);
