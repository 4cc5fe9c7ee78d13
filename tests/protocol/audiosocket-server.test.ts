/**
 * The AudioSocket server over real TCP on 127.0.0.1: bad input, the allow-list, audio back to the
 * PBX, hang-up, back-pressure and shutdown. Real captures replayed to it: audiosocket-fixtures.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import type { Socket } from "bun";
import { createConnection } from "node:net";
import { rootLogger } from "../../src/log.ts";
import { parseAllowList } from "../../src/transports/allowlist.ts";
import { startAudioSocketServer, type AudioSocketServer } from "../../src/transports/audiosocket.ts";
import {
  AudioSocketParser, Kind, encodeMessage, uuidFromString, writeAudioMessage,
} from "../../src/transports/audiosocket-codec.ts";
import { newTransportStats, type CallLeg, type CallLegEvents, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";

const lines = captureLogLines();

/** What the call layer saw of one leg. */
interface LegRecord {
  leg: CallLeg;
  /** "rate:16000", "audio:160", "dtmf:1", "close:caller-hangup" in arrival order. */
  events: string[];
  audio: Int16Array[];
  dtmf: string;
  closes: Array<{ reason: LegCloseReason; detail: string | undefined }>;
}

type Behaviour = (record: LegRecord) => Partial<CallLegEvents>;

interface Harness {
  server: AudioSocketServer;
  stats: TransportStats;
  legs: LegRecord[];
}

const servers: AudioSocketServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

function start(behaviour: Behaviour = () => ({}), options: { allow?: string; uuidTimeoutMs?: number } = {}): Harness {
  const stats = newTransportStats();
  const legs: LegRecord[] = [];
  const server = startAudioSocketServer({
    host: "127.0.0.1", port: 0, allow: parseAllowList(options.allow ?? ""), log: rootLogger.child("audiosocket"), stats,
    uuidTimeoutMs: options.uuidTimeoutMs ?? 5000,
    admit(leg) {
      const record: LegRecord = { leg, events: [], audio: [], dtmf: "", closes: [] };
      legs.push(record);
      const extra = behaviour(record);
      return {
        onAudio(samples) {
          record.events.push(`audio:${samples.length}`);
          record.audio.push(samples.slice());
          extra.onAudio?.(samples);
        },
        onDtmf(digit) {
          record.events.push(`dtmf:${digit}`);
          record.dtmf += digit;
          extra.onDtmf?.(digit);
        },
        onRateChange(rate) {
          record.events.push(`rate:${rate}`);
          extra.onRateChange?.(rate);
        },
        onClose(reason, detail) {
          record.events.push(`close:${reason}`);
          record.closes.push({ reason, detail });
        },
      };
    },
  });
  servers.push(server);
  return { server, stats, legs };
}

/** A PBX stand-in: writes bytes (queueing what the socket does not take) and keeps what it receives. */
class Client {
  received: number[] = [];
  closed = false;
  /** `ip:port` as the server sees this client (kept: Bun forgets localPort once closed). */
  peer = "";
  private queue: Uint8Array[] = [];
  private constructor(private socket: Socket<undefined> | null) {}

  static async connect(port: number): Promise<Client> {
    const client = new Client(null);
    client.socket = await Bun.connect({
      hostname: "127.0.0.1", port,
      socket: {
        binaryType: "uint8array",
        data: (_socket, chunk) => {
          for (const byte of chunk) client.received.push(byte);
        },
        drain: () => client.flush(),
        close: () => {
          client.closed = true;
        },
      },
    });
    client.peer = `127.0.0.1:${client.socket.localPort}`;
    return client;
  }

  write(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.flush();
  }

  end(): void {
    this.socket!.end();
  }

  messages(): Array<{ kind: number; payload: Uint8Array }> {
    const out: Array<{ kind: number; payload: Uint8Array }> = [];
    new AudioSocketParser((kind, payload) => out.push({ kind, payload: payload.slice() })).push(new Uint8Array(this.received));
    return out;
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const written = this.socket!.write(head);
      if (written < 0) return;
      if (written < head.length) {
        this.queue[0] = head.subarray(written);
        return;
      }
      this.queue.shift();
    }
  }
}

function linesFor(peer: string): string[] {
  return lines.filter((line) => line.includes(`peer=${peer} `));
}

/** Warnings and errors only: the fault lines (info lines such as "call connected" are not faults). */
function faultLinesFor(peer: string): string[] {
  return linesFor(peer).filter((line) => / (WARN|ERROR) /.test(line));
}

const UUID = "000000aa-0000-4000-8000-0000000000aa";
const uuidMessage = (uuid = UUID): Uint8Array => encodeMessage(Kind.Uuid, uuidFromString(uuid));
const audioMessage = (kind: number, samples: Int16Array): Uint8Array => {
  const out = new Uint8Array(3 + samples.length * 2);
  writeAudioMessage(out, kind, samples);
  return out;
};
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]));

