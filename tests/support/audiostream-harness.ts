/**
 * The mod_audio_stream server over real WebSockets on 127.0.0.1, a WebSocket client standing in for
 * FreeSWITCH and a recording FreeswitchMediaControl for ESL: what the audiostream server tests share.
 */
import { connect as tcpConnect } from "node:net";
import { rootLogger } from "../../src/log.ts";
import { startAudioStreamServer, type AudioStreamServer, type AudioStreamServerOptions } from "../../src/transports/audiostream.ts";
import type { ChannelListener, FreeswitchMediaControl } from "../../src/transports/freeswitch-control.ts";
import { newTransportStats, type CallLeg, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";
import { waitFor } from "./log-capture.ts";

/** An ESL stand-in: records every command, and lets the test fire channel events. */
export class RecordingControl implements FreeswitchMediaControl {
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

export interface LegRecord {
  leg: CallLeg;
  audio: Int16Array[];
  played: Int16Array[];
  dtmf: string;
  closes: Array<{ reason: LegCloseReason; detail: string | undefined }>;
}

export interface Harness {
  server: AudioStreamServer;
  stats: TransportStats;
  legs: LegRecord[];
  control: RecordingControl;
  url(path: string): string;
}

const servers: AudioStreamServer[] = [];
const clients: WebSocket[] = [];

/** Closes every stream and server the last test opened (each test file's afterEach). */
export async function closeAll(): Promise<void> {
  for (const ws of clients.splice(0)) ws.close();
  for (const server of servers.splice(0)) await server.stop();
}

const TENANTS: Record<string, string> = { acme: "acme", "acme.example.com": "acme" };

export function start(options: Partial<AudioStreamServerOptions> = {}, control: RecordingControl | null = new RecordingControl()): Harness {
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
export interface Peer {
  ws: WebSocket;
  texts: string[];
  closed: { code: number; reason: string } | null;
}

export async function open(url: string, headers?: Record<string, string>): Promise<Peer> {
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
export function upgradeStatus(port: number, path: string, extra = ""): Promise<{ status: number; body: string }> {
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
export function tone(ms: number, rate: number, amplitude: number, hz = 440): Int16Array {
  const out = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(32767 * amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}
export const bytesOf = (samples: Int16Array): Uint8Array => new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
export const fromBase64 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "base64"));
export const frames = (samples: Int16Array, size: number): Int16Array[] =>
  Array.from({ length: samples.length / size }, (_, i) => samples.subarray(i * size, (i + 1) * size));

/** Opens a stream as FreeSWITCH does (metadata first, unless given audio) and waits for its leg. */
export async function call(h: Harness, path: string, first: string | Uint8Array = "{}"): Promise<{ peer: Peer; record: LegRecord; leg: CallLeg }> {
  const count = h.legs.length + 1;
  const peer = await open(h.url(path));
  peer.ws.send(first);
  await waitFor(`leg ${count}`, () => h.legs.length >= count);
  return { peer, record: h.legs[count - 1]!, leg: h.legs[count - 1]!.leg };
}
