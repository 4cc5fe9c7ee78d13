/**
 * The keypad flow with no DTMF events on the wire: FreeSWITCH mod_audio_stream with no ESL
 * configured (DTMF_INBAND left at auto), the caller pressing keys as tones in its audio, at 16 and
 * 8 kHz; and an AudioSocket call with DTMF_INBAND=on, where the tones would otherwise be ignored.
 * Through dist/voicebot and its own simulator (`simulate --inband-dtmf`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { E2E_TIMEOUT_MS, listenerOf, runCli, startServer, type RunningServer } from "./harness.ts";

interface SimJson {
  connected: boolean;
  error: string | null;
  hungUpBy: string;
  digitsSent: string;
}

async function simulate(server: RunningServer, args: string[]): Promise<SimJson> {
  const r = await runCli(["simulate", ...args, "--inband-dtmf", "--dtmf", "1", "--dtmf", "1", "--seconds", "90", "--json"]);
  if (r.code !== 0) throw new Error(`simulate exited ${r.code}:\n${r.stdout}\n${r.stderr}\n--- server ---\n${server.logs()}`);
  return JSON.parse(r.stdout) as SimJson;
}

async function expectResolved(server: RunningServer, uuid: string, rate: number): Promise<void> {
  const shown = await runCli(["calls", "show", uuid, "--json", "--data-dir", server.dataDir]);
  expect(shown.code).toBe(0);
  const call = JSON.parse(shown.stdout) as { endReason: string; sampleRate: number; tickets: { status: string; problemType: string }[] };
  expect(call.endReason).toBe("resolved");
  expect(call.sampleRate).toBe(rate);
  expect(call.tickets[0]).toMatchObject({ status: "resolved", problemType: "internet" });
}

async function inbandDigits(server: RunningServer): Promise<number> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  return Number(/^voicebot_dtmf_inband_total (\d+)$/m.exec(text)?.[1] ?? NaN);
}

describe("keypad calls from tones in the audio, through dist/voicebot", () => {
  let server: RunningServer;
  let streamPort = 0;

  beforeAll(async () => {
    server = await startServer({ AUDIOSTREAM_PLAYBACK: "stream" });
    streamPort = Number((await listenerOf(server, "audiostream")).split(":").pop());
  }, E2E_TIMEOUT_MS);

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  }, E2E_TIMEOUT_MS);

  for (const rate of [16000, 8000]) {
    test(`mod_audio_stream without ESL at ${rate} Hz: menu, question, ticket, goodbye`, async () => {
      const uuid = crypto.randomUUID();
      const before = await inbandDigits(server);
      const sim = await simulate(server, ["--audiostream", `ws://127.0.0.1:${streamPort}/stream/default/${uuid}`, "--playback", "stream", "--rate", String(rate)]);
      expect(sim.connected).toBe(true);
      expect(sim.error).toBeNull();
      expect(sim.digitsSent).toBe("11");
      expect(sim.hungUpBy).toBe("server");
      await expectResolved(server, uuid, rate);
      expect(await inbandDigits(server)).toBe(before + 2);
      expect(server.logs()).toContain("keypad digit heard in the audio (in-band DTMF)");
    }, E2E_TIMEOUT_MS);
  }
});

describe("AudioSocket with DTMF_INBAND=on, through dist/voicebot", () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ DTMF_INBAND: "on" });
  }, E2E_TIMEOUT_MS);

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  }, E2E_TIMEOUT_MS);

  test("tones instead of 0x03 messages complete the keypad flow", async () => {
    const uuid = crypto.randomUUID();
    const sim = await simulate(server, ["--audiosocket", `${server.audiosocket.host}:${server.audiosocket.port}`, "--uuid", uuid]);
    expect(sim.error).toBeNull();
    expect(sim.digitsSent).toBe("11");
    expect(sim.hungUpBy).toBe("server");
    await expectResolved(server, uuid, 8000);
    expect(await inbandDigits(server)).toBe(2);
  }, E2E_TIMEOUT_MS);
});
