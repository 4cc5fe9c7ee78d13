import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import { E2E_TIMEOUT_MS, runCli, startServer, type RunningServer } from "./harness.ts";
import { describeLengths, recordingLengths } from "./recording-lengths.ts";

/** The compiled binary answering calls placed by its own simulator, as a PBX would. */
let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
}, E2E_TIMEOUT_MS);

function target(): string {
  return `${server.audiosocket.host}:${server.audiosocket.port}`;
}

interface SimJson {
  uuid: string;
  connected: boolean;
  greetingDelayMs: number | null;
  hungUpBy: string;
  serverSentHangup: boolean;
  error: string | null;
  utterances: { startMs: number; durationMs: number }[];
}

async function simulate(args: string[]): Promise<SimJson> {
  const r = await runCli(["simulate", "--audiosocket", target(), "--json", ...args]);
  if (r.code !== 0) throw new Error(`simulate exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as SimJson;
}

/** The server's count of clock ticks given up, from /metrics. */
async function skippedTicks(): Promise<number> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  return Number(/^voicebot_clock_skipped_ticks_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function showCall(uuid: string): Promise<Record<string, unknown>> {
  const r = await runCli(["calls", "show", uuid, "--json", "--data-dir", server.dataDir]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe("offline SAV call through dist/voicebot", () => {
  test("internet problem solved: resolved ticket, both channels recorded", async () => {
    const wav = join(tmpdir(), `voicebot-heard-${process.pid}.wav`);
    const sim = await simulate(["--dtmf", "1", "--dtmf", "1", "--seconds", "60", "--record", wav]);
    expect(sim.connected).toBe(true);
    expect(sim.error).toBeNull();
    expect(sim.hungUpBy).toBe("server");
    expect(sim.serverSentHangup).toBe(true);
    expect(sim.greetingDelayMs).not.toBeNull();
    expect(sim.utterances.length).toBeGreaterThanOrEqual(3);
    expect(statSync(wav).size).toBeGreaterThan(44 + 8000 * 2 * 5);

    const call = await showCall(sim.uuid);
    expect(call.endReason).toBe("resolved");
    expect(call.sampleRate).toBe(8000);
    const recordings = call.recordings as { channel: string; path: string; sampleRate: number }[];
    expect(recordings.map((r) => r.channel).sort()).toEqual(["bot", "caller"]);
    for (const r of recordings) {
      expect(r.sampleRate).toBe(8000);
      expect(existsSync(r.path)).toBe(true);
      expect(statSync(r.path).size).toBeGreaterThan(0);
    }
    const turns = call.turns as { speaker: string; text: string }[];
    expect(turns.filter((t) => t.speaker === "caller").map((t) => t.text)).toEqual(["1", "1"]);
    expect(turns.some((t) => t.speaker === "bot" && /tapez 1/i.test(t.text))).toBe(true);

    const tickets = JSON.parse((await runCli(["tickets", "list", "--json", "--data-dir", server.dataDir])).stdout) as
      { id: number; callId: number; status: string; problemType: string }[];
    const ticket = tickets.find((t) => t.callId === call.id);
    expect(ticket).toMatchObject({ status: "resolved", problemType: "internet" });
  }, E2E_TIMEOUT_MS);

  test("mobile problem not solved at 16 kHz: number typed, confirmed, escalated", async () => {
    const sim = await simulate(["--rate", "16000", "--dtmf", "2", "--dtmf", "2", "--dtmf", "0612345678#", "--dtmf", "1", "--seconds", "90"]);
    expect(sim.hungUpBy).toBe("server");
    const call = await showCall(sim.uuid);
    expect(call.endReason).toBe("escalated");
    expect(call.sampleRate).toBe(16000);
    const tickets = call.tickets as { status: string; problemType: string; phone: string }[];
    expect(tickets[0]).toMatchObject({ status: "escalated", problemType: "mobile", phone: "0612345678" });
    const recordings = call.recordings as { path: string; sampleRate: number }[];
    expect(recordings.every((r) => r.sampleRate === 16000 && r.path.includes(".16000."))).toBe(true);
  }, E2E_TIMEOUT_MS);

  test("caller hangs up during the menu: call ends cleanly, ticket abandoned", async () => {
    const sim = await simulate(["--seconds", "3"]);
    expect(sim.hungUpBy).toBe("caller");
    let call = await showCall(sim.uuid);
    for (let i = 0; i < 50 && call.endedAt === null; i++) {
      await Bun.sleep(100);
      call = await showCall(sim.uuid);
    }
    expect(call.endReason).toBe("caller-hangup");
    expect((call.tickets as { status: string }[])[0]?.status).toBe("abandoned");
  }, E2E_TIMEOUT_MS);

  test("a caller id of 0000000000 (FreeSWITCH's \"none\") is no number: the caller is asked to type one", async () => {
    const uuid = crypto.randomUUID();
    const registered = await fetch(`${server.http}/api/calls/${uuid}`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "caller=0000000000&dnis=777",
    });
    expect(await registered.text()).toBe("waiting");
    const r = await new SimulatedCaller({ ...server.audiosocket, uuid, greetingTimeoutMs: 10_000, script: [{ dtmf: "3", at: 1 }, { hangupAfter: 8 }] }).run();
    expect(r.error).toBeNull();
    let call = await showCall(uuid);
    for (let i = 0; i < 50 && call.endedAt === null; i++) {
      await Bun.sleep(100);
      call = await showCall(uuid);
    }
    expect(call.caller).toBeNull();
    const said = (call.turns as { speaker: string; text: string }[]).filter((t) => t.speaker === "bot").map((t) => t.text).join(" ");
    expect(said).toContain("Tapez votre numéro de téléphone");
    expect(said).not.toContain("au numéro depuis lequel vous appelez");
  }, E2E_TIMEOUT_MS);

  test("a malformed connection is closed alone while a call goes on", async () => {
    const running = simulate(["--dtmf", "1", "--dtmf", "1", "--seconds", "60"]);
    await Bun.sleep(1000);
    const closed = await new Promise<boolean>((resolve) => {
      const sock = connect(server.audiosocket.port, server.audiosocket.host, () => {
        sock.write(Buffer.from([0x01, 0x00, 0x10, ...new Array<number>(16).fill(7), 0x42, 0x00, 0x03, 1, 2, 3]));
      });
      sock.on("close", () => resolve(true));
      sock.on("error", () => undefined);
    });
    expect(closed).toBe(true);
    const sim = await running;
    expect(sim.hungUpBy).toBe("server");
    expect((await showCall(sim.uuid)).endReason).toBe("resolved");
    const faultLines = server.logs().split("\n").filter((l) => / WARN .*unknown message kind 0x42/.test(l));
    expect(faultLines).toHaveLength(1);
    expect(faultLines[0]).toContain("07070707-0707-0707-0707-070707070707");
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    expect(metrics).toMatch(/voicebot_protocol_errors_total\{transport="audiosocket"\} 1/);
  }, E2E_TIMEOUT_MS);

  test("a server stopped for 0.6 s mid-call: logged; the recording's channels keep the call's time, the stop as silence on the bot's", async () => {
    const skippedBefore = await skippedTicks();
    const running = simulate(["--dtmf", "1", "--dtmf", "1", "--seconds", "60"]);
    await Bun.sleep(4000);
    // Longer than the clock catches up (two periods): the ticks of the rest are given up.
    server.signal("SIGSTOP");
    await Bun.sleep(600);
    server.signal("SIGCONT");
    const sim = await running;
    expect(sim.hungUpBy).toBe("server");
    expect((await skippedTicks()) - skippedBefore).toBeGreaterThanOrEqual(20 * 4);
    // The admin is told: a hold-up this long would have Asterisk hang up past 2 s.
    expect(server.logs()).toMatch(/ WARN .*the event loop was held up: every call's audio stopped meanwhile .* ms=(5[5-9]\d|[6-9]\d\d|\d{4})\b/);
    const lengths = await recordingLengths(server, sim.uuid);
    console.log(`stopped 0.6 s: ${describeLengths(lengths)}`);
    expect(Math.abs(lengths.caller - lengths.bot)).toBeLessThanOrEqual(2);
    expect(lengths.bot).toBeLessThanOrEqual(lengths.call + 2);
    expect(lengths.bot).toBeGreaterThanOrEqual(lengths.call - 25);
  }, E2E_TIMEOUT_MS);
});
