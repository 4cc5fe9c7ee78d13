/**
 * The PBX control clients' reconnection: waits capped at a second after a connection failure
 * (calls wait for ESL), longer after a refusal; ESL counts as connected only once subscribed, and
 * says so to whoever waits for it, after every reconnect.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { rootLogger } from "../../src/log.ts";
import { EslClient } from "../../src/transports/esl.ts";
import { DEFAULT_RECONNECT, reconnectDelayMs } from "../../src/transports/reconnect.ts";
import { startFakeEsl } from "../fakes/esl.ts";

const lines = captureLogLines();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("reconnectDelayMs", () => {
  test("after a connection failure no wait is over a second, whatever the attempt and the jitter", () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const random of [0, 0.5, 0.999999]) {
        const ms = reconnectDelayMs(DEFAULT_RECONNECT, attempt, false, random);
        expect(ms).toBeLessThanOrEqual(1000);
        expect(ms).toBeGreaterThan(0);
      }
    }
    expect(reconnectDelayMs(DEFAULT_RECONNECT, 0, false, 0.999999)).toBe(250);
    expect(reconnectDelayMs(DEFAULT_RECONNECT, 30, false, 0)).toBe(500);
  });

  test("after a refusal the steps keep doubling up to refusedMaxMs", () => {
    const steps = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => reconnectDelayMs(DEFAULT_RECONNECT, attempt, true, 0.999999));
    expect(steps).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});

describe("EslClient connection state", () => {
  test("connected only once the subscription is answered, and onConnected after each (re)connect", async () => {
    const fake = await startFakeEsl();
    const client = new EslClient({ host: fake.host, port: fake.port, password: "ClueCon", log: rootLogger.child("esl"), reconnect: { initialMs: 20, maxMs: 40 } });
    cleanups.push(() => client.stop(), () => fake.stop());
    let ups = 0;
    client.onConnected(() => ups++);
    fake.misbehave({ stallCommands: true });
    client.start();
    await fake.waitForCommand("event plain");
    // Events fired now could still be missed: nobody may count on them yet.
    expect(client.connected).toBe(false);
    fake.misbehave({ stallCommands: false });
    await waitFor("the subscription's answer", () => client.connected);
    expect(ups).toBe(1);
    fake.dropClients();
    await waitFor("the reconnection", () => ups === 2);
    expect(client.connected).toBe(true);
    expect(client.stats.reconnects).toBe(1);
  });

  test("a FreeSWITCH that goes away is retried without a log line per attempt, and found again when it is back", async () => {
    const fake = await startFakeEsl();
    const port = fake.port;
    const client = new EslClient({ host: fake.host, port, password: "ClueCon", log: rootLogger.child("esl"), reconnect: { initialMs: 10, maxMs: 20 } });
    cleanups.push(() => client.stop());
    client.start();
    await client.ready(2000);
    await fake.stop();
    await waitFor("the loss", () => !client.connected);
    await Bun.sleep(200);
    const back = await startFakeEsl({ port });
    cleanups.push(() => back.stop());
    await client.ready(2000);
    expect(lines.filter((line) => line.includes("cannot connect to FreeSWITCH ESL"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("ESL connected"))).toHaveLength(2);
  });
});