describe("bad input closes only its own connection", () => {
  const badCases: Array<{ name: string; bytes: Uint8Array; fault: string; hasLeg: boolean }> = [
    { name: "no UUID in time", bytes: new Uint8Array(0), fault: "no UUID message within 300 ms (0 bytes received)", hasLeg: false },
    { name: "UUID of the wrong length", bytes: concat(new Uint8Array([0x01, 0x00, 0x0f]), new Uint8Array(15)), fault: "UUID payload is 15 bytes, expected 16", hasLeg: false },
    { name: "audio before the UUID", bytes: audioMessage(Kind.Slin8, new Int16Array(160)), fault: "first message is kind 0x10, expected the UUID (0x01)", hasLeg: false },
    { name: "unknown kind 0x42", bytes: concat(uuidMessage(), new Uint8Array([0x42, 0, 3, 1, 2, 3])), fault: "unknown message kind 0x42", hasLeg: true },
    { name: "impossible length", bytes: concat(uuidMessage(), new Uint8Array([0x10, 0xff, 0xfe])), fault: "audio payload of 65534 bytes is longer than 200 ms at 8000 Hz", hasLeg: true },
    { name: "odd-length slin16", bytes: concat(uuidMessage(), new Uint8Array([0x12, 0x01, 0x41]), new Uint8Array(321)), fault: "odd audio payload length 321 for kind 0x12", hasLeg: true },
    { name: "DTMF that is not a digit", bytes: concat(uuidMessage(), new Uint8Array([0x03, 0, 1, 0x78])), fault: "DTMF payload 0x78 is not one digit (0-9 * # A-D)", hasLeg: true },
    { name: "a second UUID", bytes: concat(uuidMessage(), uuidMessage("000000bb-0000-4000-8000-0000000000bb")), fault: "second UUID message 000000bb-0000-4000-8000-0000000000bb", hasLeg: true },
  ];

  test("each fault: one log line naming peer and fault, counted, the good call streams on", async () => {
    // The good call echoes every frame it hears, so both directions are checked.
    const { server, stats, legs } = start((record) => ({ onAudio: (samples) => void record.leg.sendAudio(samples) }), { uuidTimeoutMs: 300 });
    const good = await Client.connect(server.port);
    good.write(uuidMessage("000000cc-0000-4000-8000-0000000000cc"));
    let sent = 0;
    const streaming = setInterval(() => good.write(audioMessage(Kind.Slin8, new Int16Array(160).fill(++sent))), 20);
    try {
      await waitFor("the good call", () => legs.length === 1 && legs[0]!.audio.length > 2);
      for (const [index, bad] of badCases.entries()) {
        const heardBefore = legs[0]!.audio.length;
        const echoedBefore = good.received.length;
        const client = await Client.connect(server.port);
        if (bad.bytes.length > 0) client.write(bad.bytes);
        await waitFor(`server to close "${bad.name}"`, () => client.closed);
        await Bun.sleep(30);
        const logged = faultLinesFor(client.peer);
        expect({ case: bad.name, logged: logged.length }).toEqual({ case: bad.name, logged: 1 });
        expect(logged[0]).toContain(bad.fault);
        expect(logged[0]).toContain("WARN");
        expect(stats.protocolErrors).toBe(index + 1);
        const leg = legs.find((l) => l.leg.peer === client.peer);
        if (bad.hasLeg) {
          expect(logged[0]).toContain(`call=${UUID}`);
          expect(leg!.closes).toEqual([{ reason: "protocol-error", detail: expect.stringContaining(bad.fault) }]);
        } else {
          expect(leg).toBeUndefined();
        }
        expect(legs[0]!.closes).toEqual([]);
        expect(legs[0]!.audio.length).toBeGreaterThan(heardBefore);
        expect(good.received.length).toBeGreaterThan(echoedBefore);
      }
    } finally {
      clearInterval(streaming);
    }
    const echoed = good.messages();
    expect(echoed.every((m) => m.kind === Kind.Slin8 && m.payload.length === 320)).toBe(true);
    expect(echoed.map((m) => m.payload[0])).toEqual(echoed.map((_, i) => (i + 1) & 0xff));
    expect(server.activeConnections).toBe(1);
  });

  test("the PBX's 0x00 and 0xff end the call as a caller hang-up; 0xff's code is decoded in the log", async () => {
    const { server, legs } = start();
    const hangup = await Client.connect(server.port);
    hangup.write(concat(uuidMessage(), new Uint8Array([0, 0, 0])));
    const error = await Client.connect(server.port);
    error.write(concat(uuidMessage("000000ee-0000-4000-8000-0000000000ee"), new Uint8Array([0xff, 0, 1, 0x03])));
    await waitFor("both closed", () => hangup.closed && error.closed && legs.every((l) => l.closes.length === 1));
    const byPeer = (peer: string) => legs.find((l) => l.leg.peer === peer)!.closes;
    expect(byPeer(hangup.peer)).toEqual([{ reason: "caller-hangup", detail: "the PBX sent hang-up (0x00)" }]);
    expect(byPeer(error.peer)).toEqual([
      { reason: "caller-hangup", detail: "the PBX sent error (0xff): code 0x03 (hangup of calling party, frame forwarding error)" },
    ]);
    expect(faultLinesFor(error.peer)).toHaveLength(1);
  });
});

