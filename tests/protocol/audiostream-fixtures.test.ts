/**
 * Every WebSocket a real FreeSWITCH 1.10.12 + mod_audio_stream opened in the captures
 * (/work/shared/fixtures/audiostream), replayed to the server: the recorded path and extra headers,
 * then each upstream frame in order with its recorded size, cut from the recorded raw audio.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { rootLogger } from "../../src/log.ts";
import { startAudioStreamServer, type AudioStreamServer } from "../../src/transports/audiostream.ts";
import { AudioStreamConnection } from "../../src/transports/audiostream-connection.ts";
import type { MixType } from "../../src/transports/audiostream-url.ts";
import type { ChannelListener, FreeswitchMediaControl } from "../../src/transports/freeswitch-control.ts";
import { newTransportStats, type CallLeg, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";

const FIXTURES = "/work/shared/fixtures/audiostream";

const lines = captureLogLines();

interface FrameEvent {
  dir: "in" | "out" | "note";
  type: string;
  size?: number;
  text?: string;
  code?: number;
  reason?: string;
}

/** One recorded WebSocket, with the layout its raw file and dialplan name say it had. */
interface Capture {
  scenario: string;
  name: string;
  path: string;
  headers: Record<string, string>;
  events: FrameEvent[];
  raw: Uint8Array;
  rate: number;
  mix: MixType;
}

const STANDARD_HEADERS = new Set(["host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"]);

