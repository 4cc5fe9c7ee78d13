/**
 * Property tests: whatever bytes arrive, the parser either returns or throws
 * AudioSocketProtocolError, and the server closes the connection cleanly and stays up.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { parseAllowList } from "../../src/transports/allowlist.ts";
import { startAudioSocketServer } from "../../src/transports/audiosocket.ts";
import {
  AudioSocketParser, AudioSocketProtocolError, HANGUP_MESSAGE, Kind, encodeMessage, rateForKind,
} from "../../src/transports/audiosocket-codec.ts";
import { newTransportStats, type LegCloseReason } from "../../src/transports/types.ts";

const lines: string[] = [];
beforeAll(() => setLogSink((line) => lines.push(line)));
afterAll(() => setLogSink((line) => process.stderr.write(line + "\n")));

const DIGITS = "0123456789*#ABCD";

/** The rules restated independently of the parser, to check what it lets through. */
function isValidMessage(kind: number, length: number, payload: Uint8Array): boolean {
  if (kind === Kind.Hangup) return length === 0;
  if (kind === Kind.Uuid) return length === 16;
  if (kind === Kind.Dtmf) return length === 1 && DIGITS.includes(String.fromCharCode(payload[0]!));
  if (kind === Kind.Error) return length <= 1;
  const rate = rateForKind(kind);
  // 0x10 also carries μ-law (one byte a sample); the other kinds are signed linear only.
  return rate !== undefined && length > 0 && (length % 2 === 0 || kind === Kind.Slin8) && length <= (rate / 5) * 2;
}

const message = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((uuid) => encodeMessage(Kind.Uuid, uuid)),
  fc.tuple(fc.integer({ min: Kind.Slin8, max: Kind.Slin192 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 255 }))
    .map(([kind, samples, fill]) => encodeMessage(kind, new Uint8Array(samples * 2).fill(fill))),
  // μ-law labelled as slin: any byte count, odd ones included.
  fc.tuple(fc.integer({ min: 1, max: 1600 }), fc.integer({ min: 0, max: 255 })).map(([bytes, fill]) => encodeMessage(Kind.Slin8, new Uint8Array(bytes).fill(fill))),
  fc.constantFrom(...DIGITS).map((digit) => encodeMessage(Kind.Dtmf, new Uint8Array([digit.charCodeAt(0)]))),
  fc.constant(HANGUP_MESSAGE),
  fc.uint8Array({ maxLength: 1 }).map((code) => encodeMessage(Kind.Error, code)),
);

const validStream = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(message, { maxLength: 12 }))
  .map(([uuid, rest]) => new Uint8Array([...encodeMessage(Kind.Uuid, uuid), ...rest.flatMap((m) => [...m])]));

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; count: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = input;
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.op === "flip" && bytes.length > 0) {
      bytes = bytes.slice();
      bytes[at] = bytes[at]! ^ (1 << m.bit);
    } else if (m.op === "truncate") {
      bytes = bytes.slice(0, at);
    } else if (m.op === "insert") {
      bytes = new Uint8Array([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
    } else if (m.op === "delete") {
      bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + m.count)]);
    }
  }
  return bytes;
}

const mutatedStream = fc.tuple(validStream, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([s, ms]) => mutate(s, ms));
const anyInput = fc.oneof(fc.uint8Array({ maxLength: 1500 }), mutatedStream, validStream);
const chunkSizes = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 });

function chunk(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Feeds the chunks; returns the messages seen, or rethrows anything that is not a protocol error. */
function feed(chunks: Uint8Array[]): { messages: Array<[number, number[]]>; failed: boolean } {
  const messages: Array<[number, number[]]> = [];
  const parser = new AudioSocketParser((kind, payload) => {
    expect(isValidMessage(kind, payload.length, payload)).toBe(true);
    messages.push([kind, [...payload]]);
  });
  try {
    for (const c of chunks) parser.push(c);
    return { messages, failed: false };
  } catch (error) {
    if (!(error instanceof AudioSocketProtocolError)) throw error;
    expect(() => parser.push(HANGUP_MESSAGE)).toThrow(AudioSocketProtocolError);
    return { messages, failed: true };
  }
}

describe("parser properties", () => {
  test("random and mutated bytes: returns normally or throws AudioSocketProtocolError, nothing else", () => {
    fc.assert(fc.property(anyInput, chunkSizes, (bytes, sizes) => void feed(chunk(bytes, sizes))), { numRuns: 400 });
  });

  test("a valid stream parses to the same messages however it is chunked", () => {
    fc.assert(
      fc.property(validStream, chunkSizes, (bytes, sizes) => {
        const whole = feed([bytes]);
        expect(whole.failed).toBe(false);
        expect(feed(chunk(bytes, sizes))).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });
});

describe("server properties", () => {
  test("over a real socket: every connection is closed cleanly, every leg closed once, the server stays up", async () => {
    const stats = newTransportStats();
    const closes: LegCloseReason[][] = [];
    const server = startAudioSocketServer({
      host: "127.0.0.1", port: 0, allow: parseAllowList(""), log: rootLogger.child("audiosocket"), stats, uuidTimeoutMs: 100,
      admit(leg) {
        const mine: LegCloseReason[] = [];
        closes.push(mine);
        return {
          onAudio: (samples) => void leg.sendAudio(samples),
          onDtmf: () => {},
          onRateChange: () => {},
          onClose: (reason) => void mine.push(reason),
        };
      },
    });
    try {
      await fc.assert(
        fc.asyncProperty(anyInput, chunkSizes, async (bytes, sizes) => {
          let closed = false;
          const socket = await Bun.connect({
            hostname: "127.0.0.1", port: server.port,
            socket: { data: () => {}, close: () => void (closed = true), error: () => {} },
          });
          for (const c of chunk(bytes, sizes)) {
            if (socket.write(c) < c.length) break;
          }
          const deadline = performance.now() + 40;
          while (!closed && performance.now() < deadline) await Bun.sleep(2);
          if (!closed) socket.end();
          while (!closed || server.activeConnections > 0) await Bun.sleep(1);
          expect(closes.every((reasons) => reasons.length === 1)).toBe(true);
        }),
        { numRuns: 60 },
      );
      expect(stats.connectionsAccepted).toBeGreaterThanOrEqual(60);
      const reasons = new Set(closes.flat());
      expect(reasons.has("protocol-error") && reasons.has("caller-hangup")).toBe(true);
      expect(lines.filter((line) => line.includes("socket handler failed"))).toEqual([]);
      // Still serving: a clean call after all that.
      let heard = 0;
      const socket = await Bun.connect({
        hostname: "127.0.0.1", port: server.port,
        socket: { data: (_s, chunk) => void (heard += chunk.length) },
      });
      socket.write(new Uint8Array([...encodeMessage(Kind.Uuid, new Uint8Array(16)), ...encodeMessage(Kind.Slin8, new Uint8Array(320))]));
      const deadline = performance.now() + 5000;
      while (heard < 323 && performance.now() < deadline) await Bun.sleep(2);
      expect(heard).toBe(323);
      socket.end();
    } finally {
      await server.stop();
    }
  }, 30000);
});
