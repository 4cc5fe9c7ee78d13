/**
 * FreeSWITCH file mode (the community mod_audio_stream) through dist/voicebot when its Event Socket
 * is not there: the bot's audio only reaches the caller by `::play` events and `uuid_broadcast`, so
 * what the bot says while ESL is down must wait for it, and ESL must be found again within a second.
 * A fake FreeSWITCH whose Event Socket stops and starts on the same port, as a restart does.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { FakeFreeswitch } from "../../src/simulate/fake-freeswitch.ts";
import { E2E_TIMEOUT_MS, listenerOf, startServer, type RunningServer } from "./harness.ts";

let freeswitch: FakeFreeswitch;
let server: RunningServer;
let streamBase = "";

beforeAll(async () => {
  freeswitch = await FakeFreeswitch.start();
  server = await startServer({ ...freeswitch.serverEnv(), AUDIOSTREAM_PLAYBACK: "file" });
  await freeswitch.waitForVoicebot(10_000);
  streamBase = `ws://${await listenerOf(server, "audiostream")}/stream/default`;
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  expect(server.logs()).not.toContain("unhandled rejection");
  expect(await server.stop()).toBe(0);
  await freeswitch.stop();
}, E2E_TIMEOUT_MS);

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (line === undefined) throw new Error(`/metrics has no ${name}`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- server ---\n${server.logs()}`);
    await Bun.sleep(20);
  }
}

/** FreeSWITCH's Event Socket comes back; resolves with how long voicebot took to log in and subscribe again. */
async function backAndReconnected(): Promise<number> {
  const backAt = performance.now();
  freeswitch.listenAgain();
  await freeswitch.waitForVoicebot(5000);
  return performance.now() - backAt;
}

function call(uuid: string, script: ConstructorParameters<typeof SimulatedCaller>[0]["script"]): ReturnType<SimulatedCaller["run"]> {
  return new SimulatedCaller({ audiostream: { url: `${streamBase}/${uuid}`, playback: "file", freeswitch }, uuid, greetingTimeoutMs: 12_000, script }).run();
}

describe("file mode across ESL gaps", () => {
  test("a call placed while ESL is down hears its greeting once ESL is up, and the metric counts the wait", async () => {
    freeswitch.stopListening();
    await until("voicebot to see ESL down", async () => (await metric('voicebot_pbx_control_up{link="esl"}')) === 0);
    const uuid = crypto.randomUUID();
    const result = call(uuid, [{ hangupAfter: 4 }]);
    await until("the greeting to wait for ESL", () => server.logs().split("\n").some((l) => l.includes("ESL is down: the bot's audio waits") && l.includes(uuid)));
    const reconnectMs = await backAndReconnected();
    console.log(`ESL back → voicebot logged in and subscribed: ${reconnectMs.toFixed(0)} ms`);
    expect(reconnectMs).toBeLessThan(3000);
    const r = await result;
    expect(r.error).toBeNull();
    expect(r.greetingDelayMs).not.toBeNull();
    expect(r.audiostream?.filesPlayed).toBeGreaterThan(0);
    expect(await metric("voicebot_esl_playback_deferred_total")).toBeGreaterThan(0);
    expect(await metric("voicebot_esl_playback_dropped_total")).toBe(0);
    expect(server.logs().split("\n").filter((l) => l.includes("ESL is back") && l.includes(uuid))).toHaveLength(1);
  }, E2E_TIMEOUT_MS);

  test("ESL lost mid-greeting and back: voicebot is in again within about a second, and the rest of the greeting is played over the new connection", async () => {
    const uuid = crypto.randomUUID();
    const result = call(uuid, [{ hangupAfter: 5 }]);
    await freeswitch.waitForCommand(`bgapi uuid_broadcast ${uuid}`, 12_000);
    freeswitch.stopListening();
    await Bun.sleep(300);
    const reconnectMs = await backAndReconnected();
    console.log(`ESL back mid-call → voicebot logged in and subscribed: ${reconnectMs.toFixed(0)} ms`);
    expect(reconnectMs).toBeLessThan(3000);
    const r = await result;
    expect(r.error).toBeNull();
    expect(r.audiostream?.filesPlayed).toBeGreaterThanOrEqual(2);
    // The greeting heard on past the gap (before it, FreeSWITCH had a file or two): what the bot
    // said meanwhile waited and was not lost.
    expect(r.utterances.reduce((ms, u) => ms + u.durationMs, 0)).toBeGreaterThan(2500);
    expect(server.logs().split("\n").filter((l) => l.includes("ESL is back") && l.includes(uuid))).toHaveLength(1);
  }, E2E_TIMEOUT_MS);
});
