/**
 * The simulated FreeSWITCH (mod_audio_stream over a WebSocket, ESL through the fake FreeSWITCH)
 * against a small WebSocket server written here, and voicebot's own ESL client on the fake.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server, ServerWebSocket } from "bun";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult, ScriptStep } from "../../src/simulate/call-types.ts";
import { FakeFreeswitch } from "../../src/simulate/fake-freeswitch.ts";
import { encodeWav } from "../../src/simulate/wav.ts";
import type { EslEvent } from "../../src/transports/esl-codec.ts";
import { EslClient } from "../../src/transports/esl.ts";

const RATE = 16000;
const FRAME = 320;

interface Conn {
  ws: ServerWebSocket<Conn>;
  path: string;
  headers: Record<string, string>;
  /** In arrival order: text frames as strings, binary frames as their byte length (negative when all zero). */
  received: (string | number)[];
  closed: Promise<{ code: number; reason: string }>;
  markClosed(value: { code: number; reason: string }): void;
}

/** A WebSocket server standing in for voicebot; `onText` sees every text frame (the metadata first). */
function startServer(onText: (conn: Conn, text: string) => void = () => {}): { server: Server<Conn>; conns: Conn[]; url(path: string): string } {
  const conns: Conn[] = [];
  const server = Bun.serve<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.searchParams.get("token") === "wrong") return new Response("wrong token\n", { status: 401 });
      let markClosed: Conn["markClosed"] = () => {};
      const closed = new Promise<{ code: number; reason: string }>((resolve) => (markClosed = resolve));
      const data = { path: url.pathname + url.search, headers: Object.fromEntries(req.headers), received: [], closed, markClosed } as unknown as Conn;
      return srv.upgrade(req, { data }) ? undefined : new Response("upgrade failed", { status: 400 });
    },
    websocket: {
      perMessageDeflate: false,
      open(ws) {
        ws.data.ws = ws;
        conns.push(ws.data);
      },
      message(ws, message) {
        if (typeof message === "string") {
          ws.data.received.push(message);
          onText(ws.data, message);
        } else ws.data.received.push(message.some((b) => b !== 0) ? message.length : -message.length);
      },
      close(ws, code, reason) {
        ws.data.markClosed({ code, reason });
      },
    },
  });
  return { server, conns, url: (path) => `ws://127.0.0.1:${server.port}${path}` };
}

function tone(samples: number, amplitude: number, hz = 440, rate = RATE): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)));
}

function streamAudio(type: "raw" | "wav", sampleRate: number, bytes: Uint8Array): string {
  return JSON.stringify({ type: "streamAudio", data: { audioDataType: type, sampleRate, audioData: Buffer.from(bytes).toString("base64") } });
}

/** A square wave at half the sample rate: every sample's magnitude is `amplitude`, so each is recognisable when heard. */
function square(samples: number, amplitude: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => (i % 2 === 0 ? amplitude : -amplitude));
}

const raw = (samples: Int16Array, rate = RATE): string => streamAudio("raw", rate, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));

const samplesAt = (heard: Int16Array, amplitude: number): number => heard.filter((s) => Math.abs(s) === amplitude).length;

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

function call(url: string, uuid: string, script: ScriptStep[], freeswitch: FakeFreeswitch | null = null, playback: "stream" | "file" = "stream"): SimulatedCaller {
  return new SimulatedCaller({ audiostream: { url, playback, freeswitch }, uuid, script, record: true });
}

const logLines: string[] = [];
beforeAll(() => setLogSink((line) => logLines.push(line)));
afterAll(() => setLogSink((line) => process.stderr.write(line + "\n")));