describe("allow-list", () => {
  test("a peer outside AUDIOSOCKET_ALLOW is closed at once, counted and logged once", async () => {
    const { server, stats, legs } = start(() => ({}), { allow: "192.0.2.0/24, 2001:db8::/32" });
    const client = await Client.connect(server.port);
    client.write(uuidMessage());
    await waitFor("refusal", () => client.closed);
    expect(stats).toMatchObject({ connectionsRejected: 1, connectionsAccepted: 0, bytesIn: 0 });
    expect(legs).toEqual([]);
    const logged = linesFor(client.peer);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("not in AUDIOSOCKET_ALLOW");
    expect(server.activeConnections).toBe(0);
  });

  test("a listed peer is served", async () => {
    const { server, stats, legs } = start(() => ({}), { allow: "192.0.2.10,127.0.0.0/8" });
    const client = await Client.connect(server.port);
    client.write(uuidMessage());
    await waitFor("admission", () => legs.length === 1);
    expect(stats).toMatchObject({ connectionsRejected: 0, connectionsAccepted: 1 });
  });
});

describe("audio and hang-up toward the PBX", () => {
  test("sendAudio writes the kind of the leg's current rate with little-endian samples", async () => {
    const outgoing = Int16Array.from({ length: 160 }, (_, i) => [0, 1, -1, 32767, -32768, 0x1234][i % 6]!);
    const results: boolean[] = [];
    const { server, stats, legs } = start((record) => ({
      onAudio: () => {
        results.push(record.leg.sendAudio(outgoing));
      },
      onRateChange: (rate) => {
        results.push(record.leg.sendAudio(new Int16Array(rate / 50).fill(-2)));
      },
    }));
    const client = await Client.connect(server.port);
    client.write(concat(uuidMessage(), audioMessage(Kind.Slin8, new Int16Array(160))));
    await waitFor("first reply", () => client.received.length >= 323);
    client.write(audioMessage(Kind.Slin16, new Int16Array(320)));
    await waitFor("all replies", () => client.received.length >= 323 + 643 + 323);
    const messages = client.messages();
    expect(messages.map((m) => [m.kind, m.payload.length])).toEqual([[0x10, 320], [0x12, 640], [0x12, 320]]);
    const decode = (p: Uint8Array) => Int16Array.from({ length: p.length / 2 }, (_, i) => p[2 * i]! | (p[2 * i + 1]! << 8));
    expect(decode(messages[0]!.payload)).toEqual(outgoing);
    expect([...decode(messages[1]!.payload)].every((s) => s === -2)).toBe(true);
    expect(results).toEqual([true, true, true]);
    expect(decode(messages[2]!.payload)).toEqual(outgoing);
    expect(stats).toMatchObject({ framesOut: 3, bytesOut: 323 + 643 + 323 });
    client.end();
    await waitFor("close", () => legs[0]!.closes.length === 1);
    expect(legs[0]!.leg.sendAudio(outgoing)).toBe(false);
    legs[0]!.leg.hangup();
    expect(legs[0]!.closes).toEqual([{ reason: "caller-hangup", detail: undefined }]);
  });

  test("hangup sends exactly 00 00 00, then closes; idempotent; onClose once", async () => {
    const { server, legs } = start((record) => ({
      onAudio: () => {
        record.leg.hangup();
        record.leg.hangup();
      },
    }));
    const client = await Client.connect(server.port);
    client.write(concat(uuidMessage(), audioMessage(Kind.Slin8, new Int16Array(160)), audioMessage(Kind.Slin8, new Int16Array(160))));
    await waitFor("server close", () => client.closed);
    expect(client.received).toEqual([0, 0, 0]);
    expect(legs[0]!.closes).toEqual([{ reason: "server-hangup", detail: undefined }]);
    expect(legs[0]!.audio).toHaveLength(1);
    expect(legs[0]!.leg.sendAudio(new Int16Array(160))).toBe(false);
    await waitFor("connection gone", () => server.activeConnections === 0);
  });

  test("a call handler that throws: logged, the call handed back to the dialplan with 0x00, others unaffected", async () => {
    const { server, legs } = start(() => ({
      onDtmf: () => {
        throw new Error("dialog exploded");
      },
    }));
    const other = await Client.connect(server.port);
    other.write(concat(uuidMessage("000000dd-0000-4000-8000-0000000000dd"), audioMessage(Kind.Slin8, new Int16Array(160))));
    const client = await Client.connect(server.port);
    client.write(concat(uuidMessage(), new Uint8Array([0x03, 0, 1, 0x31])));
    await waitFor("server close", () => client.closed);
    expect(client.received).toEqual([0, 0, 0]);
    const record = legs.find((l) => l.leg.peer === client.peer)!;
    expect(record.closes).toEqual([{ reason: "internal-error", detail: "dialog exploded" }]);
    const faults = faultLinesFor(client.peer);
    expect(faults).toHaveLength(1);
    expect(faults[0]).toContain("call handler failed: dialog exploded");
    other.write(audioMessage(Kind.Slin8, new Int16Array(160)));
    await waitFor("the other call's audio", () => legs.find((l) => l.leg.peer === other.peer)!.audio.length === 2);
    expect(other.closed).toBe(false);
  });

  test("stop() ends every leg with shutdown and closes every socket", async () => {
    const { server, legs } = start();
    const clients = await Promise.all([Client.connect(server.port), Client.connect(server.port), Client.connect(server.port)]);
    clients[0]!.write(uuidMessage());
    clients[1]!.write(uuidMessage("000000ab-0000-4000-8000-0000000000ab"));
    await waitFor("two legs", () => legs.length === 2 && server.activeConnections === 3);
    servers.splice(servers.indexOf(server), 1);
    await server.stop();
    await waitFor("clients closed", () => clients.every((c) => c.closed));
    expect(legs.map((l) => l.closes)).toEqual([[{ reason: "shutdown", detail: undefined }], [{ reason: "shutdown", detail: undefined }]]);
    expect(server.activeConnections).toBe(0);
  });
});

