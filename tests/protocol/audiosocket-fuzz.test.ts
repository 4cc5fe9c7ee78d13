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
import { DIGITS, anyInput, chunk, chunkSizes, validStream } from "../support/audiosocket-fuzz-inputs.ts";

const lines: string[] = [];
beforeAll(() => setLogSink((line) => lines.push(line)));
afterAll(() => setLogSink((line) => process.stderr.write(line + "\n")));

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