describe("AudiostreamWire: the FreeSWITCH end of the WebSocket", () => {
  test("opens the stream as FreeSWITCH does: module headers, metadata first, a 20 ms frame per tick, close 1000 on hang-up", async () => {
    const peer = startServer();
    try {
      const uuid = crypto.randomUUID();
      const say = tone(FRAME * 10, 8000);
      const result = await call(peer.url(`/stream/acme/${uuid}`), uuid, [{ say, at: 0.1 }, { hangupAfter: 0.6 }]).run();
      const conn = peer.conns[0]!;
      expect(await conn.closed).toEqual({ code: 1000, reason: "Normal closure" });
      expect(result.error).toBeNull();
      expect(result.hungUpBy).toBe("caller");
      expect(conn.path).toBe(`/stream/acme/${uuid}?rate=16000`);
      expect(conn.headers.origin).toBe(`http://127.0.0.1:${peer.server.port}`);
      expect(conn.headers["user-agent"]).toBeUndefined();
      expect(conn.headers["sec-websocket-extensions"]).toBeUndefined();
      expect(JSON.parse(conn.received[0] as string)).toEqual({ caller: "0612345678", dnis: "8000", uuid });
      const frames = conn.received.slice(1);
      expect(frames.every((f) => typeof f === "number" && Math.abs(f) === FRAME * 2)).toBe(true);
      expect(frames.length).toBeGreaterThan(10);
      expect(frames.filter((f) => (f as number) > 0).length).toBe(10);
    } finally {
      peer.server.stop(true);
    }
  });

  test("stream mode: raw streamAudio is heard as sent, one frame per tick; a server close without ESL ends the call", async () => {
    const sent = Int16Array.from(tone(FRAME * 25, 9000), (s) => s + 10_000);
    const peer = startServer((conn, text) => {
      if (text.startsWith("{\"caller\"")) {
        for (let f = 0; f < 25; f++) conn.ws.send(raw(sent.subarray(f * FRAME, (f + 1) * FRAME)));
        setTimeout(() => conn.ws.close(1000, "bye"), 700);
      }
    });
    try {
      const uuid = crypto.randomUUID();
      const caller = call(peer.url(`/stream/default/${uuid}`), uuid, [{ hangupAfter: 5 }]);
      const result = await caller.run();
      expect(result.error).toBeNull();
      expect(result.hungUpBy).toBe("server");
      expect(result.serverSentHangup).toBe(false);
      const stream = result.audiostream!;
      expect(stream.serverClose).toEqual({ code: 1000, reason: "bye" });
      expect(stream.messages).toBe(25);
      expect(stream.arrivalJitterMs.length).toBe(24);
      // All 25 came at once: each arrived about a frame early, and the player had most of the half second queued.
      expect(stream.arrivalJitterMs.every((j) => j > 10 && j <= 20)).toBe(true);
      expect(stream.maxLeadMs).toBeGreaterThan(300);
      expect(stream.underruns).toBe(0);
      expect(result.greetingDelayMs).not.toBeNull();
      const heard = caller.recording();
      const start = heard.findIndex((s) => s !== 0);
      expect(Array.from(heard.subarray(start, start + sent.length))).toEqual(Array.from(sent));
    } finally {
      peer.server.stop(true);
    }
  });

  test("what FreeSWITCH would refuse or mishandle ends the call with the reason", async () => {
    const replies: Record<string, (conn: Conn) => void> = {
      mismatch: (conn) => conn.ws.send(raw(tone(160, 1000), 8000)),
      binary: (conn) => conn.ws.send(new Uint8Array(640)),
      rate44k: (conn) => conn.ws.send(raw(tone(882, 1000), 44100)),
    };
    const peer = startServer((conn, text) => {
      if (text.startsWith("{\"caller\"")) replies[conn.path.split("/")[2]!]!(conn);
    });
    try {
      const run = async (kind: string): Promise<CallResult> => call(peer.url(`/stream/${kind}/${crypto.randomUUID()}`), crypto.randomUUID(), [{ hangupAfter: 3 }]).run();
      expect((await run("mismatch")).error).toContain("8000 Hz into a 16000 Hz stream");
      expect((await run("binary")).error).toContain("binary frame (640 bytes): mod_audio_stream ignores them");
      expect((await run("rate44k")).error).toContain(`"unsupported sample rate: 44100"`);
      const refused = await call(peer.url("/stream/x/y?token=wrong"), "y", []).run();
      expect(refused.connected).toBe(false);
      expect(refused.error).toContain("HTTP 401");
      expect(() => call(peer.url("/stream/x/y"), "y", [], null, "file")).toThrow("file playback needs the fake FreeSWITCH's Event Socket");
      expect(() => call(peer.url("/stream/x/y"), "y", [{ dtmf: "1" }])).toThrow("DTMF needs the fake FreeSWITCH's Event Socket");
      expect(() => call("http://127.0.0.1:1/", "y", [])).toThrow("is not ws:// or wss://");
    } finally {
      peer.server.stop(true);
    }
  });
});

