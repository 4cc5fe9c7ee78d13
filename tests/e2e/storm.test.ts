/**
 * A storm of calls arriving together on the compiled binary: every one gets its greeting, and the
 * call already in progress keeps getting its frames while they are admitted (counts and order,
 * with bounds loose enough for a loaded 2-core machine).
 */
import { expect, test } from "bun:test";
import { SimulatedCaller, simulatedPbxClock, type CallResult } from "../../src/simulate/caller.ts";
import { E2E_TIMEOUT_MS, runCli, startServer } from "./harness.ts";

const STORM = 100;
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

    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    expect(metrics).toContain(`voicebot_calls_started_total ${STORM + 1}`);
    expect(metrics).toMatch(/voicebot_admission_waiting 0\b/);
    const listed = await runCli(["calls", "list", "--json", "--limit", "500", "--data-dir", server.dataDir]);
    const calls = JSON.parse(listed.stdout) as { endReason: string | null }[];
    expect(calls).toHaveLength(STORM + 1);
    expect(calls.every((c) => c.endReason === "caller-hangup")).toBe(true);
  } finally {
    await server.stop();
  }
}, E2E_TIMEOUT_MS);
