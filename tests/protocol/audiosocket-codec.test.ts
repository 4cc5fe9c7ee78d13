import { describe, expect, test } from "bun:test";
import {
  AudioSocketParser, AudioSocketProtocolError, HANGUP_MESSAGE, Kind, encodeMessage, isAudioKind, kindForRate, rateForKind,
  uuidFromString, uuidToString, writeAudioMessage,
} from "../../src/transports/audiosocket-codec.ts";
import { MULAW_TO_LINEAR, decodeMulaw } from "../../src/transports/mulaw.ts";

interface Parsed {
  kind: number;
  payload: number[];
}

function parseAll(chunks: Uint8Array[]): Parsed[] {
  const out: Parsed[] = [];
  const parser = new AudioSocketParser((kind, payload) => out.push({ kind, payload: [...payload] }));
  for (const chunk of chunks) parser.push(chunk);
  expect(parser.buffered).toBe(0);
  return out;
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function parseError(...chunks: Uint8Array[]): string {
  const parser = new AudioSocketParser(() => {});
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (error) {
    expect(error).toBeInstanceOf(AudioSocketProtocolError);
    return (error as Error).message;
  }
  throw new Error("the parser accepted the input");
}

const RATES = [8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000];
const UUID = "0000000a-0000-4000-8000-000000000a01";

describe("kinds and rates", () => {
  test("every audio kind maps to its rate and back", () => {
    RATES.forEach((rate, i) => {
      expect(rateForKind(Kind.Slin8 + i)).toBe(rate);
      expect(kindForRate(rate)).toBe(Kind.Slin8 + i);
      expect(isAudioKind(Kind.Slin8 + i)).toBe(true);
    });
    expect(Kind.Slin16).toBe(0x12);
    expect(Kind.Slin48).toBe(0x16);
    for (const kind of [Kind.Hangup, Kind.Uuid, 0x02, Kind.Dtmf, 0x0f, 0x19, Kind.Error]) {
      expect(rateForKind(kind)).toBeUndefined();
      expect(isAudioKind(kind)).toBe(false);
    }
    expect(kindForRate(22050)).toBeUndefined();
  });
});

describe("round trips", () => {
  test("hang-up, UUID, DTMF and error messages", () => {
    const uuid = uuidFromString(UUID);
    const messages = [
      HANGUP_MESSAGE,
      encodeMessage(Kind.Uuid, uuid),
      ...[..."0123456789*#ABCD"].map((d) => encodeMessage(Kind.Dtmf, bytes(d.charCodeAt(0)))),
      encodeMessage(Kind.Error, bytes()),
      encodeMessage(Kind.Error, bytes(0x01)),
    ];
    const parsed = parseAll(messages);
    expect(parsed.map((m) => m.kind)).toEqual([0x00, 0x01, ...Array<number>(16).fill(0x03), 0xff, 0xff]);
    expect(uuidToString(new Uint8Array(parsed[1]!.payload))).toBe(UUID);
    expect(parsed.slice(2, 18).map((m) => String.fromCharCode(m.payload[0]!)).join("")).toBe("0123456789*#ABCD");
    expect(parsed[19]!.payload).toEqual([0x01]);
  });

  test("every audio kind, 20 ms of samples, written with writeAudioMessage", () => {
    const out = new Uint8Array(3 + 2 * 3840);
    for (const rate of RATES) {
      const samples = Int16Array.from({ length: (rate * 20) / 1000 }, (_, i) => ((i * 7919) % 65536) - 32768);
      const kind = kindForRate(rate)!;
      const length = writeAudioMessage(out, kind, samples);
      expect(length).toBe(3 + samples.length * 2);
      const [message] = parseAll([out.slice(0, length)]);
      expect(message!.kind).toBe(kind);
      const payload = new Uint8Array(message!.payload);
      const decoded = Int16Array.from({ length: samples.length }, (_, i) => payload[2 * i]! | (payload[2 * i + 1]! << 8));
      expect(decoded).toEqual(samples);
    }
  });

  test("writeAudioMessage writes a big-endian length and little-endian samples", () => {
    const out = new Uint8Array(16).fill(0xee);
    const length = writeAudioMessage(out, Kind.Slin16, Int16Array.of(1, -2, 0x1234, -32768));
    expect(length).toBe(11);
    expect([...out.subarray(0, 12)]).toEqual([0x12, 0x00, 0x08, 0x01, 0x00, 0xfe, 0xff, 0x34, 0x12, 0x00, 0x80, 0xee]);
  });

  test("writeAudioMessage refuses what must never reach Asterisk", () => {
    const out = new Uint8Array(1024);
    expect(() => writeAudioMessage(out, Kind.Dtmf, Int16Array.of(1))).toThrow("kind 0x03 is not an audio kind (0x10-0x18)");
    expect(() => writeAudioMessage(out, Kind.Slin8, new Int16Array(0))).toThrow("audio message of 0 samples");
    expect(() => writeAudioMessage(new Uint8Array(8), Kind.Slin8, new Int16Array(4))).toThrow("cannot hold a 11-byte message");
  });

  test("encodeMessage builds any header, even a bad one for tests", () => {
    expect([...encodeMessage(0x42, bytes(1, 2, 3))]).toEqual([0x42, 0x00, 0x03, 1, 2, 3]);
    expect(encodeMessage(Kind.Slin8, new Uint8Array(0x1234)).subarray(0, 3)).toEqual(bytes(0x10, 0x12, 0x34));
    expect(() => encodeMessage(Kind.Slin8, new Uint8Array(65536))).toThrow("does not fit the 16-bit length field");
    expect(() => encodeMessage(256, bytes())).toThrow("message kind 256 is not a byte");
    expect([...HANGUP_MESSAGE]).toEqual([0, 0, 0]);
  });
});

describe("UUID text form", () => {
  test("16 bytes to 8-4-4-4-12 lower case and back", () => {
    const raw = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    expect(uuidToString(raw)).toBe("00112233-4455-6677-8899-aabbccddeeff");
    expect(uuidFromString("00112233-4455-6677-8899-AABBCCDDEEFF")).toEqual(raw);
    expect(uuidToString(uuidFromString(UUID))).toBe(UUID);
  });

  test("bad values are named", () => {
    expect(() => uuidFromString("1700000000.42")).toThrow("'1700000000.42' is not a UUID");
    expect(() => uuidFromString("0000000a-0000-4000-8000-000000000a0")).toThrow("is not a UUID");
    expect(() => uuidToString(new Uint8Array(15))).toThrow("a UUID is 16 bytes, got 15");
  });
});

describe("parser", () => {
  const stream = new Uint8Array([
    ...encodeMessage(Kind.Uuid, uuidFromString(UUID)),
    ...encodeMessage(Kind.Slin8, new Uint8Array(320).fill(7)),
    ...encodeMessage(Kind.Dtmf, bytes(0x23)),
    ...encodeMessage(Kind.Slin16, new Uint8Array(640).fill(9)),
    ...HANGUP_MESSAGE,
  ]);

  test("reassembles one byte at a time, and any split point", () => {
    const whole = parseAll([stream]);
    expect(whole.map((m) => [m.kind, m.payload.length])).toEqual([[0x01, 16], [0x10, 320], [0x03, 1], [0x12, 640], [0x00, 0]]);
    expect(parseAll([...stream].map((b) => bytes(b)))).toEqual(whole);
    for (let split = 0; split <= stream.length; split += 7) {
      expect(parseAll([stream.subarray(0, split), stream.subarray(split)])).toEqual(whole);
    }
  });

  test("buffered counts the bytes of an incomplete message", () => {
    const parser = new AudioSocketParser(() => {});
    parser.push(stream.subarray(0, 25));
    expect(parser.buffered).toBe(6);
    parser.push(stream.subarray(25, 27));
    expect(parser.buffered).toBe(8);
  });

  test("rejects each fault with a message that names it", () => {
    expect(parseError(bytes(0x42))).toBe("unknown message kind 0x42 (allowed: 0x00, 0x01, 0x03, 0x10-0x18, 0xff)");
    expect(parseError(bytes(0x02, 0, 0))).toStartWith("unknown message kind 0x02");
    expect(parseError(bytes(0x19, 0, 2, 0, 0))).toStartWith("unknown message kind 0x19");
    expect(parseError(bytes(0x01, 0, 15))).toBe("UUID payload is 15 bytes, expected 16");
    expect(parseError(bytes(0x12, 0x01, 0x41))).toBe("odd audio payload length 321 for kind 0x12 (signed linear is 2 bytes a sample; only 0x10 may carry μ-law)");
    expect(parseError(bytes(0x10, 0, 0))).toBe("empty audio payload for kind 0x10 (at least one sample needed)");
    expect(parseError(bytes(0x10, 0x0c, 0x82))).toBe("audio payload of 3202 bytes is longer than 200 ms at 8000 Hz (at most 3200 bytes)");
    expect(parseError(bytes(0x15, 0x44, 0xea))).toBe("audio payload of 17642 bytes is longer than 200 ms at 44100 Hz (at most 17640 bytes)");
    expect(parseError(bytes(0x03, 0, 2))).toBe("DTMF payload is 2 bytes, expected 1 (one digit 0-9 * # A-D)");
    expect(parseError(bytes(0x03, 0, 1, 0x78))).toBe("DTMF payload 0x78 is not one digit (0-9 * # A-D)");
    expect(parseError(bytes(0x03, 0, 1), bytes(0x61))).toBe("DTMF payload 0x61 is not one digit (0-9 * # A-D)");
    expect(parseError(bytes(0x00, 0, 1))).toBe("hang-up message (0x00) has a 1-byte payload, expected 0");
    expect(parseError(bytes(0xff, 0, 2))).toBe("error message (0xff) has a 2-byte payload, expected 0 or 1");
  });

  test("0x10 may have an odd length: μ-law labelled as slin is one byte a sample (a caller's last frame of 149)", () => {
    const messages = parseAll([encodeMessage(Kind.Uuid, new Uint8Array(16)), encodeMessage(Kind.Slin8, new Uint8Array(149)), encodeMessage(Kind.Slin8, new Uint8Array(1))]);
    expect(messages.map((m) => [m.kind, m.payload.length])).toEqual([[Kind.Uuid, 16], [Kind.Slin8, 149], [Kind.Slin8, 1]]);
  });

  test("the longest legal audio payload is accepted at every rate", () => {
    for (const rate of RATES) {
      const max = Math.min(65535 - 1, (rate / 5) * 2);
      expect(parseAll([encodeMessage(kindForRate(rate)!, new Uint8Array(max))])[0]!.payload.length).toBe(max);
    }
  });

  test("a bad header is rejected before its payload arrives", () => {
    const parser = new AudioSocketParser(() => {});
    parser.push(encodeMessage(Kind.Uuid, new Uint8Array(16)));
    expect(() => parser.push(bytes(0x10, 0xff))).not.toThrow();
    expect(() => parser.push(bytes(0xfe))).toThrow("audio payload of 65534 bytes is longer than 200 ms at 8000 Hz");
    expect(parseError(bytes(0x16), bytes(0x01), bytes(0x41))).toStartWith("odd audio payload length 321 for kind 0x16");
  });

  test("after a fault the parser stays dead", () => {
    const parser = new AudioSocketParser(() => {});
    expect(() => parser.push(bytes(0x42, 0, 0))).toThrow(AudioSocketProtocolError);
    expect(() => parser.push(HANGUP_MESSAGE)).toThrow("stream already rejected: unknown message kind 0x42");
  });

  test("an error thrown by the message handler also stops the parser", () => {
    const parser = new AudioSocketParser(() => {
      throw new AudioSocketProtocolError("second UUID message");
    });
    expect(() => parser.push(HANGUP_MESSAGE)).toThrow("second UUID message");
    expect(() => parser.push(HANGUP_MESSAGE)).toThrow("stream already rejected: second UUID message");
  });
});

describe("μ-law", () => {
  test("G.711 reference values", () => {
    expect(MULAW_TO_LINEAR[0xff]).toBe(0);
    expect(MULAW_TO_LINEAR[0x7f]).toBe(0);
    expect(MULAW_TO_LINEAR[0x00]).toBe(-32124);
    expect(MULAW_TO_LINEAR[0x80]).toBe(32124);
    expect(MULAW_TO_LINEAR[0xfe]).toBe(8);
    expect(MULAW_TO_LINEAR[0x7e]).toBe(-8);
    const out = new Int16Array(4);
    decodeMulaw(bytes(0xff, 0x00, 0x80), out);
    expect([...out]).toEqual([0, -32124, 32124, 0]);
    expect(() => decodeMulaw(new Uint8Array(5), new Int16Array(4))).toThrow("μ-law output holds 4 samples, 5 needed");
  });
});
