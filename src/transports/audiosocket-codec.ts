/**
 * Asterisk AudioSocket framing (PROTOCOLS.md §1.1–1.2): a 1-byte kind, a 16-bit big-endian payload
 * length, then the payload. Both the server (PBX → us) and the simulator (us → PBX) parse with the
 * same strict rules, so a malformed stream is caught at the first bad header byte.
 */

export const Kind = {
  Hangup: 0x00,
  Uuid: 0x01,
  Dtmf: 0x03,
  Slin8: 0x10,
  Slin12: 0x11,
  Slin16: 0x12,
  Slin24: 0x13,
  Slin32: 0x14,
  Slin44: 0x15,
  Slin48: 0x16,
  Slin96: 0x17,
  Slin192: 0x18,
  Error: 0xff,
} as const;

const HEADER_BYTES = 3;
const MAX_PAYLOAD = 0xffff;
/** Longest audio payload accepted: Asterisk sends 20 ms frames; 200 ms leaves room for odd ptimes. */
const MAX_AUDIO_MS = 200;
const AUDIO_RATES = [8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000] as const;
const DTMF_DIGITS = "0123456789*#ABCD";

export function rateForKind(kind: number): number | undefined {
  return AUDIO_RATES[kind - Kind.Slin8];
}

export function kindForRate(rate: number): number | undefined {
  const index = AUDIO_RATES.indexOf(rate as (typeof AUDIO_RATES)[number]);
  return index < 0 ? undefined : Kind.Slin8 + index;
}

export function isAudioKind(kind: number): boolean {
  return kind >= Kind.Slin8 && kind <= Kind.Slin192;
}

export class AudioSocketProtocolError extends Error {
  override name = "AudioSocketProtocolError";
}

export function hexByte(value: number): string {
  return "0x" + value.toString(16).padStart(2, "0");
}

function isKnownKind(kind: number): boolean {
  return kind === Kind.Hangup || kind === Kind.Uuid || kind === Kind.Dtmf || kind === Kind.Error || isAudioKind(kind);
}

function checkKind(kind: number): void {
  if (!isKnownKind(kind)) {
    throw new AudioSocketProtocolError(`unknown message kind ${hexByte(kind)} (allowed: 0x00, 0x01, 0x03, 0x10-0x18, 0xff)`);
  }
}

/** Maximum payload bytes of one audio message of `kind` (200 ms of s16 samples, capped by the length field). */
function maxAudioBytes(rate: number): number {
  return Math.min(MAX_PAYLOAD, Math.floor((rate * MAX_AUDIO_MS) / 1000) * 2);
}

function checkLength(kind: number, length: number): void {
  switch (kind) {
    case Kind.Hangup:
      if (length !== 0) throw new AudioSocketProtocolError(`hang-up message (0x00) has a ${length}-byte payload, expected 0`);
      return;
    case Kind.Uuid:
      if (length !== 16) throw new AudioSocketProtocolError(`UUID payload is ${length} bytes, expected 16`);
      return;
    case Kind.Dtmf:
      if (length !== 1) throw new AudioSocketProtocolError(`DTMF payload is ${length} bytes, expected 1 (one digit 0-9 * # A-D)`);
      return;
    case Kind.Error:
      if (length > 1) throw new AudioSocketProtocolError(`error message (0xff) has a ${length}-byte payload, expected 0 or 1`);
      return;
  }
  const rate = rateForKind(kind)!;
  if (length === 0) throw new AudioSocketProtocolError(`empty audio payload for kind ${hexByte(kind)} (at least one sample needed)`);
  // 0x10 also carries μ-law, one byte a sample (Dial(AudioSocket/…/c(ulaw))): the connection sorts it out.
  if (length % 2 !== 0 && kind !== Kind.Slin8) {
    throw new AudioSocketProtocolError(`odd audio payload length ${length} for kind ${hexByte(kind)} (signed linear is 2 bytes a sample; only 0x10 may carry μ-law)`);
  }
  const max = maxAudioBytes(rate);
  if (length > max) {
    throw new AudioSocketProtocolError(
      `audio payload of ${length} bytes is longer than ${MAX_AUDIO_MS} ms at ${rate} Hz (at most ${max} bytes)`,
    );
  }
}

