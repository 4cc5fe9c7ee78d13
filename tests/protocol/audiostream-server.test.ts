/**
 * The mod_audio_stream server over real WebSockets on 127.0.0.1, a WebSocket client standing in for
 * FreeSWITCH and a recording FreeswitchMediaControl for ESL: upgrade checks, admission, bad frames,
 * control text, both playback modes, hang-up and shutdown. Real captures: audiostream-fixtures.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { connect as tcpConnect } from "node:net";
import { rootLogger } from "../../src/log.ts";
import { startAudioStreamServer, type AudioStreamServer, type AudioStreamServerOptions } from "../../src/transports/audiostream.ts";
import { AudioStreamConnection } from "../../src/transports/audiostream-connection.ts";
import type { ChannelListener, FreeswitchMediaControl } from "../../src/transports/freeswitch-control.ts";
import { newTransportStats, type CallLeg, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";

const lines = captureLogLines();
const logged = (text: string): string[] => lines.filter((line) => line.includes(text));

/** An ESL stand-in: records every command, and lets the test fire channel events. */
class RecordingControl implements FreeswitchMediaControl {
  connected = true;
  calls: string[] = [];
  listeners = new Map<string, ChannelListener>();
  watch(uuid: string, listener: ChannelListener): () => void {
    this.calls.push(`watch ${uuid}`);
    this.listeners.set(uuid, listener);
    return () => this.calls.push(`unwatch ${uuid}`) && this.listeners.delete(uuid);
  }
  broadcast = (uuid: string, file: string): number => this.calls.push(`broadcast ${uuid} ${file}`);
  breakPlayback = (uuid: string): number => this.calls.push(`break ${uuid}`);
  hangup = (uuid: string): number => this.calls.push(`hangup ${uuid}`);
}

interface LegRecord {
  leg: CallLeg;
  audio: Int16Array[];
  played: Int16Array[];
  dtmf: string;
  closes: Array<{ reason: LegCloseReason; detail: string | undefined }>;
}

interface Harness {
  server: AudioStreamServer;
  stats: TransportStats;
  legs: LegRecord[];
  control: RecordingControl;
  url(path: string): string;
}

const servers: AudioStreamServer[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const ws of clients.splice(0)) ws.close();
  for (const server of servers.splice(0)) await server.stop();
});

const TENANTS: Record<string, string> = { acme: "acme", "acme.example.com": "acme" };

function start(options: Partial<AudioStreamServerOptions> = {}, control: RecordingControl | null = new RecordingControl()): Harness {
  const stats = newTransportStats();
  const legs: LegRecord[] = [];
  const server = startAudioStreamServer({
    host: "127.0.0.1", port: 0, token: null, defaultRate: 16000, defaultMix: "mono", playback: "stream",
    resolveTenant: (id) => (id === null ? "default" : (TENANTS[id] ?? null)),
    control, log: rootLogger.child("audiostream"), stats,
    admit(leg) {
      const record: LegRecord = { leg, audio: [], played: [], dtmf: "", closes: [] };
      legs.push(record);
      return {
        onAudio: (samples) => record.audio.push(samples.slice()),
        onPlayedAudio: (samples) => record.played.push(samples.slice()),
        onDtmf: (digit) => (record.dtmf += digit),
        onRateChange: () => {},
        onClose: (reason, detail) => record.closes.push({ reason, detail }),
      };
    },
    ...options,
  });
  servers.push(server);
  return { server, stats, legs, control: control ?? new RecordingControl(), url: (path) => `ws://127.0.0.1:${server.port}${path}` };
}

/** FreeSWITCH's side of one stream: what it received, and how it was closed. */
interface Peer {
  ws: WebSocket;
  texts: string[];
  closed: { code: number; reason: string } | null;
}

async function open(url: string, headers?: Record<string, string>): Promise<Peer> {
  const ws = new WebSocket(url, headers ? { headers } : undefined);
  clients.push(ws);
  const peer: Peer = { ws, texts: [], closed: null };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") peer.texts.push(event.data);
  };
  ws.onclose = (event) => (peer.closed = { code: event.code, reason: event.reason });
  await waitFor(`open ${url}`, () => ws.readyState === WebSocket.OPEN || peer.closed !== null);
  return peer;
}

/** The HTTP answer to an upgrade request, read off a raw socket (a refused WebSocket hides it). */
function upgradeStatus(port: number, path: string, extra = ""): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    });
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString();
      if (text.includes("\r\n\r\n")) {
        socket.destroy();
        resolve({ status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) });
      }
    });
    socket.on("error", reject);
  });
}

