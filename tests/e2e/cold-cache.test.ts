/**
 * The first start after install (no phrase cache) with a slow cloud voice: a call placed as soon
 * as the binary listens is greeted long before the whole phrase set is rendered, and the set is
 * still rendered and kept on disk behind it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { startFakeHttp, type FakeHttpServer } from "../fakes/http.ts";
import { createFakeSpeech, type FakeSpeech } from "../fakes/speech.ts";
import { E2E_TIMEOUT_MS, startServer, type RunningServer } from "./harness.ts";

const KEY = "e2e-key";
/** Each of the ~40 phrases waits this long for its first byte, four at a time: the set takes seconds. */
const FIRST_BYTE_MS = 400;
/** Loose: the greeting needs one first byte, the whole set about ten of them one after another. */
const GREETING_BOUND_MS = 2000;

interface Health {
  phrases: string;
  phrasesInMemory: number;
  phrasesTotal: number;
  greetings: string;
}

async function health(server: RunningServer): Promise<Health> {
  return (await (await fetch(`${server.http}/healthz`)).json()) as Health;
}

function phraseFiles(dataDir: string, rate: number): string[] {
  const root = join(dataDir, "cache", "phrases");
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((voice) => readdirSync(join(root, voice.name, String(rate))).filter((name) => name.endsWith(".pcm")));
}

describe("cold phrase cache, cloud voice with a slow first byte", () => {
  let speech: FakeSpeech;
  let http: FakeHttpServer;
  let server: RunningServer;

  beforeAll(async () => {
    speech = createFakeSpeech({ apiKey: KEY, ttfbMs: FIRST_BYTE_MS });
    http = startFakeHttp([speech]);
    server = await startServer({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${http.url}/v1` }, [], { waitForPhrases: false });
  });
  afterAll(async () => {
    await server?.stop();
    await http?.stop();
  });

  test("a call placed at once is greeted while the phrases render; the whole set still lands on disk", async () => {
    const result = await new SimulatedCaller({ ...server.audiosocket, script: [{ hangupAfter: 2.5 }], greetingTimeoutMs: GREETING_BOUND_MS }).run();
    expect(result.error).toBeNull();
    expect(result.greetingDelayMs).not.toBeNull();
    expect(result.greetingDelayMs as number).toBeLessThan(GREETING_BOUND_MS);
    // The call is over and the set is not: the greeting did not wait for it.
    const during = await health(server);
    expect(during.phrases).toBe("loading");
    expect(during.phrasesInMemory).toBeLessThan(during.phrasesTotal);

    let after = during;
    for (let i = 0; i < 600 && after.phrases !== "ready"; i++) {
      await Bun.sleep(100);
      after = await health(server);
    }
    expect(after).toMatchObject({ phrases: "ready", greetings: "cached" });
    expect(after.phrasesInMemory).toBe(after.phrasesTotal);
    console.log(`cold cache: greeting ${Math.round(result.greetingDelayMs as number)} ms after connect; ${speech.counts.requests} speech requests`);
    const perRate = after.phrasesTotal / 2;
    expect(phraseFiles(server.dataDir, 8000).length).toBe(perRate);
    expect(phraseFiles(server.dataDir, 16000).length).toBe(perRate);
    // Each phrase was synthesized once for both rates, plus at most the greeting said live.
    expect(speech.counts.requests).toBeLessThanOrEqual(perRate + 2);
  }, E2E_TIMEOUT_MS);
});