function checkPayload(kind: number, payload: Uint8Array): void {
  if (kind !== Kind.Dtmf) return;
  const byte = payload[0]!;
  if (DTMF_DIGITS.indexOf(String.fromCharCode(byte)) < 0) {
    throw new AudioSocketProtocolError(`DTMF payload ${hexByte(byte)} is not one digit (0-9 * # A-D)`);
  }
}

/**
 * An audio message's payload as `bytes[start, end)`: the per-frame path gets no view object to
 * allocate (50 a second per call). `bytes` is only valid during the call.
 */
export type AudioBytesSink = (kind: number, bytes: Uint8Array, start: number, end: number) => void;

/**
 * Incremental parser for one direction of one connection. Whole messages inside a chunk are
 * handed out as views of that chunk (no copy); only a message split across chunks is copied
 * into the parser's own buffer. Audio goes to `onAudio` when given, as offsets into the chunk.
 */
export class AudioSocketParser {
  private readonly onMessage: (kind: number, payload: Uint8Array) => void;
  private readonly onAudio: AudioBytesSink;
  /** Bytes of a message split across chunks; sized for the largest possible message. */
  private held = new Uint8Array(1024);
  private heldBytes = 0;
  /** Total size (header + payload) of the held message, 0 while its header is incomplete. */
  private heldTotal = 0;
  private failure: string | null = null;

  constructor(onMessage: (kind: number, payload: Uint8Array) => void, onAudio?: AudioBytesSink) {
    this.onMessage = onMessage;
    this.onAudio = onAudio ?? ((kind, bytes, start, end) => onMessage(kind, bytes.subarray(start, end)));
  }

