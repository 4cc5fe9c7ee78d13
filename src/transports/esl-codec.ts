/**
 * FreeSWITCH Event Socket framing (PROTOCOLS.md §3.3, mod_event_socket.c): a message is a block of
 * `Key: Value` lines ended by a blank line, then `Content-Length` bytes of body when that header is
 * present. A `text/event-plain` body is itself such a block, with URL-encoded values, optionally
 * followed by its own Content-Length body (BACKGROUND_JOB results, CUSTOM event bodies).
 */

/** Longest header block, and longest body, one message may have before the peer is dropped. */
export const ESL_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export class EslProtocolError extends Error {
  override name = "EslProtocolError";
}

export interface EslEvent {
  name: string;
  subclass: string | null;
  uuid: string | null;
  headers: ReadonlyMap<string, string>;
  body: string;
}

/** One message from FreeSWITCH: `auth/request`, `command/reply`, `api/response`, `text/event-plain`… */
export interface EslMessage {
  /** Outer headers as sent (`Content-Type`, `Reply-Text`, `Job-UUID`…), values not decoded. */
  readonly headers: ReadonlyMap<string, string>;
  /** The Content-Type header, or "" when there is none. */
  readonly contentType: string;
  readonly body: string;
  /** The parsed event when contentType is `text/event-plain`, else null. */
  readonly event: EslEvent | null;
}

const LF = 10;
const CR = 13;
const utf8 = new TextDecoder("utf-8");

function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text);
}

/** Index just past the blank line that ends a header block in bytes[from, to), or -1. */
function findBlankLine(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== LF) continue;
    if (i + 1 < to && bytes[i + 1] === LF) return i + 2;
    if (i + 2 < to && bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
  }
  return -1;
}

interface HeaderBlock {
  headers: Map<string, string>;
  contentLength: number;
  contentType: string;
}

function parseContentLength(value: string, maxBytes: number): number {
  if (!/^\d{1,10}$/.test(value)) throw new EslProtocolError(`ESL Content-Length ${preview(value)} is not a byte count`);
  const length = Number(value);
  if (length > maxBytes) {
    throw new EslProtocolError(`ESL Content-Length ${length} is larger than the ${maxBytes}-byte limit per message`);
  }
  return length;
}

function decodeValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function parseHeaderBlock(text: string, urlEncoded: boolean, maxBytes: number): HeaderBlock {
  const headers = new Map<string, string>();
  let contentLength = 0;
  let contentType = "";
  for (const rawLine of text.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new EslProtocolError(`ESL header line ${preview(line)} has no "Name: value" form`);
    const name = line.slice(0, colon);
    let value = line.slice(colon + 1).trimStart();
    if (urlEncoded) value = decodeValue(value);
    headers.set(name, value);
    const lower = name.toLowerCase();
    if (lower === "content-length") contentLength = parseContentLength(value, maxBytes);
    else if (lower === "content-type") contentType = value;
  }
  return { headers, contentLength, contentType };
}

/** Parses a `text/event-plain` body: URL-encoded headers, a blank line, then the event's own body. */
function parseEventPlain(bytes: Uint8Array, maxBytes: number): EslEvent {
  const headerEnd = findBlankLine(bytes, 0, bytes.length);
  const blockEnd = headerEnd < 0 ? bytes.length : headerEnd;
  const { headers, contentLength } = parseHeaderBlock(utf8.decode(bytes.subarray(0, blockEnd)), true, maxBytes);
  const name = headers.get("Event-Name");
  if (name === undefined || name === "") throw new EslProtocolError("ESL text/event-plain message has no Event-Name header");
  // The outer Content-Length already delimits the event, so an inner one that disagrees cannot put
  // the stream out of step: take the body as far as the event goes.
  const body = contentLength > 0 ? utf8.decode(bytes.subarray(blockEnd, blockEnd + contentLength)) : "";
  return { name, subclass: headers.get("Event-Subclass") ?? null, uuid: headers.get("Unique-ID") ?? null, headers, body };
}

/**
 * Incremental reader of the byte stream FreeSWITCH sends: feed it chunks as they arrive, it calls
 * `onMessage` once per complete message. Bodies are counted in bytes (they hold UTF-8). After a
 * protocol error it stays failed: the connection is out of step and must be dropped.
 */
export class EslDecoder {
  private buffer = new Uint8Array(8192);
  private start = 0;
  private end = 0;
  private scanFrom = 0;
  private header: HeaderBlock | null = null;
  private failure: EslProtocolError | null = null;

  constructor(
    private readonly onMessage: (message: EslMessage) => void,
    private readonly maxBytes: number = ESL_MAX_MESSAGE_BYTES,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.append(chunk);
    try {
      this.drain();
    } catch (error) {
      if (error instanceof EslProtocolError) this.failure = error;
      throw error;
    }
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buffer.length) {
      const held = this.end - this.start;
      if (held + chunk.length > this.buffer.length) {
        const grown = new Uint8Array(Math.max(held + chunk.length, this.buffer.length * 2));
        grown.set(this.buffer.subarray(this.start, this.end));
        this.buffer = grown;
      } else {
        this.buffer.copyWithin(0, this.start, this.end);
      }
      this.scanFrom -= this.start;
      this.start = 0;
      this.end = held;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  private drain(): void {
    for (;;) {
      if (this.header === null && !this.readHeader()) return;
      const header = this.header!;
      if (this.end - this.start < header.contentLength) return;
      const bodyBytes = this.buffer.subarray(this.start, this.start + header.contentLength);
      this.start += header.contentLength;
      this.scanFrom = this.start;
      this.header = null;
      const isEvent = header.contentType === "text/event-plain";
      const event = isEvent ? parseEventPlain(bodyBytes, this.maxBytes) : null;
      this.onMessage({ headers: header.headers, contentType: header.contentType, body: utf8.decode(bodyBytes), event });
    }
  }

  /** Reads the next header block into this.header; false when it is not complete yet. */
  private readHeader(): boolean {
    // FreeSWITCH skips stray line ends between messages; so do we.
    while (this.start < this.end && (this.buffer[this.start] === LF || this.buffer[this.start] === CR)) this.start++;
    if (this.start === this.end) {
      this.start = this.end = this.scanFrom = 0;
      return false;
    }
    const headerEnd = findBlankLine(this.buffer, Math.max(this.start, this.scanFrom), this.end);
    if (headerEnd < 0) {
      if (this.end - this.start > this.maxBytes) {
        throw new EslProtocolError(`ESL header block longer than ${this.maxBytes} bytes without a blank line`);
      }
      this.scanFrom = Math.max(this.start, this.end - 2);
      return false;
    }
    this.header = parseHeaderBlock(utf8.decode(this.buffer.subarray(this.start, headerEnd)), false, this.maxBytes);
    this.start = headerEnd;
    this.scanFrom = headerEnd;
    return true;
  }
}

/** One ESL command: a single line, then the blank line that ends it. */
export function encodeCommand(line: string): string {
  if (line.trim() === "" || /[\r\n]/.test(line)) {
    throw new EslProtocolError(`ESL command ${preview(line)} is not allowed: a command is one non-empty line without CR or LF`);
  }
  return line + "\n\n";
}