describe("the fake FreeSWITCH, driven by voicebot's ESL client", () => {
  let fs: FakeFreeswitch;
  let esl: EslClient;
  const events: EslEvent[] = [];
  const eventsFor = (uuid: string, name: string): EslEvent[] => events.filter((e) => e.uuid === uuid && (e.subclass ?? e.name) === name);

  beforeAll(async () => {
    fs = await FakeFreeswitch.start();
    esl = new EslClient({
      host: fs.host, port: fs.port, password: fs.password, log: rootLogger.child("test-esl"),
      events: ["CHANNEL_HANGUP", "DTMF", "BACKGROUND_JOB", "CUSTOM", "mod_audio_stream::play", "mod_audio_stream::connect", "mod_audio_stream::disconnect"],
    });
    esl.onEvent((e) => events.push(e));
    esl.start();
    await esl.ready(3000);
    await fs.waitForVoicebot(3000);
  });

  afterAll(async () => {
    await esl.stop();
    await fs.stop();
  });

  test("file mode: a streamAudio becomes a temp file and a ::play event; only uuid_broadcast plays it, uuid_break stops it, uuid_kill hangs up", async () => {
    const first = square(FRAME * 10, 3000);
    const unplayed = square(FRAME * 10, 5000);
    const long = square(RATE * 3, 7000);
    const wav = (samples: Int16Array): string => streamAudio("wav", RATE, encodeWav(samples, RATE));
    const peer = startServer((conn, text) => {
      if (!text.startsWith("{\"caller\"")) return;
      conn.ws.send(wav(first));
      conn.ws.send(wav(unplayed));
      conn.ws.send(wav(long));
    });
    try {
      const uuid = crypto.randomUUID();
      const caller = call(peer.url(`/stream/default/${uuid}`), uuid, [{ dtmf: "5", at: 0.1 }, { hangupAfter: 20 }], fs, "file");
      const running = caller.run();
      await until("three ::play events", () => eventsFor(uuid, "mod_audio_stream::play").length === 3);
      expect(eventsFor(uuid, "mod_audio_stream::connect").length).toBe(1);
      const files = eventsFor(uuid, "mod_audio_stream::play").map((e) => JSON.parse(e.body) as { audioDataType: string; sampleRate: number; file: string });
      expect(files[0]).toEqual({ audioDataType: "wav", sampleRate: RATE, file: `/tmp/${uuid}_0.tmp.wav` });
      await until("the DTMF event", () => eventsFor(uuid, "DTMF").length === 1);
      expect(eventsFor(uuid, "DTMF")[0]!.headers.get("DTMF-Digit")).toBe("5");

      expect(await esl.bgapi(`uuid_broadcast ${uuid} ${files[0]!.file} aleg`)).toBe("+OK Message sent\n");
      expect(await esl.bgapi(`uuid_broadcast ${uuid} ${files[2]!.file} aleg`)).toBe("+OK Message sent\n");
      // Long enough for the first file and part of the long one to play.
      await Bun.sleep(800);
      expect(await esl.bgapi(`uuid_break ${uuid} all`)).toBe("+OK\n");
      await Bun.sleep(200);
      expect(await esl.api(`uuid_kill ${uuid}`)).toBe("+OK\n");
      const result = await running;
      expect(await peer.conns[0]!.closed).toEqual({ code: 1000, reason: "Normal closure" });
      await until("CHANNEL_HANGUP", () => eventsFor(uuid, "CHANNEL_HANGUP").length === 1);

      expect(result.error).toBeNull();
      expect(result.hungUpBy).toBe("server");
      expect(result.serverSentHangup).toBe(true);
      expect(result.digitsSent).toBe("5");
      const stream = result.audiostream!;
      expect(stream).toMatchObject({ playback: "file", messages: 3, filesWritten: 3, filesPlayed: 2, endedBy: "uuid_kill" });
      expect(stream.breaksAtMs.length).toBe(1);
      const heard = caller.recording();
      expect(samplesAt(heard, 3000)).toBe(first.length);
      // The second file was never broadcast, and the long one was cut short by uuid_break.
      expect(samplesAt(heard, 5000)).toBe(0);
      expect(samplesAt(heard, 7000)).toBeGreaterThan(0);
      expect(samplesAt(heard, 7000)).toBeLessThan(long.length);
      await expect(esl.api(`uuid_kill ${uuid}`)).rejects.toThrow("No such channel");
    } finally {
      peer.server.stop(true);
    }
  });

  test("a transfer: uuid_audio_stream stop closes the stream, uuid_transfer ends the call and is timed", async () => {
    const peer = startServer();
    try {
      const uuid = crypto.randomUUID();
      const running = call(peer.url(`/stream/default/${uuid}`), uuid, [{ hangupAfter: 20 }], fs).run();
      await until("the stream", () => peer.conns.length === 1);
      expect(await esl.api(`uuid_audio_stream ${uuid} stop {"reason":"transfer"} ignored`)).toBe("+OK Success\n");
      expect(await peer.conns[0]!.closed).toEqual({ code: 1000, reason: "Normal closure" });
      expect(await esl.api(`uuid_transfer ${uuid} 200 XML default`)).toBe("+OK\n");
      const result = await running;
      expect(result.hungUpBy).toBe("server");
      expect(result.serverSentHangup).toBe(true);
      expect(result.audiostream!.endedBy).toBe("uuid_transfer");
      expect(result.audiostream!.transfer).toMatchObject({ destination: "200 XML default" });
      expect(result.audiostream!.transfer!.atMs).toBeGreaterThan(0);
      // The module sends only the first word of stop's text, then closes.
      expect(peer.conns[0]!.received.filter((m) => typeof m === "string").slice(1)).toEqual([`{"reason":"transfer"}`]);
      expect(eventsFor(uuid, "CHANNEL_HANGUP").length).toBe(0);
    } finally {
      peer.server.stop(true);
    }
  });

  test("a server close is reported as ::disconnect 1000 and waits for uuid_kill; without one the call is left parked", async () => {
    const peer = startServer((conn, text) => {
      if (text.startsWith("{\"caller\"")) conn.ws.close(1011, "internal error");
    });
    try {
      const killed = crypto.randomUUID();
      const running = call(peer.url(`/stream/default/${killed}`), killed, [{ hangupAfter: 20 }], fs).run();
      await until("::disconnect", () => eventsFor(killed, "mod_audio_stream::disconnect").length === 1);
      expect(JSON.parse(eventsFor(killed, "mod_audio_stream::disconnect")[0]!.body)).toEqual({ status: "disconnected", message: { code: 1000, reason: "" } });
      await esl.api(`uuid_kill ${killed}`);
      const result = await running;
      expect(result.serverSentHangup).toBe(true);
      expect(result.audiostream!.serverClose).toEqual({ code: 1011, reason: "internal error" });

      const parked = crypto.randomUUID();
      const left = await call(peer.url(`/stream/default/${parked}`), parked, [{ hangupAfter: 20 }], fs).run();
      expect(left.hungUpBy).toBe("server");
      expect(left.serverSentHangup).toBe(false);
      expect(left.audiostream!.endedBy).toBeNull();
    } finally {
      peer.server.stop(true);
    }
  });
});
