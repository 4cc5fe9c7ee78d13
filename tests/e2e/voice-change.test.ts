/**
 * A voice change: the phrases on disk are eSpeak's, the service restarts with a (slow) cloud voice.
 * While the cloud voice renders, a call is greeted at once from eSpeak's files, not after the cloud
 * voice's first byte; the new voice's render goes on behind it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { createFakeSpeech } from "../fakes/speech.ts";
import { E2E_TIMEOUT_MS, startServer, type RunningServer } from "./harness.ts";

const KEY = "e2e-key";
/** Far above what a greeting from memory takes, even on a loaded host. */
const FIRST_BYTE_MS = 1500;

describe("voice change", () => {
  let http: FakeHttpServer | null = null;
  let server: RunningServer | null = null;
  let dataDir: string | null = null;
  afterAll(async () => {
    await server?.stop();
    await http?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test("while the new voice renders, calls hear the old voice's phrases from disk at once", async () => {
    const offline = await startServer();
    dataDir = offline.dataDir;
    offline.signal("SIGTERM");
    expect(await offline.exited).toBe(0);

    const speech = createFakeSpeech({ apiKey: KEY, ttfbMs: FIRST_BYTE_MS });
    http = startFakeHttp([speech]);
    server = await startServer({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${http.url}/v1` }, ["--data-dir", dataDir], { waitForPhrases: false });
    const result = await new SimulatedCaller({ ...server.audiosocket, script: [{ hangupAfter: 2 }], greetingTimeoutMs: 2000 }).run();
    console.log(`voice change: greeting ${Math.round(result.greetingDelayMs ?? -1)} ms after connect (the new voice's first byte takes ${FIRST_BYTE_MS} ms)`);
    expect(result.error).toBeNull();
    expect(result.greetingDelayMs as number).toBeLessThan(FIRST_BYTE_MS);
    expect(server.logs()).toMatch(/phrase cache is stale \(built for espeak-ng:fr, now openai:[^)]*\).*calls hear espeak-ng:fr's phrases \(82 found\)/);
    const health = (await (await fetch(`${server.http}/healthz`)).json()) as { phrases: string; greetings: string };
    expect(health).toMatchObject({ phrases: "loading", greetings: "cached" });
  }, E2E_TIMEOUT_MS);
});