function loadCapture(scenario: string, name: string): Capture {
  const dir = join(FIXTURES, scenario, "ws", name);
  const handshake = JSON.parse(readFileSync(join(dir, "handshake.json"), "utf8")) as { path_qs: string; headers: Array<[string, string]> };
  const rawName = readdirSync(dir).find((file) => file.startsWith("upstream_s16le_"))!;
  const [, rate, channels] = /_(\d+)hz_(\d)ch\.raw$/.exec(rawName)!;
  const plan = handshake.path_qs.split("/")[2]!;
  return {
    scenario, name, path: handshake.path_qs,
    headers: Object.fromEntries(handshake.headers.filter(([key]) => !STANDARD_HEADERS.has(key.toLowerCase()))),
    events: readFileSync(join(dir, "frames.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as FrameEvent),
    raw: new Uint8Array(readFileSync(join(dir, rawName))),
    rate: Number(rate),
    mix: channels === "2" ? "stereo" : plan.includes("mixed") ? "mixed" : "mono",
  };
}

function allCaptures(): Capture[] {
  const captures: Capture[] = [];
  for (const scenario of readdirSync(FIXTURES).sort()) {
    const ws = join(FIXTURES, scenario, "ws");
    if (!existsSync(ws)) continue;
    for (const name of readdirSync(ws).sort()) captures.push(loadCapture(scenario, name));
  }
  return captures;
}

/** An ESL stand-in that lets the test fire the recorded channel events. */
class RecordingControl implements FreeswitchMediaControl {
  connected = true;
  calls: string[] = [];
  listeners = new Map<string, ChannelListener>();
  watch(uuid: string, listener: ChannelListener): () => void {
    this.listeners.set(uuid, listener);
    return () => this.listeners.delete(uuid);
  }
  broadcast(uuid: string, file: string): void {
    this.calls.push(`broadcast ${uuid} ${file}`);
  }
  breakPlayback(uuid: string): void {
    this.calls.push(`break ${uuid}`);
  }
  hangup(uuid: string): void {
    this.calls.push(`hangup ${uuid}`);
  }
}

interface Replay {
  leg: CallLeg | null;
  audio: number[];
  played: number[];
  frameSizes: Set<number>;
  dtmf: string;
  closes: Array<{ reason: LegCloseReason; detail: string | undefined }>;
  stats: TransportStats;
  control: RecordingControl;
  peerClosed: { code: number } | null;
}

const servers: AudioStreamServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

/**
 * Plays one capture to a fresh server. A close the capture server sent (`out`) becomes our own
 * hang-up; a TCP drop becomes FreeSWITCH vanishing (1006), the same fault seen from our side.
 * `beforeClose` runs while the stream is still open, after its last frame.
 */
async function replay(capture: Capture, beforeClose?: (result: Replay) => Promise<void>): Promise<Replay> {
  const control = new RecordingControl();
  const result: Replay = {
    leg: null, audio: [], played: [], frameSizes: new Set(), dtmf: "", closes: [], stats: newTransportStats(), control, peerClosed: null,
  };
  const server = startAudioStreamServer({
    host: "127.0.0.1", port: 0, token: null, defaultRate: capture.rate, defaultMix: capture.mix, playback: "file",
    resolveTenant: (id) => id ?? "default", control, log: rootLogger.child("audiostream"), stats: result.stats,
    admit(leg) {
      result.leg = leg;
      return {
        onAudio: (samples) => {
          result.frameSizes.add(samples.length);
          for (const s of samples) result.audio.push(s);
        },
        onPlayedAudio: (samples) => {
          for (const s of samples) result.played.push(s);
        },
        onDtmf: (digit) => (result.dtmf += digit),
        onRateChange: () => {},
        onClose: (reason, detail) => result.closes.push({ reason, detail }),
      };
    },
  });
  servers.push(server);
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${capture.path}`, { headers: capture.headers });
  ws.binaryType = "arraybuffer";
  ws.onclose = (event) => (result.peerClosed = { code: event.code });
  await waitFor("open", () => ws.readyState === WebSocket.OPEN);
  let offset = 0;
  for (const event of capture.events) {
    if (event.dir === "in" && event.type === "text") ws.send(event.text!);
    else if (event.dir === "in" && event.type === "binary") {
      ws.send(capture.raw.slice(offset, offset + event.size!));
      offset += event.size!;
    } else if (event.dir === "in" && event.type === "ping") ws.ping();
    else if (ending(event)) {
      await waitFor("all audio delivered", () => result.audio.length === expectedCaller(capture).length);
      await beforeClose?.(result);
      if (event.type === "close" && event.dir === "in") ws.close(event.code, event.reason);
      else if (event.type === "close") result.leg!.hangup();
      else if (ws.readyState === WebSocket.OPEN) ws.terminate();
      break;
    }
  }
  expect(offset).toBe(capture.raw.length);
  await waitFor(`${capture.name} closed`, () => result.peerClosed !== null && server.activeConnections === 0);
  return result;
}

/**
 * How the recorded stream ended: FreeSWITCH's close (`in`), the capture server's close or TCP drop
 * (`out`), or FreeSWITCH killed while wedged (the voxcom deadlocks: a bare 1006).
 */
function ending(event: FrameEvent): boolean {
  return event.type === "close" || event.type === "tcp_drop_without_close_frame" || event.type === "closed_transport";
}

/** What the call should hear: the caller channel, cut to whole 20 ms frames. */
function expectedCaller(capture: Capture, channel = 0): number[] {
  const samples = new Int16Array(capture.raw.buffer, capture.raw.byteOffset, capture.raw.byteLength / 2);
  const step = capture.mix === "stereo" ? 2 : 1;
  const frame = capture.rate / 50;
  const count = Math.floor(samples.length / step / frame) * frame;
  return Array.from({ length: count }, (_, i) => samples[i * step + channel]!);
}

/** Share of the signal's energy at `hz` (1 = a pure tone), over 20 ms windows of whole cycles. */
function toneShare(samples: number[], rate: number, hz: number): number {
  const window = rate / 50;
  let tone = 0;
  let total = 0;
  for (let start = 0; start + window <= samples.length; start += window) {
    let re = 0;
    let im = 0;
    for (let n = 0; n < window; n++) {
      const x = samples[start + n]!;
      re += x * Math.cos((2 * Math.PI * hz * n) / rate);
      im -= x * Math.sin((2 * Math.PI * hz * n) / rate);
      total += x * x;
    }
    tone += (2 * (re * re + im * im)) / window;
  }
  return tone / total;
}

const captures = allCaptures();
const byName = (name: string): Capture => captures.find((c) => c.name === name)!;

describe("every captured stream", () => {
  test.each(captures.map((c) => [`${c.scenario}/${c.name}`, c] as const))("%s", async (_label, capture) => {
    const result = await replay(capture);
    const upstream = capture.events.filter((e) => e.dir === "in" && (e.type === "text" || e.type === "binary"));
    expect(result.stats.protocolErrors).toBe(0);
    if (upstream.length === 0) {
      // mixed/stereo on a parked channel: FreeSWITCH opens the socket and sends nothing at all.
      expect(result.leg).toBeNull();
      expect(lines.some((l) => l.includes("stream closed before any message") && l.includes("use mono"))).toBe(true);
      return;
    }
    const [, , tenant, call] = capture.path.split("?")[0]!.split("/");
    const leg = result.leg!;
    expect(leg).toMatchObject({ id: call, tenant, sampleRate: capture.rate, reportsPlayedAudio: capture.mix === "stereo" });
    const first = upstream[0]!;
    expect((leg as AudioStreamConnection).metadata).toBe(first.type === "text" ? first.text! : null);
    expect(leg.callerNumber).toBe(first.text === '{"caller":"123"}' ? "123" : null);
    expect(result.audio).toEqual(expectedCaller(capture));
    if (capture.mix === "stereo") expect(result.played).toEqual(expectedCaller(capture, 1));
    if (result.audio.length > 0) expect([...result.frameSizes]).toEqual([capture.rate / 50]);
    const later = upstream.slice(1).filter((e) => e.type === "text");
    expect(lines.filter((l) => l.includes("ignored a text message")).length).toBe(later.length > 0 ? 1 : 0);
    const closedBy = capture.events.find(ending)!;
    const reason = closedBy.dir === "out" && closedBy.type === "close" ? "server-hangup" : "caller-hangup";
    expect(result.closes.map((c) => c.reason)).toEqual([reason]);
    if (closedBy.dir === "in") expect(result.closes[0]!.detail).toContain(`close ${closedBy.code}`);
    else if (reason === "caller-hangup") expect(result.closes[0]!.detail).toContain("1006");
  });
});

describe("what the captures show", () => {
  test("a_mono16k: metadata {\"caller\":\"123\"} → callerNumber, 602 frames of 640 B bit-exact, close 1000 → caller-hangup", async () => {
    const capture = byName("a_mono16k");
    const result = await replay(capture);
    expect(result.leg!.callerNumber).toBe("123");
    expect(result.audio.length).toBe(602 * 320);
    expect(Buffer.from(new Int16Array(result.audio).buffer).equals(Buffer.from(capture.raw))).toBe(true);
    expect(result.closes).toEqual([{ reason: "caller-hangup", detail: 'close 1000 "Normal closure"' }]);
  });

  test("b_stereo16k: the right channel (what FreeSWITCH played) holds B's 1000 Hz tone, the left the caller", async () => {
    const capture = byName("b_stereo16k");
    const result = await replay(capture);
    expect(toneShare(result.played, 16000, 1000)).toBeGreaterThan(0.95);
    expect(toneShare(result.audio, 16000, 1000)).toBeLessThan(0.1);
  });

  test("b_buffer100: 3200-byte messages (STREAM_BUFFER_SIZE=100) come out as 250 frames of 320 samples", async () => {
    const result = await replay(byName("b_buffer100"));
    expect(result.stats.framesIn).toBe(50);
    expect(result.audio.length / 320).toBe(250);
    expect([...result.frameSizes]).toEqual([320]);
  });

  test("b_vars: no metadata (audio first), heartbeat pings, 8 kHz frames of 160 samples", async () => {
    const result = await replay(byName("b_vars"));
    expect(result.leg).toMatchObject({ callerNumber: null, frameSamples: 160 });
    expect((result.leg as AudioStreamConnection).metadata).toBeNull();
    expect(result.audio.length).toBe(225 * 160);
  });

  test("d_vox_hangup_midplay: the call ends during playback and the fork never closes the stream → closed 2 s after CHANNEL_HANGUP", async () => {
    const capture = byName("d_vox_hangup_midplay");
    const call = capture.path.split("/")[3]!;
    const result = await replay(capture, async (during) => {
      during.control.listeners.get(call)!.onHangup();
      await waitFor("our close", () => during.peerClosed !== null, 4000);
    });
    expect(result.peerClosed).toEqual({ code: 1000 });
    expect(result.closes).toEqual([{ reason: "caller-hangup", detail: expect.stringContaining("CHANNEL_HANGUP") }]);
  });

  test("h_dtmf: nothing on the WebSocket; the recorded ESL DTMF events reach the call as 1234#9", async () => {
    const capture = byName("h_dtmf");
    const call = capture.path.split("/")[3]!;
    const digits = readFileSync(join(FIXTURES, "h_dtmf", "esl_events.jsonl"), "utf8").trim().split("\n")
      .map((line) => JSON.parse(line) as { event: string; uuid: string; raw: string })
      .filter((e) => e.event === "DTMF" && e.uuid === call)
      .map((e) => decodeURIComponent(/DTMF-Digit: (\S+)/.exec(e.raw)![1]!));
    const result = await replay(capture, async (during) => {
      expect(during.dtmf).toBe("");
      for (const digit of digits) during.control.listeners.get(call)!.onDtmf(digit);
    });
    expect(result.dtmf).toBe("1234#9");
    expect(result.control.listeners.size).toBe(0);
  });
});