/** s16le bytes of a sine (amplitude in full scale), `ms` long at `rate`. */
function tone(ms: number, rate: number, amplitude: number, hz = 440): Int16Array {
  const out = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(32767 * amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}
const bytesOf = (samples: Int16Array): Uint8Array => new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
const fromBase64 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "base64"));
const frames = (samples: Int16Array, size: number): Int16Array[] =>
  Array.from({ length: samples.length / size }, (_, i) => samples.subarray(i * size, (i + 1) * size));

/** Opens a stream as FreeSWITCH does (metadata first, unless given audio) and waits for its leg. */
async function call(h: Harness, path: string, first: string | Uint8Array = "{}"): Promise<{ peer: Peer; record: LegRecord; leg: CallLeg }> {
  const count = h.legs.length + 1;
  const peer = await open(h.url(path));
  peer.ws.send(first);
  await waitFor(`leg ${count}`, () => h.legs.length >= count);
  return { peer, record: h.legs[count - 1]!, leg: h.legs[count - 1]!.leg };
}

describe("upgrade", () => {
  test("plain HTTP gets 426 with a one-line hint; a bad rate, mix or path char gets 400 naming the value", async () => {
    const h = start();
    const plain = await fetch(`http://127.0.0.1:${h.server.port}/stream/acme/x`);
    expect(plain.status).toBe(426);
    expect(await plain.text()).toContain("uuid_audio_stream <uuid> start ws://");
    const cases: Array<[string, string]> = [
      ["/stream/acme/c1?rate=44100", '"44100"'], ["/stream/acme/c1?rate=16k", '"16k"'], ["/stream/acme/c1?mix=both", '"both"'],
      ["/stream/acme/bad%20id", '"bad id"'], ["/stream/ac%2Fme/c1", '"ac/me"'], ["/stream/acme/%E0%A4", "percent-encoding"],
    ];
    for (const [path, named] of cases) {
      const answer = await upgradeStatus(h.server.port, path);
      expect([path, answer.status]).toEqual([path, 400]);
      expect(answer.body).toContain(named);
    }
    expect(h.stats.connectionsRejected).toBe(cases.length);
    expect(logged("upgrade refused")).toHaveLength(cases.length);
  });

  test("AUDIOSTREAM_TOKEN: missing or wrong → 401 without echoing it; ?token= or a Bearer header → admitted", async () => {
    const h = start({ token: "s3cret" });
    expect((await upgradeStatus(h.server.port, "/stream/acme/c1")).status).toBe(401);
    expect((await upgradeStatus(h.server.port, "/stream/acme/c1?token=guess")).status).toBe(401);
    expect(lines.join("\n")).not.toContain("guess");
    await call(h, "/stream/acme/c1?token=s3cret");
    const byHeader = await open(h.url("/stream/acme/c2"), { Authorization: "Bearer s3cret" });
    byHeader.ws.send("{}");
    await waitFor("second leg", () => h.legs.length === 2);
    expect(h.stats).toMatchObject({ connectionsRejected: 2, connectionsAccepted: 2 });
  });

  test("rate and mix from the query; / and other paths → default tenant and a random call id, with one warning", async () => {
    const h = start();
    const { leg } = await call(h, "/stream/acme/call-1?rate=8000&mix=stereo");
    expect(leg).toMatchObject({ id: "call-1", tenant: "acme", sampleRate: 8000, frameSamples: 160, reportsPlayedAudio: true, transport: "audiostream" });
    for (const path of ["/", "/fs/whatever/x/y", "/stream"]) {
      const { leg: other } = await call(h, path, new Uint8Array(640));
      expect(other).toMatchObject({ tenant: "default", sampleRate: 16000, reportsPlayedAudio: false, callerNumber: null });
      expect(other.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(logged("no call id in the URL or metadata")).toHaveLength(3);
    expect(h.control.calls).toEqual(["watch call-1"]);
  });

  test("tenant from the path, else from the metadata; an unknown one closes 1008 unless resolveTenant maps it", async () => {
    const h = start();
    const meta = '{"domain_name":"acme.example.com","caller_id_number":"0612345678","destination_number":"8000","uuid":"fs-uuid-1"}';
    const { leg } = await call(h, "/", meta);
    expect(leg).toMatchObject({ tenant: "acme", id: "fs-uuid-1", callerNumber: "0612345678", dnis: "8000" });
    const unknown = await open(h.url("/stream/nobody/c9"));
    unknown.ws.send('{"caller":"1"}');
    await waitFor("1008", () => unknown.closed !== null);
    expect(unknown.closed).toEqual({ code: 1008, reason: "unknown tenant" });
    expect(h.legs).toHaveLength(1);
    expect(h.stats.connectionsRejected).toBe(1);

    const lenient = start({ resolveTenant: (id) => (id === "acme" ? "acme" : "default") });
    const { leg: mapped } = await call(lenient, "/stream/nobody/c9", "not json, kept as text");
    expect(mapped.tenant).toBe("default");
    expect((mapped as AudioStreamConnection).metadata).toBe("not json, kept as text");
  });

  test("nothing after the upgrade → closed 1008 after firstMessageTimeoutMs, no leg", async () => {
    const h = start({ firstMessageTimeoutMs: 50 });
    const peer = await open(h.url("/stream/acme/c1"));
    await waitFor("close", () => peer.closed !== null);
    expect(peer.closed!.code).toBe(1008);
    expect(h.legs).toHaveLength(0);
    expect(h.stats.protocolErrors).toBe(1);
    expect(h.server.activeConnections).toBe(0);
  });
});

describe("frames from FreeSWITCH", () => {
  test("odd-length, half a stereo sample, or over 1 s: that stream closes 1003/1009; the server and another call go on", async () => {
    const h = start();
    const other = await call(h, "/stream/acme/other", new Uint8Array(640));
    const bad: Array<[string, number, number]> = [["/stream/acme/odd", 641, 1003], ["/stream/acme/st?mix=stereo", 642, 1003], ["/stream/acme/big?rate=8000", 16002, 1009]];
    for (const [path, size, code] of bad) {
      const { peer, record } = await call(h, path, new Uint8Array(size));
      await waitFor(path, () => peer.closed !== null);
      expect(peer.closed!.code).toBe(code);
      expect(record.closes).toEqual([{ reason: "protocol-error", detail: expect.stringContaining(`${size} bytes`) }]);
    }
    expect(h.stats.protocolErrors).toBe(3);
    expect(logged("protocol error").map((line) => / call=(\w+) /.exec(line)?.[1])).toEqual(["odd", "st", "big"]);
    expect(h.control.calls).toContain("hangup odd");
    other.peer.ws.send(bytesOf(tone(20, 16000, 0.1)));
    await waitFor("other call audio", () => other.record.audio.length === 2);
    expect(other.record.closes).toEqual([]);
  });

  test("any message size is re-framed into 20 ms; stereo splits caller (left) from played (right)", async () => {
    const h = start();
    const speech = tone(130, 16000, 0.3);
    const { peer, record } = await call(h, "/stream/acme/m", bytesOf(speech.subarray(0, 100)));
    peer.ws.send(bytesOf(speech.subarray(100, 2080)));
    await waitFor("6 frames", () => record.audio.length === 6);
    expect(record.audio.every((frame) => frame.length === 320)).toBe(true);
    expect(record.audio.flatMap((f) => Array.from(f))).toEqual(Array.from(speech.subarray(0, 1920)));

    const interleaved = new Int16Array(320).map((_, i) => (i % 2 === 0 ? i >> 1 : -(i >> 1)));
    const { record: split } = await call(h, "/stream/acme/s?mix=stereo&rate=8000", bytesOf(interleaved));
    await waitFor("stereo frame", () => split.played.length === 1);
    expect([split.audio[0]![5], split.played[0]![5]]).toEqual([5, -5]);
  });

  test("later text: DTMF messages reach onDtmf; anything else is logged once and ignored", async () => {
    const h = start();
    const { peer, record } = await call(h, "/stream/acme/c1", '{"caller":"1"}');
    for (const text of ['{"type":"dtmf","digit":"5"}', "texte", '{"reason":"bye"}', '{"type":"dtmf","digit":"#"}', "[1]"]) peer.ws.send(text);
    await waitFor("dtmf", () => record.dtmf === "5#");
    expect(logged("ignored a text message")).toHaveLength(1);
    expect(record.closes).toEqual([]);
  });

  test("dtmfEvents: true while ESL is connected, false while it is down or absent, true once digits came as text", async () => {
    const h = start();
    const { peer, leg, record } = await call(h, "/stream/acme/c1", '{"caller":"1"}');
    expect(leg.dtmfEvents).toBe(true);
    h.control.connected = false;
    expect(leg.dtmfEvents).toBe(false);
    peer.ws.send('{"type":"dtmf","digit":"7"}');
    await waitFor("dtmf", () => record.dtmf === "7");
    expect(leg.dtmfEvents).toBe(true);
    const { leg: noEsl } = await call(start({}, null), "/stream/acme/c2", '{"caller":"1"}');
    expect(noEsl.dtmfEvents).toBe(false);
  });
});

describe("playback, stream mode", () => {
  test("one streamAudio per non-silent frame at the stream's rate, a talk spurt led by one frame of silence; zero frames are not sent", async () => {
    const h = start({ playback: "stream" });
    const { peer, leg } = await call(h, "/stream/acme/c1?rate=8000");
    const [first, next, second] = [tone(20, 8000, 0.2), tone(20, 8000, 0.15, 500), tone(20, 8000, 0.1, 300)];
    const silence = new Int16Array(160);
    for (const frame of [silence, first, next, silence, second]) expect(leg.sendAudio(frame)).toBe(true);
    leg.flushPlayback();
    await waitFor("messages", () => peer.texts.length === 3);
    const preroll = (frame: Int16Array): Uint8Array => Uint8Array.from([...bytesOf(silence), ...bytesOf(frame)]);
    for (const [index, bytes] of [preroll(first), Uint8Array.from(bytesOf(next)), preroll(second)].entries()) {
      const message = JSON.parse(peer.texts[index]!) as { data: { audioData: string } };
      expect(message).toMatchObject({ type: "streamAudio", data: { audioDataType: "raw", sampleRate: 8000 } });
      expect(fromBase64(message.data.audioData)).toEqual(bytes);
    }
    expect(h.stats.framesOut).toBe(3);
    expect(h.control.calls).toEqual(["watch c1"]);
    h.control.listeners.get("c1")!.onPlay("/tmp/c1_0.tmp.r8");
    expect(logged("AUDIOSTREAM_PLAYBACK=file")).toHaveLength(1);
  });
});

describe("playback, file mode", () => {
  /** The PCM of one wav streamAudio message, after checking its RIFF header. */
  function wav(message: string, rate: number): Int16Array {
    const parsed = JSON.parse(message) as { data: { audioData: string } };
    expect(parsed).toMatchObject({ type: "streamAudio", data: { audioDataType: "wav", sampleRate: rate } });
    const bytes = fromBase64(parsed.data.audioData);
    const header = new DataView(bytes.buffer, 0, 44);
    const ascii = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
    expect([ascii(0), ascii(8), ascii(12), ascii(36)]).toEqual(["RIFF", "WAVE", "fmt ", "data"]);
    const u16 = (at: number): number => header.getUint16(at, true);
    const u32 = (at: number): number => header.getUint32(at, true);
    expect([u32(4), u32(16), u16(20), u16(22), u32(24), u32(28), u16(32), u16(34), u32(40)])
      .toEqual([bytes.length - 8, 16, 1, 1, rate, rate * 2, 2, 16, bytes.length - 44]);
    return new Int16Array(bytes.slice(44).buffer);
  }

  test("one wav per chunk: at a pause once 600 ms are buffered, when the bot goes quiet, at the 6 s cap", async () => {
    const h = start({ playback: "file" });
    const { peer, leg } = await call(h, "/stream/acme/c1?rate=24000");
    const [speech, pause] = [tone(700, 24000, 0.3), tone(80, 24000, 0.001)];
    for (const frame of [...frames(speech, 480), ...frames(pause, 480)]) leg.sendAudio(frame);
    await waitFor("chunk at the pause", () => peer.texts.length === 1);
    expect(Array.from(wav(peer.texts[0]!, 24000))).toEqual([...speech, ...pause]);

    const short = tone(200, 24000, 0.3, 300);
    for (const frame of frames(short, 480)) leg.sendAudio(frame);
    expect(peer.texts).toHaveLength(1);
    leg.sendAudio(new Int16Array(480));
    await waitFor("chunk when quiet", () => peer.texts.length === 2);
    expect(Array.from(wav(peer.texts[1]!, 24000))).toEqual(Array.from(short));

    for (const frame of frames(tone(6100, 24000, 0.3), 480)) leg.sendAudio(frame);
    await waitFor("capped chunk", () => peer.texts.length === 3);
    expect(wav(peer.texts[2]!, 24000).length).toBe(6 * 24000);
  });

  test("::play → uuid_broadcast; flushPlayback → uuid_break at once, and ::play of chunks sent before it is ignored", async () => {
    const h = start({ playback: "file" });
    const { peer, leg } = await call(h, "/stream/acme/c1");
    const say = (): void => {
      for (const frame of frames(tone(300, 16000, 0.3), 320)) leg.sendAudio(frame);
      leg.sendAudio(new Int16Array(320));
    };
    const esl = h.control.listeners.get("c1")!;
    say();
    esl.onPlay("/tmp/c1_0.tmp.wav");
    say();
    say();
    leg.flushPlayback();
    expect(h.control.calls.at(-1)).toBe("break c1");
    esl.onPlay("/tmp/c1_1.tmp.wav");
    esl.onPlay("/tmp/c1_2.tmp.wav");
    say();
    esl.onPlay("/tmp/c1_3.tmp.wav");
    expect(h.control.calls).toEqual(["watch c1", "broadcast c1 /tmp/c1_0.tmp.wav", "break c1", "broadcast c1 /tmp/c1_3.tmp.wav"]);
    await waitFor("4 chunks", () => peer.texts.length === 4);
  });

  test("without ESL: one warning per call that the caller hears nothing", async () => {
    await call(start({ playback: "file" }, null), "/stream/acme/c1");
    expect(logged("the caller hears nothing")).toHaveLength(1);
  });
});

describe("hang-up and shutdown", () => {
  test("with ESL: uuid_kill, then FreeSWITCH's close → server-hangup", async () => {
    const h = start();
    const { peer, record, leg } = await call(h, "/stream/acme/c1");
    leg.hangup();
    await waitFor("uuid_kill", () => h.control.calls.includes("hangup c1"));
    expect(record.closes).toEqual([]);
    expect(leg.sendAudio(tone(20, 16000, 0.2))).toBe(false);
    peer.ws.close(1000, "Normal closure");
    await waitFor("close", () => record.closes.length === 1);
    expect(record.closes[0]!.reason).toBe("server-hangup");
  });

  test("with ESL but no close from FreeSWITCH within 2 s (voxcom deadlock) → we close it; same after CHANNEL_HANGUP", async () => {
    const h = start();
    const [killed, hungUp] = [await call(h, "/stream/acme/c1"), await call(h, "/stream/acme/c2")];
    killed.leg.hangup();
    h.control.listeners.get("c2")!.onHangup();
    await waitFor("both closed", () => killed.peer.closed !== null && hungUp.peer.closed !== null, 4000);
    expect(killed.record.closes).toEqual([{ reason: "server-hangup", detail: expect.stringContaining("uuid_kill") }]);
    expect(hungUp.record.closes).toEqual([{ reason: "caller-hangup", detail: expect.stringContaining("CHANNEL_HANGUP") }]);
  });

  test("without ESL: close 1000 at once, and a warning that FreeSWITCH keeps the call parked", async () => {
    const { peer, record, leg } = await call(start({}, null), "/stream/acme/c1");
    leg.hangup();
    expect(record.closes[0]!.reason).toBe("server-hangup");
    await waitFor("close", () => peer.closed !== null);
    expect(peer.closed!.code).toBe(1000);
    expect(logged("keeps the call parked")).toHaveLength(1);
  });

  test("a call handler that throws: internal-error (not server-hangup), its FreeSWITCH call killed, close 1011", async () => {
    const closes: unknown[] = [];
    const exploding = (): never => {
      throw new Error("dialog exploded");
    };
    const h = start({ admit: () => ({ onAudio: exploding, onDtmf: () => {}, onRateChange: () => {}, onClose: (reason, detail) => void closes.push({ reason, detail }) }) });
    const peer = await open(h.url("/stream/acme/c9"));
    peer.ws.send("{}");
    peer.ws.send(bytesOf(new Int16Array(320)));
    await waitFor("close", () => peer.closed !== null);
    expect([peer.closed!.code, closes, h.control.calls.includes("hangup c9")]).toEqual([1011, [{ reason: "internal-error", detail: "dialog exploded" }], true]);
  });

  test("stop(): every leg ends with shutdown, its FreeSWITCH call is killed, and the streams close 1001", async () => {
    const h = start();
    const peers = [(await call(h, "/stream/acme/c1")).peer, (await call(h, "/stream/acme/c2")).peer, (await call(h, "/stream/acme/c3")).peer];
    expect(h.server.activeConnections).toBe(3);
    await h.server.stop();
    servers.length = 0;
    expect(h.legs.map((r) => r.closes.map((c) => c.reason))).toEqual([["shutdown"], ["shutdown"], ["shutdown"]]);
    expect(h.control.calls.filter((c) => c.startsWith("hangup"))).toEqual(["hangup c1", "hangup c2", "hangup c3"]);
    await waitFor("closed", () => peers.every((p) => p.closed !== null));
    expect(peers.map((p) => p.closed!.code)).toEqual([1001, 1001, 1001]);
    expect(h.server.activeConnections).toBe(0);
  });
});
