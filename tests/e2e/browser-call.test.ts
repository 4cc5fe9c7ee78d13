/**
 * The console's test call through dist/voicebot: sign in with ADMIN_TOKEN, open /api/try-call with
 * the session cookie as the page does (the test standing in for the page: 16 kHz frames every
 * 20 ms), hear the keypad greeting, press digits, be hung up on, and find the call in /api/calls
 * as transport "browser", signed with who placed it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { E2E_TIMEOUT_MS, runCli, startServer, type RunningServer } from "./harness.ts";
import { endedCallRow } from "./store-rows.ts";

const ADMIN_TOKEN = "e2e-console-token";
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ ADMIN_TOKEN });
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
}, E2E_TIMEOUT_MS);

async function signIn(): Promise<string> {
  const res = await fetch(`${server.http}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: ADMIN_TOKEN, name: "desk-lead" }) });
  expect(res.status).toBe(200);
  return (res.headers.get("set-cookie") as string).split(";")[0] as string;
}

test("a keypad test call from the console: greeting, digits, hung up on, stored as transport browser", async () => {
  const refused = new SimulatedCaller({ browser: { admin: server.http, token: null } });
  const unsigned = await refused.run();
  expect(unsigned.connected).toBe(false);
  expect(unsigned.error).toContain("HTTP 401");

  const cookie = await signIn();
  const caller = new SimulatedCaller({
    browser: { admin: server.http, token: null, cookie, caller: "0612345678" },
    script: [{ dtmf: "1" }, { dtmf: "1" }],
    greetingTimeoutMs: 10_000,
    signal: AbortSignal.timeout(90_000),
  });
  const result = await caller.run();
  expect(result.error).toBeNull();
  expect(result.connected).toBe(true);
  expect(result.greetingDelayMs).not.toBeNull();
  expect(result.digitsSent).toBe("11");
  expect(result.hungUpBy).toBe("server");
  expect(result.serverSentHangup).toBe(true);
  expect(result.utterances.length).toBeGreaterThanOrEqual(3);

  // The server ends the call when the socket closes, which the caller sees first.
  await endedCallRow(server, result.uuid);
  const listed = (await (await fetch(`${server.http}/api/calls`, { headers: { cookie } })).json()) as { calls: { uuid: string; transport: string; caller: string | null; endReason: string | null }[] };
  const row = listed.calls.find((c) => c.uuid === result.uuid);
  expect(row).toMatchObject({ transport: "browser", caller: "0612345678", endReason: "resolved" });
  const detail = (await (await fetch(`${server.http}/api/calls/${result.uuid}`, { headers: { cookie } })).json()) as { sampleRate: number; events: { kind: string; detail: string | null }[] };
  expect(detail.sampleRate).toBe(16000);
  const metadata = detail.events.find((e) => e.kind === "metadata");
  expect(JSON.parse(metadata?.detail ?? "{}")).toEqual({ source: "console", who: "desk-lead", via: "session" });
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  expect(Number(/^voicebot_frames_in_total\{transport="browser"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(100);
  expect(metrics).toMatch(/^voicebot_connections_rejected_total\{transport="browser"\} 1$/m);
}, E2E_TIMEOUT_MS);

test("voicebot simulate --browser places the same test call from a shell, with the token from the environment", async () => {
  const admin = server.http.replace("http://", "");
  const noToken = await runCli(["simulate", "--browser", admin]);
  expect(noToken.code).toBe(2);
  expect(noToken.stderr).toContain("ADMIN_TOKEN");
  const r = await runCli(["simulate", "--browser", admin, "--dtmf", "1", "--dtmf", "1", "--seconds", "60"], { ADMIN_TOKEN });
  expect(r.code).toBe(0);
  const first = r.stdout.split("\n")[0] as string;
  expect(first).toMatch(new RegExp(`^call [0-9a-f-]{36} to ${admin} at 16000 Hz \\(the console's test call\\)$`));
  const uuid = first.split(" ")[1] as string;
  await endedCallRow(server, uuid);
  const call = (await (await fetch(`${server.http}/api/calls/${uuid}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { transport: string; endReason: string; events: { kind: string; detail: string | null }[] };
  expect(call).toMatchObject({ transport: "browser", endReason: "resolved" });
  expect(JSON.parse(call.events.find((e) => e.kind === "metadata")?.detail ?? "{}")).toEqual({ source: "console", who: "token", via: "token" });
}, E2E_TIMEOUT_MS);
