/**
 * The AudioSocket byte streams the fuzz tests send (tests/protocol/audiosocket-fuzz.test.ts), shared
 * with the test that sends them to the compiled binary (tests/e2e/junk-connections.test.ts).
 */
import fc from "fast-check";
import { HANGUP_MESSAGE, Kind, encodeMessage } from "../../src/transports/audiosocket-codec.ts";

/** The keys a DTMF message (0x03) may carry. */
export const DIGITS = "0123456789*#ABCD";

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

export const validStream = fc
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

export const mutatedStream = fc.tuple(validStream, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([s, ms]) => mutate(s, ms));
export const anyInput = fc.oneof(fc.uint8Array({ maxLength: 1500 }), mutatedStream, validStream);
export const chunkSizes = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 });

export function chunk(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}
