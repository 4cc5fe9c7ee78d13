/**
 * The compiled binary answering FreeSWITCH-style calls placed by its own simulator: mod_audio_stream
 * over WebSocket, DTMF and hang-up over the simulator's fake FreeSWITCH Event Socket, in both
 * playback modes (stream: the voxcom-us fork; file: the community module and uuid_broadcast).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { E2E_TIMEOUT_MS, listenerOf, runCli, startServer, type RunningServer } from "./harness.ts";
import { describeLengths, recordingLengths } from "./recording-lengths.ts";

interface SimJson {
  uuid: string;
  connected: boolean;
  error: string | null;
  hungUpBy: string;
  serverSentHangup: boolean;
  greetingDelayMs: number | null;
  digitsSent: string;
  utterances: { startMs: number; durationMs: number }[];
  audiostream: { playback: string; messages: number; filesWritten: number; filesPlayed: number; endedBy: string | null } | null;
}

/** A TCP port free now, for the fake Event Socket voicebot is told about before it exists. */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

for (const playback of ["stream", "file"] as const) {
  describe(`offline SAV call over mod_audio_stream, ${playback} playback, through dist/voicebot`, () => {
    let server: RunningServer;
    let streamPort = 0;
    const eslPort = freePort();

    beforeAll(async () => {
      server = await startServer({ ESL_HOST: "127.0.0.1", ESL_PORT: String(eslPort), AUDIOSTREAM_PLAYBACK: playback }, ["--audiostream", "127.0.0.1:0"]);
      streamPort = Number((await listenerOf(server, "audiostream")).split(":").pop());
    }, E2E_TIMEOUT_MS);

    afterAll(async () => {
      expect(await server.stop()).toBe(0);
    }, E2E_TIMEOUT_MS);

    test("the greeting is heard, the digits reach the dialog over ESL, a ticket is made, and voicebot hangs up with uuid_kill", async () => {
      expect(streamPort).toBeGreaterThan(0);
      const uuid = crypto.randomUUID();
      const r = await runCli([
        "simulate", "--audiostream", `ws://127.0.0.1:${streamPort}/stream/default/${uuid}`, "--esl-port", String(eslPort),
        "--playback", playback, "--dtmf", "1", "--dtmf", "1", "--seconds", "90", "--json",
      ]);
      if (r.code !== 0) throw new Error(`simulate exited ${r.code}:\n${r.stdout}\n${r.stderr}\n--- server ---\n${server.logs()}`);
      const sim = JSON.parse(r.stdout) as SimJson;
      expect(sim.uuid).toBe(uuid);
      expect(sim.connected).toBe(true);
      expect(sim.error).toBeNull();
      expect(sim.greetingDelayMs).not.toBeNull();
      expect(sim.digitsSent).toBe("11");
      expect(sim.hungUpBy).toBe("server");
      expect(sim.serverSentHangup).toBe(true);
      expect(sim.audiostream?.endedBy).toBe("uuid_kill");
      expect(sim.audiostream?.messages).toBeGreaterThan(0);
      if (playback === "file") expect(sim.audiostream?.filesPlayed).toBeGreaterThan(0);
      expect(sim.utterances.length).toBeGreaterThanOrEqual(3);

      const shown = await runCli(["calls", "show", uuid, "--json", "--data-dir", server.dataDir]);
      expect(shown.code).toBe(0);
      const call = JSON.parse(shown.stdout) as { endReason: string; sampleRate: number; tickets: { status: string; problemType: string }[] };
      expect(call.endReason).toBe("resolved");
      expect(call.sampleRate).toBe(16000);
      expect(call.tickets[0]).toMatchObject({ status: "resolved", problemType: "internet" });
    }, E2E_TIMEOUT_MS);

    test("the recording's two channels last as long as the call, even when a key cuts a prompt FreeSWITCH had queued", async () => {
      const uuid = crypto.randomUUID();
      // 2 at 3 s cuts the menu (uuid_break in file mode: audio sent but never played), 1 when quiet ends the call.
      const r = await runCli([
        "simulate", "--audiostream", `ws://127.0.0.1:${streamPort}/stream/default/${uuid}`, "--esl-port", String(eslPort),
        "--playback", playback, "--dtmf", "2@3", "--dtmf", "1", "--seconds", "90", "--json",
      ]);
      if (r.code !== 0) throw new Error(`simulate exited ${r.code}:\n${r.stdout}\n${r.stderr}\n--- server ---\n${server.logs()}`);
      const lengths = await recordingLengths(server, uuid);
      console.log(`${playback} playback: ${describeLengths(lengths)}`);
      const { call: duration, caller, bot } = lengths;
      expect(Math.abs(caller - bot)).toBeLessThanOrEqual(2);
      // A frame a tick, the ticks a loaded machine's clock skipped included (as silence), from the
      // recording's start to the end: never more than the call (the bug: +13 s), less by the moments
      // before the recording started.
      expect(bot).toBeLessThanOrEqual(duration + 2);
      expect(bot).toBeGreaterThanOrEqual(duration - 25);
    }, E2E_TIMEOUT_MS);
  });
}