describe("back-pressure from a PBX that stops reading", () => {
  /** A node:net client can pause reading, which Bun's own client cannot; the kernel buffers then fill. */
  async function pausedCall(port: number, legs: LegRecord[]) {
    const socket = createConnection({ host: "127.0.0.1", port });
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => {});
    await new Promise((resolve) => socket.on("connect", resolve));
    socket.pause();
    const before = legs.length;
    socket.write(concat(uuidMessage(), encodeMessage(Kind.Slin192, new Uint8Array(7680))));
    await waitFor("192 kHz leg", () => legs.length > before && legs[before]!.leg.sampleRate === 192000);
    return { socket, received, closed, record: legs[before]! };
  }

  const frameOf = (index: number) => new Int16Array(3840).fill(index);

  test("pending audio past 1 s closes the leg with write-error; queued audio is flushed on drain", async () => {
    const { server, legs } = start();
    // 1. Never read: the kernel buffers fill, then our queue, then the leg is closed.
    const stuck = await pausedCall(server.port, legs);
    let accepted = 0;
    while (stuck.record.leg.sendAudio(frameOf(accepted))) accepted++;
    expect(stuck.record.closes).toHaveLength(1);
    expect(stuck.record.closes[0]!.reason).toBe("write-error");
    expect(stuck.record.closes[0]!.detail).toContain("over 1 s of audio");
    expect(stuck.record.leg.sendAudio(frameOf(0))).toBe(false);
    await stuck.closed;
    stuck.socket.destroy();

    // 2. Fill the kernel buffers and half our 1 s queue, then read again: everything arrives in order.
    const slow = await pausedCall(server.port, legs);
    const frames = accepted - 25;
    for (let i = 0; i < frames; i++) expect(slow.record.leg.sendAudio(frameOf(i))).toBe(true);
    slow.socket.resume();
    const total = frames * (3 + 7680);
    await waitFor("all queued audio", () => slow.received.reduce((n, b) => n + b.length, 0) >= total, 10000);
    const indexes: number[] = [];
    new AudioSocketParser((kind, payload) => {
      expect(kind).toBe(Kind.Slin192);
      expect(payload.every((byte, i) => byte === (i % 2 === 0 ? indexes.length & 0xff : (indexes.length >> 8) & 0xff))).toBe(true);
      indexes.push(payload[0]! | (payload[1]! << 8));
    }).push(new Uint8Array(Buffer.concat(slow.received)));
    expect(indexes).toEqual(Array.from({ length: frames }, (_, i) => i));
    expect(slow.record.closes).toEqual([]);
    slow.socket.destroy();
    await waitFor("caller hang-up", () => slow.record.closes.length === 1);
    expect(slow.record.closes[0]!.reason).toBe("caller-hangup");
  });
});
