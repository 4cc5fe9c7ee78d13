/**
 * A media server client for the ASP tests, written from the spec (docs/ASP_SPECIFICATION.md) and
 * framed byte for byte as the PABX Docker media server's own client frames it: Python's
 * json.dumps (", " and ": " separators, the dataclasses' field order) and the 12-byte audio header
 * of shared/ws/protocol.py (0x01, direction 0x00, md5(session_id)[0..8], two zero bytes).
 * The server side runs for real (127.0.0.1, port 0); the call layer is a recording stand-in.
 */
import { createHash } from "node:crypto";
import { expect } from "bun:test";
import { rootLogger } from "../../src/log.ts";
import { startAspServer, type AspServer } from "../../src/transports/asp.ts";
import { newTransportStats, type CallLeg, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";
import { waitFor } from "../support/log-capture.ts";

export interface LegRecord {
  leg: CallLeg;
  audio: Int16Array[];
  closes: Array<{ reason: LegCloseReason; detail: string | undefined }>;
}

export interface Harness {
  server: AspServer;
  stats: TransportStats;
  legs: LegRecord[];
  url: string;
}

const servers: AspServer[] = [];
const sockets: WebSocket[] = [];

export async function cleanUp(): Promise<void> {
  for (const ws of sockets.splice(0)) ws.close();
  for (const server of servers.splice(0)) await server.stop();
}

export function startServer(token: string | null = null, endWaitMs = 10_000): Harness {
  const stats = newTransportStats();
  const legs: LegRecord[] = [];
  const server = startAspServer({
    host: "127.0.0.1", port: 0, token, maxSessionSeconds: 600, endWaitMs, log: rootLogger.child("asp"), stats,
    resolveTenant: (id) => (id === null ? "default" : id === "acme" ? "acme" : null),
    admit(leg) {
      const record: LegRecord = { leg, audio: [], closes: [] };
      legs.push(record);
      return {
        onAudio: (samples) => record.audio.push(samples.slice()),
        onDtmf: () => {},
        onRateChange: () => {},
        onClose: (reason, detail) => record.closes.push({ reason, detail }),
      };
    },
  });
  servers.push(server);
  return { server, stats, legs, url: `ws://127.0.0.1:${server.port}/` };
}

/** Python's json.dumps with its default separators. */
export function pyJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(pyJson).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`).join(", ")}}`;
  return JSON.stringify(value);
}

export const DEFAULT_VAD = { enabled: true, silence_threshold_ms: 500, min_speech_ms: 250, threshold: 0.5, ring_buffer_frames: 5, speech_ratio: 0.4, prefix_padding_ms: 300 };

/** session.start as SessionStartMessage.to_dict() writes it (call_id and metadata last, only when set). */
export function sessionStart(sessionId: string, audio: Record<string, unknown> = {}, vad: Record<string, unknown> = {}, metadata: Record<string, unknown> | null = { source: "media-server" }): string {
  return pyJson({
    type: "session.start", session_id: sessionId,
    audio: { sample_rate: 8000, encoding: "pcm_s16le", channels: 1, frame_duration_ms: 20, ...audio },
    vad: { ...DEFAULT_VAD, ...vad },
    timestamp: "2026-12-07T01:00:00.000Z",
    call_id: `${sessionId.slice(0, 8)}@192.0.2.10`,
    ...(metadata ? { metadata } : {}),
  });
}

/** The client's audio frame: header then s16le samples. */
export function audioFrame(sessionId: string, samples: Int16Array, direction = 0x00): Uint8Array {
  const bytes = new Uint8Array(12 + samples.byteLength);
  bytes[0] = 0x01;
  bytes[1] = direction;
  bytes.set(createHash("md5").update(sessionId).digest().subarray(0, 8), 2);
  bytes.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), 12);
  return bytes;
}

export function hashOf(sessionId: string): Uint8Array {
  return new Uint8Array(createHash("md5").update(sessionId).digest().subarray(0, 8));
}

export class MediaClient {
  readonly ws: WebSocket;
  readonly texts: Array<Record<string, unknown>> = [];
  readonly rawTexts: string[] = [];
  readonly binaries: Uint8Array[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<boolean>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    sockets.push(this.ws);
    this.ws.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => {
      if (typeof event.data === "string") {
        this.rawTexts.push(event.data);
        this.texts.push(JSON.parse(event.data) as Record<string, unknown>);
      } else this.binaries.push(new Uint8Array(event.data));
    });
    this.closed = new Promise((resolve) => this.ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
    this.opened = new Promise((resolve) => {
      this.ws.addEventListener("open", () => resolve(true));
      this.ws.addEventListener("error", () => resolve(false));
    });
  }

  /** The media server's connect(): waits for protocol.capabilities. */
  static async connect(url: string): Promise<MediaClient> {
    const client = new MediaClient(url);
    expect(await client.opened).toBe(true);
    await client.next("protocol.capabilities");
    return client;
  }

  /** The first message of `type` after `from` (index into texts), waiting for it. */
  async next(type: string, from = 0): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitFor(`a ${type} message`, () => (found = this.texts.slice(from).find((m) => m.type === type)) !== undefined);
    return found as Record<string, unknown>;
  }

  ofType(type: string): Array<Record<string, unknown>> {
    return this.texts.filter((m) => m.type === type);
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** session.start, then the session.started answer. */
  async start(sessionId: string, audio: Record<string, unknown> = {}, vad: Record<string, unknown> = {}, metadata?: Record<string, unknown> | null): Promise<Record<string, unknown>> {
    const from = this.texts.length;
    this.send(sessionStart(sessionId, audio, vad, metadata === undefined ? { source: "media-server" } : metadata));
    return this.next("session.started", from);
  }
}

/** A started session and its admitted leg. */
export async function startCall(h: Harness, audio: Record<string, unknown> = {}, metadata?: Record<string, unknown>): Promise<{ client: MediaClient; record: LegRecord; id: string }> {
  const client = await MediaClient.connect(h.url);
  const id = crypto.randomUUID();
  const before = h.legs.length;
  const started = await client.start(id, audio, {}, metadata);
  expect(started.status).toBe("accepted");
  await waitFor("the admitted leg", () => h.legs.length > before);
  return { client, record: h.legs[h.legs.length - 1] as LegRecord, id };
}

export function tone(samples: number, value = 1000): Int16Array {
  return new Int16Array(samples).fill(value);
}
