/**
 * A storm of calls arriving together on the compiled binary: every one gets its greeting, and the
 * call already in progress keeps getting its frames while they are admitted (counts and order,
 * with bounds loose enough for a loaded 2-core machine).
 */
import { expect, test } from "bun:test";
import { SimulatedCaller, simulatedPbxClock } from "../../src/simulate/caller.ts";
import type { CallResult } from "../../src/simulate/call-types.ts";
import { E2E_TIMEOUT_MS, runCli, startServer } from "./harness.ts";

const STORM = 100;

/** /metrics once no call is active and the admission queue is empty (or after 15 s, as it is then). */
async function settled(http: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = await (await fetch(`${http}/metrics`)).text();
    const idle = /^voicebot_active_calls 0$/m.test(text) && /^voicebot_admission_waiting 0$/m.test(text);
    if (idle || Date.now() > deadline) return text;
    await Bun.sleep(100);
  }
}
const RUNNING_SECONDS = 10;

test("100 calls at once: all greeted, and the call in progress keeps its frames", async () => {
  const server = await startServer({}, ["--max-calls", String(STORM + 10)]);
  try {
    const clock = simulatedPbxClock();
    const running = new SimulatedCaller({ ...server.audiosocket, clock, script: [{ hangupAfter: RUNNING_SECONDS }], greetingTimeoutMs: 5000 });
    const runningDone = running.run();
    // The storm comes once the running call is well into its greeting.
    await Bun.sleep(2000);
    const storm = await Promise.all(Array.from({ length: STORM }, () =>
      new SimulatedCaller({ ...server.audiosocket, clock, script: [{ hangupAfter: 5 }], greetingTimeoutMs: 10_000 }).run()));
    const first: CallResult = await runningDone;

    const failed = storm.filter((r) => r.error !== null || r.greetingDelayMs === null);
    expect(failed.map((r) => r.error ?? "no greeting")).toEqual([]);
    expect(storm.every((r) => r.hungUpBy === "caller")).toBe(true);

    expect(first.error).toBeNull();
    expect(first.hungUpBy).toBe("caller");
    expect(first.greetingDelayMs).not.toBeNull();
    // A frame every 20 ms for the whole call, the storm included: most of them, and never the
    // PBX's 2 s silence (the simulated Asterisk would have failed the call).
    expect(first.frames).toBeGreaterThan((RUNNING_SECONDS * 1000 / 20) * 0.7);
    expect(first.longestGapMs).toBeLessThan(1000);

    // The callers have hung up; the server hears of it on its next turns, and ends the calls
    // through the admission queue: wait for that before reading what it stored.
    const metrics = await settled(server.http);
    expect(metrics).toContain(`voicebot_calls_started_total ${STORM + 1}`);
    expect(metrics).toMatch(/^voicebot_admission_waiting 0$/m);
    const listed = await runCli(["calls", "list", "--json", "--limit", "500", "--data-dir", server.dataDir]);
    const calls = JSON.parse(listed.stdout) as { endReason: string | null }[];
    expect(calls).toHaveLength(STORM + 1);
    expect(calls.every((c) => c.endReason === "caller-hangup")).toBe(true);
  } finally {
    await server.stop();
  }
}, E2E_TIMEOUT_MS);