  get buffered(): number {
    return this.heldBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.failure !== null) {
      throw new AudioSocketProtocolError(`stream already rejected: ${this.failure}`);
    }
    try {
      let pos = this.heldBytes > 0 ? this.completeHeld(chunk) : 0;
      pos = this.parseWhole(chunk, pos);
      if (pos < chunk.length) this.hold(chunk, pos);
    } catch (error) {
      this.failure = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  /** Parses every complete message in `chunk` from `pos`; returns where the incomplete tail starts. */
  private parseWhole(chunk: Uint8Array, start: number): number {
    let pos = start;
    while (pos < chunk.length) {
      const kind = chunk[pos]!;
      checkKind(kind);
      if (chunk.length - pos < HEADER_BYTES) return pos;
      const length = (chunk[pos + 1]! << 8) | chunk[pos + 2]!;
      checkLength(kind, length);
      const end = pos + HEADER_BYTES + length;
      if (end > chunk.length) return pos;
      const start = pos + HEADER_BYTES;
      pos = end;
      if (isAudioKind(kind)) {
        this.onAudio(kind, chunk, start, end);
        continue;
      }
      const payload = chunk.subarray(start, end);
      checkPayload(kind, payload);
      this.onMessage(kind, payload);
    }
    return pos;
  }

  /** Adds `chunk[pos..]` (an incomplete message) to the held bytes, validating what can be. */
  private hold(chunk: Uint8Array, pos: number): void {
    this.heldBytes = 0;
    this.heldTotal = 0;
    this.append(chunk, pos, chunk.length);
  }

  /** Feeds the start of `chunk` into the held message; returns the first unused offset. */
  private completeHeld(chunk: Uint8Array): number {
    let pos = 0;
    if (this.heldTotal === 0) {
      const missing = HEADER_BYTES - this.heldBytes;
      pos = Math.min(missing, chunk.length);
      this.append(chunk, 0, pos);
      if (this.heldTotal === 0) return pos;
    }
    const take = Math.min(this.heldTotal - this.heldBytes, chunk.length - pos);
    this.append(chunk, pos, pos + take);
    pos += take;
    if (this.heldBytes === this.heldTotal) {
      const kind = this.held[0]!;
      const total = this.heldTotal;
      this.heldBytes = 0;
      this.heldTotal = 0;
      if (isAudioKind(kind)) {
        this.onAudio(kind, this.held, HEADER_BYTES, total);
        return pos;
      }
      const payload = this.held.subarray(HEADER_BYTES, total);
      checkPayload(kind, payload);
      this.onMessage(kind, payload);
    }
    return pos;
  }

  private append(chunk: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    const needed = this.heldBytes + (to - from);
    if (needed > this.held.length) {
      const grown = new Uint8Array(Math.max(needed, Math.min(this.held.length * 2, HEADER_BYTES + MAX_PAYLOAD)));
      grown.set(this.held.subarray(0, this.heldBytes));
      this.held = grown;
    }
    const hadHeader = this.heldBytes >= HEADER_BYTES;
    this.held.set(chunk.subarray(from, to), this.heldBytes);
    if (this.heldBytes === 0) checkKind(this.held[0]!);
    this.heldBytes = needed;
    if (!hadHeader && this.heldBytes >= HEADER_BYTES) {
      const length = (this.held[1]! << 8) | this.held[2]!;
      checkLength(this.held[0]!, length);
      this.heldTotal = HEADER_BYTES + length;
    }
  }
}

export function encodeMessage(kind: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(kind) || kind < 0 || kind > 0xff) throw new RangeError(`message kind ${kind} is not a byte (0-255)`);
  if (payload.length > MAX_PAYLOAD) {
    throw new RangeError(`payload of ${payload.length} bytes does not fit the 16-bit length field (at most ${MAX_PAYLOAD})`);
  }
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out[0] = kind;
  out[1] = payload.length >> 8;
  out[2] = payload.length & 0xff;
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Writes one audio message (header + little-endian s16 payload) at the start of `out` and returns
 * its byte length. Allocates nothing, so the per-frame send path can reuse one buffer.
 */
export function writeAudioMessage(out: Uint8Array, kind: number, samples: Int16Array): number {
  const length = writeAudioHeader(out, 0, kind, samples.length);
  let o = HEADER_BYTES;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    out[o++] = s & 0xff;
    out[o++] = (s >> 8) & 0xff;
  }
  return HEADER_BYTES + length;
}

/**
 * Writes the 3-byte header of an audio message of `samples` samples at `out[at]`, after checking
 * what must never reach Asterisk; returns the payload's byte length. Allocates nothing.
 */
export function writeAudioHeader(out: Uint8Array, at: number, kind: number, samples: number): number {
  if (!isAudioKind(kind)) throw new RangeError(`kind ${hexByte(kind)} is not an audio kind (0x10-0x18)`);
  const length = samples * 2;
  if (length === 0 || length > MAX_PAYLOAD) {
    throw new RangeError(`audio message of ${samples} samples: 1 to ${MAX_PAYLOAD >> 1} allowed`);
  }
  if (out.length < at + HEADER_BYTES + length) {
    throw new RangeError(`output buffer of ${out.length - at} bytes cannot hold a ${HEADER_BYTES + length}-byte message`);
  }
  out[at] = kind;
  out[at + 1] = length >> 8;
  out[at + 2] = length & 0xff;
  return length;
}

export const HANGUP_MESSAGE: Uint8Array = new Uint8Array([Kind.Hangup, 0, 0]);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function uuidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`a UUID is 16 bytes, got ${bytes.length}`);
  let s = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEX[bytes[i]!]!;
  }
  return s;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuidFromString(uuid: string): Uint8Array {
  if (!UUID_PATTERN.test(uuid)) {
    throw new Error(`'${uuid}' is not a UUID (expected 8-4-4-4-12 hex digits, e.g. 0000000a-0000-4000-8000-000000000a01)`);
  }
  const hex = uuid.replaceAll("-", "");
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
