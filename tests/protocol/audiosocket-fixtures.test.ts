/**
 * Every byte stream a real Asterisk 23.4.1 sent (../shared/fixtures/audiosocket) must parse to
 * exactly the messages its frames.json lists, however TCP splits it; replayed over TCP to the
 * server, the call layer must see the call Asterisk placed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { parseAllowList } from "../../src/transports/allowlist.ts";
import { startAudioSocketServer, type AudioSocketServer } from "../../src/transports/audiosocket.ts";
import {
  AudioSocketParser, AudioSocketProtocolError, Kind, encodeMessage, uuidFromString, uuidToString, writeAudioMessage,
} from "../../src/transports/audiosocket-codec.ts";
import { MULAW_TO_LINEAR } from "../../src/transports/mulaw.ts";
import { newTransportStats, type CallLeg, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";

const FIXTURES = fileURLToPath(new URL("../../../shared/fixtures/audiosocket/", import.meta.url));

interface FrameRecord {
  i: number;
  kind: number;
  length: number;
  uuid?: string;
  digit?: string;
  marker_idx?: number;
}

interface Message {
  kind: number;
  length: number;
  uuid?: string;
  digit?: string;
  marker_idx?: number;
}

const MARKER = 0x7a5a;

function captures(): string[] {
  const found: string[] = [];
  for (const dir of readdirSync(FIXTURES, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of readdirSync(FIXTURES + dir.name)) {
      if (file.endsWith(".asterisk_to_server.bin")) found.push(`${dir.name}/${file.slice(0, -".asterisk_to_server.bin".length)}`);
    }
  }
  return found.sort();
}

function expected(frames: FrameRecord[]): Message[] {
  return frames.map(({ kind, length, uuid, digit, marker_idx }) => ({
    kind, length,
    ...(uuid === undefined ? {} : { uuid }),
    ...(digit === undefined ? {} : { digit }),
    ...(marker_idx === undefined ? {} : { marker_idx }),
  }));
}

function describeMessage(kind: number, payload: Uint8Array): Message {
  const message: Message = { kind, length: payload.length };
  if (kind === Kind.Uuid) message.uuid = uuidToString(payload);
  if (kind === Kind.Dtmf) message.digit = String.fromCharCode(payload[0]!);
  if (kind === Kind.Slin8 && payload.length >= 4 && (payload[0]! | (payload[1]! << 8)) === MARKER) {
    message.marker_idx = payload[2]! | (payload[3]! << 8);
  }
  return message;
}

function parseInChunks(bin: Uint8Array, sizes: number[]): { messages: Message[]; error: string | null; buffered: number } {
  const messages: Message[] = [];
  const parser = new AudioSocketParser((kind, payload) => messages.push(describeMessage(kind, payload)));
  let offset = 0;
  try {
    for (const size of sizes) {
      parser.push(bin.subarray(offset, offset + size));
      offset += size;
    }
  } catch (error) {
    if (!(error instanceof AudioSocketProtocolError)) throw error;
    return { messages, error: error.message, buffered: parser.buffered };
  }
  expect(offset).toBe(bin.length);
  return { messages, error: null, buffered: parser.buffered };
}

/** Deterministic chunkings, so a failure can be replayed. */
function randomSizes(total: number, seed: number, maxChunk: number): number[] {
  let state = seed;
  const sizes: number[] = [];
  for (let left = total; left > 0; ) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const size = Math.min(left, 1 + (state % maxChunk));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

const all = captures();

test("the fixture folder holds the captures", () => {
  expect(all.length).toBeGreaterThanOrEqual(30);
  expect(all).toContain("a_app_8k_playback_dtmf_callerhangup/A");
  expect(all).toContain("e4_dial_c_ulaw/AS");
});

describe.each(all)("%s", (capture) => {
  const bin = new Uint8Array(readFileSync(`${FIXTURES}${capture}.asterisk_to_server.bin`));
  const frames = JSON.parse(readFileSync(`${FIXTURES}${capture}.frames.json`, "utf8")) as FrameRecord[];
  const reads = (JSON.parse(readFileSync(`${FIXTURES}${capture}.reads.json`, "utf8")) as { reads: [number, number][] }).reads;
  // Odd-length 0x10 included: Asterisk forwards a peer's 321-byte frame as it is (d03), and μ-law is one byte a sample.
  const want = expected(frames);

  function check(result: ReturnType<typeof parseInChunks>): void {
    expect(result.messages).toEqual(want);
    expect(result.error).toBeNull();
    expect(result.buffered).toBe(0);
  }

  test("chunked as Asterisk's reads arrived", () => {
    expect(reads.reduce((sum, [, size]) => sum + size, 0)).toBe(bin.length);
    check(parseInChunks(bin, reads.map(([, size]) => size)));
  });

  test("in random chunkings, down to single bytes", () => {
    for (const [seed, maxChunk] of [[1, 1], [2, 5], [3, 400], [4, 5000]] as const) {
      check(parseInChunks(bin, randomSizes(bin.length, seed, maxChunk)));
    }
    check(parseInChunks(bin, [bin.length]));
  });
});

describe("captures replayed over TCP to the server", () => {
  const lines: string[] = [];
  beforeAll(() => setLogSink((line) => lines.push(line)));
  afterAll(() => setLogSink((line) => process.stderr.write(line + "\n")));
  const servers: AudioSocketServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });

  interface Seen {
    leg: CallLeg;
    events: string[];
    audio: Int16Array[];
    dtmf: string;
    closes: Array<[LegCloseReason, string | undefined]>;
  }

  function start(): { server: AudioSocketServer; stats: TransportStats; legs: Seen[] } {
    const stats = newTransportStats();
    const legs: Seen[] = [];
    const server = startAudioSocketServer({
      host: "127.0.0.1", port: 0, allow: parseAllowList(""), log: rootLogger.child("audiosocket"), stats,
      admit(leg) {
        const seen: Seen = { leg, events: [], audio: [], dtmf: "", closes: [] };
        legs.push(seen);
        return {
          onAudio: (samples) => void (seen.events.push(`audio:${samples.length}`), seen.audio.push(samples.slice())),
          onDtmf: (digit) => void (seen.events.push(`dtmf:${digit}`), (seen.dtmf += digit)),
          onRateChange: (rate) => void seen.events.push(`rate:${rate}`),
          onClose: (reason, detail) => void seen.closes.push([reason, detail]),
        };
      },
    });
    servers.push(server);
    return { server, stats, legs };
  }

  async function waitFor(what: string, condition: () => boolean): Promise<void> {
    const deadline = performance.now() + 5000;
    while (!condition()) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await Bun.sleep(2);
    }
  }

  /** A PBX stand-in that sends the given chunks, the first `paced` at their recorded times. */
  async function dial(port: number, chunks: Array<[number, Uint8Array]>, paced: number) {
    const state = { closed: false };
    const queue: Uint8Array[] = [];
    function flush(s: Socket<undefined>): void {
      while (queue.length > 0) {
        const written = s.write(queue[0]!);
        if (written < 0) return;
        if (written < queue[0]!.length) return void (queue[0] = queue[0]!.subarray(written));
        queue.shift();
      }
    }
    const socket = await Bun.connect({
      hostname: "127.0.0.1", port,
      socket: { data: () => {}, drain: flush, close: () => void (state.closed = true) },
    });
    const peer = `127.0.0.1:${socket.localPort}`;
    const t0 = performance.now();
    for (const [index, [atMs, bytes]] of chunks.entries()) {
      if (index < paced) await Bun.sleep(Math.max(0, t0 + atMs - performance.now()));
      queue.push(bytes);
      flush(socket);
    }
    return { peer, state, end: () => socket.end() };
  }

  function captureChunks(capture: string): Array<[number, Uint8Array]> {
    const bin = new Uint8Array(readFileSync(`${FIXTURES}${capture}.asterisk_to_server.bin`));
    const reads = (JSON.parse(readFileSync(`${FIXTURES}${capture}.reads.json`, "utf8")) as { reads: [number, number][] }).reads;
    let offset = 0;
    return reads.map(([atMs, size]) => [atMs, bin.subarray(offset, (offset += size))]);
  }

  const warningsFor = (peer: string) => lines.filter((line) => line.includes(`peer=${peer} `) && / (WARN|ERROR) /.test(line));
  const sizes = (count: number, size: number, last: number) => [...Array<number>(count).fill(size), last];

  test("a: UUID, 8 kHz slin, DTMF 123#, then the caller hangs up with a plain close", async () => {
    const { server, stats, legs } = start();
    const pbx = await dial(server.port, captureChunks("a_app_8k_playback_dtmf_callerhangup/A"), 0);
    await waitFor("DTMF", () => legs[0]?.dtmf === "123#");
    pbx.end();
    await waitFor("close", () => legs[0]?.closes.length === 1);
    const seen = legs[0]!;
    expect(seen.leg).toMatchObject({
      id: "0000000a-0000-4000-8000-000000000a01", transport: "audiosocket", peer: pbx.peer, tenant: "default",
      callerNumber: null, sampleRate: 8000, frameSamples: 160,
    });
    expect(seen.events.filter((e) => e.startsWith("rate:"))).toEqual([]);
    expect(seen.audio.map((a) => a.length)).toEqual(sizes(220, 160, 64));
    expect(seen.closes).toEqual([["caller-hangup", undefined]]);
    expect(stats).toMatchObject({ connectionsAccepted: 1, framesIn: 221, bytesIn: 71226, protocolErrors: 0 });
    await waitFor("connection gone", () => server.activeConnections === 0);
    expect(warningsFor(pbx.peer)).toEqual([]);
  });

  test("e1 (c(slin16)) reports 16 kHz before its first audio, e3 (c(slin48)) 48 kHz", async () => {
    const { server, legs } = start();
    await dial(server.port, captureChunks("e1_dial_c_slin16/AS"), 0);
    await dial(server.port, captureChunks("e3_dial_c_slin48/AS"), 0);
    await waitFor("DTMF on both", () => legs.length === 2 && legs.every((l) => l.dtmf === "123#"));
    for (const [rate, frame, last] of [[16000, 320, 128], [48000, 960, 384]] as const) {
      const seen = legs.find((l) => l.events[0] === `rate:${rate}`)!;
      expect(seen.events[1]).toBe(`audio:${frame}`);
      expect(seen.leg).toMatchObject({ sampleRate: rate, frameSamples: frame });
      expect(seen.audio.map((a) => a.length)).toEqual(sizes(220, frame, last));
    }
  });

  test("e4 (c(ulaw)): 160-byte 0x10 frames at 50/s are μ-law; one warning, audio decoded", async () => {
    const { server, legs } = start();
    const chunks = captureChunks("e4_dial_c_ulaw/AS");
    const pbx = await dial(server.port, chunks, 8);
    await waitFor("DTMF", () => legs[0]?.dtmf === "123#");
    const seen = legs[0]!;
    const warnings = warningsFor(pbx.peer);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`call=${seen.leg.id}`);
    expect(warnings[0]).toContain("use c(slin) or c(slin16)");
    const decoded: number[] = [];
    new AudioSocketParser((kind, payload) => {
      if (kind === Kind.Slin8) for (const byte of payload) decoded.push(MULAW_TO_LINEAR[byte]!);
    }).push(new Uint8Array(chunks.flatMap(([, bytes]) => [...bytes])));
    expect(seen.audio.map((a) => a.length)).toEqual(sizes(220, 160, 64));
    expect(seen.audio.flatMap((a) => [...a])).toEqual(decoded);
    expect(seen.leg.sampleRate).toBe(8000);
    expect(seen.events.some((e) => e.startsWith("rate:"))).toBe(false);
  });

  test("e4 ending on a short μ-law frame (149 bytes, a caller's Playback() ending): decoded, and the close is the caller's hang-up", async () => {
    const { server, legs } = start();
    const tail = Uint8Array.from({ length: 149 }, (_, i) => (i * 7) & 0xff);
    const chunks = captureChunks("e4_dial_c_ulaw/AS");
    const pbx = await dial(server.port, [...chunks, [chunks.at(-1)![0] + 20, encodeMessage(Kind.Slin8, tail)]], 8);
    await waitFor("the short frame", () => legs[0]?.audio.at(-1)?.length === 149);
    pbx.end();
    await waitFor("close", () => legs[0]?.closes.length === 1);
    expect(legs[0]!.audio.at(-1)).toEqual(Int16Array.from(tail, (byte) => MULAW_TO_LINEAR[byte]!));
    expect(legs[0]!.closes).toEqual([["caller-hangup", undefined]]);
    expect(warningsFor(pbx.peer).filter((line) => !line.includes("use c(slin) or c(slin16)"))).toEqual([]);
  });

  test("an odd 0x10 frame while the codec is undecided: after 20 ms-paced 160-byte frames it means μ-law; first, it is skipped", async () => {
    const { server, legs } = start();
    const mulaw = (n: number, fill: number) => encodeMessage(Kind.Slin8, new Uint8Array(n).fill(fill));
    const uuid = (id: string): [number, Uint8Array] => [0, encodeMessage(Kind.Uuid, uuidFromString(id))];
    const early = await dial(server.port, [uuid("000000e1-0000-4000-8000-0000000000e1"), [0, mulaw(160, 0x80)], [20, mulaw(160, 0x80)], [40, mulaw(149, 0x00)]], 4);
    await waitFor("three frames", () => legs[0]?.audio.length === 3);
    expect(legs[0]!.audio.map((a) => [a.length, a[0]])).toEqual([[160, 32124], [160, 32124], [149, -32124]]);
    expect(warningsFor(early.peer).join("\n")).toContain("μ-law labelled as slin");

    const first = await dial(server.port, [uuid("000000e2-0000-4000-8000-0000000000e2"), [0, mulaw(3, 1)], [0, encodeMessage(Kind.Slin8, new Uint8Array(320))]], 0);
    await waitFor("the slin frame", () => legs[1]?.audio.length === 1);
    expect(legs[1]!.audio.map((a) => a.length)).toEqual([160]);
    expect(warningsFor(first.peer)).toEqual([expect.stringContaining("skipped an odd-length 0x10 payload (3 bytes) before the call's codec was known")]);
    expect(legs.every((l) => l.closes.length === 0)).toBe(true);
  });

  test("d03: the 321-byte frame Asterisk forwards in a slin call loses its stray byte, once logged; the call goes on", async () => {
    const { server, legs } = start();
    const pbx = await dial(server.port, captureChunks("d03_odd_length_audio_321/B_sink"), 0);
    await waitFor("every frame", () => legs[0]?.audio.length === 61);
    expect(legs[0]!.audio.map((a) => a.length)).toEqual(Array<number>(61).fill(160));
    const warnings = warningsFor(pbx.peer);
    expect(warnings).toEqual([expect.stringContaining("odd-length slin payload (321 bytes) for kind 0x10: its last byte is dropped")]);
    expect(warnings[0]).toContain(`call=${legs[0]!.leg.id}`);
    expect(legs[0]!.closes).toEqual([]);
  });

  test("160-byte slin frames every 10 ms (100/s) are not taken for μ-law", async () => {
    const { server, legs } = start();
    const frames = Array.from({ length: 10 }, (_, f) => Int16Array.from({ length: 80 }, (_, i) => f * 1000 + i * 3 - 120));
    const chunks: Array<[number, Uint8Array]> = [[0, encodeMessage(Kind.Uuid, uuidFromString("000000aa-0000-4000-8000-0000000000aa"))]];
    for (const [f, frame] of frames.entries()) {
      const message = new Uint8Array(163);
      writeAudioMessage(message, Kind.Slin8, frame);
      chunks.push([f * 10, message]);
    }
    const pbx = await dial(server.port, chunks, chunks.length);
    await waitFor("10 frames", () => legs[0]?.audio.length === 10);
    expect(legs[0]!.audio).toEqual(frames);
    expect(warningsFor(pbx.peer)).toEqual([]);
  });

  test("f1: a connection closed with zero bytes gets the Answer() hint", async () => {
    const { server, legs } = start();
    const pbx = await dial(server.port, captureChunks("f1_app_without_answer/A"), 0);
    pbx.end();
    await waitFor("hint", () => warningsFor(pbx.peer).length === 1);
    expect(warningsFor(pbx.peer)[0]).toContain("put Answer() before AudioSocket()");
    expect(legs).toEqual([]);
  });
});
