/**
 * A keypad call over Asterisk chan_websocket through dist/voicebot: the simulated Asterisk dials
 * out to WEBSOCKET_PORT as websocket_client.conf would (subprotocol media, the token as Basic
 * auth's password, caller and DNIS in the v() query), hears the greeting through its model of
 * Asterisk's queue, presses digits as DTMF_END events and is hung up on with HANGUP once the
 * goodbye has played; the call is stored as transport websocket.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { E2E_TIMEOUT_MS, listenerOf, runCli, startServer, type RunningServer } from "./harness.ts";
import { endedCallRow } from "./store-rows.ts";

const TOKEN = "e2e-chan-websocket-token";
const ADMIN_TOKEN = "e2e-admin";
let server: RunningServer;
let websocket = "";

beforeAll(async () => {
  server = await startServer({ WEBSOCKET_TOKEN: TOKEN, ADMIN_TOKEN });
  websocket = await listenerOf(server, "websocket");
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
}, E2E_TIMEOUT_MS);

test("a keypad call: greeting heard, digits by DTMF_END, HANGUP after the goodbye played, stored as transport websocket", async () => {
  const refused = await new SimulatedCaller({ websocket: { url: `ws://${websocket}/asterisk`, token: "wrong" } }).run();
  expect(refused.connected).toBe(false);
  expect(refused.error).toContain("HTTP 401");

  const caller = new SimulatedCaller({
    websocket: { url: `ws://${websocket}/asterisk`, token: TOKEN, caller: "+33612345678", dnis: "3000" },
    script: [{ dtmf: "1" }, { dtmf: "1" }],
    greetingTimeoutMs: 10_000,
    signal: AbortSignal.timeout(90_000),
  });
  const result = await caller.run();
  expect(result.error).toBeNull();
  expect(result.greetingDelayMs).not.toBeNull();
  expect(result.greetingDelayMs!).toBeLessThan(2000);
  expect(result.digitsSent).toBe("11");
  expect(result.hungUpBy).toBe("server");
  expect(result.serverSentHangup).toBe(true);
  expect(result.utterances.length).toBeGreaterThanOrEqual(3);
  const ws = result.websocket!;
  // Only whole frames, never Asterisk's queue limits, and the goodbye played out before HANGUP.
  expect(ws.remainderBytes).toBe(0);
  expect(ws.framesDropped).toBe(0);
  expect(ws.xoffs).toBe(0);
  expect(ws.queuedAtHangupMs).toBe(0);
  expect(ws.maxFrames).toBeLessThan(25);

  // chan_websocket ends the call when the socket closes, which the caller sees before the server does.
  await endedCallRow(server, result.uuid);
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const call = (await (await fetch(`${server.http}/api/calls/${result.uuid}`, { headers: auth })).json()) as { transport: string; caller: string | null; dnis: string | null; endReason: string; sampleRate: number };
  expect(call).toMatchObject({ transport: "websocket", caller: "+33612345678", dnis: "3000", endReason: "resolved", sampleRate: 16000 });
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  expect(Number(/^voicebot_frames_in_total\{transport="websocket"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(100);
  expect(metrics).toMatch(/^voicebot_connections_rejected_total\{transport="websocket"\} 1$/m);
}, E2E_TIMEOUT_MS);

test("voicebot simulate --websocket places the same call from a shell, the token from WEBSOCKET_TOKEN", async () => {
  const r = await runCli(["simulate", "--websocket", websocket, "--dtmf", "1", "--dtmf", "1", "--seconds", "60"], { WEBSOCKET_TOKEN: TOKEN });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout.split("\n")[0]).toMatch(new RegExp(`^call [0-9a-f-]{36} to ${websocket} at 16000 Hz \\(Asterisk chan_websocket, slin\\)$`));
  expect(r.stdout).toContain("server hung up (HANGUP)");
  expect(r.stdout).toMatch(/0 remainder bytes dropped; 0 frames dropped/);
}, E2E_TIMEOUT_MS);
