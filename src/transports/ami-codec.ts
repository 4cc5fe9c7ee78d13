/**
 * Asterisk Manager Interface framing (PROTOCOLS.md §3.1, main/manager.c): `Key: Value` lines ending
 * in CRLF (a bare LF is accepted too), a message ends at an empty line, and a connection opens with
 * the one-line banner `Asterisk Call Manager/<version>` that no empty line follows. Used by the AMI
 * client (reading Asterisk) and by the fake manager in tests/fakes (reading actions).
 */

/** Longest line, and longest message, the parser holds before it gives up on the peer. */
export const AMI_MAX_BUFFER = 64 * 1024;

const BANNER = /^Asterisk Call Manager\/(\S+)$/;

export class AmiProtocolError extends Error {
  override name = "AmiProtocolError";
}

/** One AMI message: its fields in wire order; keys compare case-insensitively, as Asterisk's do. */
export class AmiMessage {
  private readonly keys: string[] = [];
  private readonly lowerKeys: string[] = [];
  private readonly values: string[] = [];

  add(key: string, value: string): void {
    this.keys.push(key);
    this.lowerKeys.push(key.toLowerCase());
    this.values.push(value);
  }

  get size(): number {
    return this.keys.length;
  }

  /** The first value under `key`, or undefined. */
  get(key: string): string | undefined {
    const index = this.lowerKeys.indexOf(key.toLowerCase());
    return index < 0 ? undefined : this.values[index];
  }

  has(key: string): boolean {
    return this.lowerKeys.includes(key.toLowerCase());
  }

  /** Every value under `key`, in wire order (Status repeats `Variable:` once per variable asked). */
  getAll(key: string): string[] {
    const lower = key.toLowerCase();
    const found: string[] = [];
    for (let i = 0; i < this.lowerKeys.length; i++) if (this.lowerKeys[i] === lower) found.push(this.values[i]!);
    return found;
  }

  /** The fields in wire order, keys as the peer spelled them. */
  entries(): [string, string][] {
    return this.keys.map((key, i) => [key, this.values[i]!]);
  }

  /** A plain record (the first value of a repeated key wins). */
  toRecord(): Record<string, string> {
    const record: Record<string, string> = {};
    for (let i = 0; i < this.keys.length; i++) if (!(this.keys[i]! in record)) record[this.keys[i]!] = this.values[i]!;
    return record;
  }
}

export interface AmiParserHandlers {
  /** The banner's version (`Asterisk Call Manager/9.0.0` → "9.0.0"); only when `expectBanner`. */
  onBanner?(version: string): void;
  onMessage(message: AmiMessage): void;
}

/**
 * Incremental parser for one direction of one connection: feed it chunks as they come, split
 * anywhere (even inside a UTF-8 character); complete messages come out through the handlers.
 * After an error every later push throws the same error: the connection is beyond repair.
 */
export class AmiParser {
  private readonly handlers: AmiParserHandlers;
  private readonly decoder = new TextDecoder("utf-8");
  private awaitingBanner: boolean;
  private buffer = "";
  private message = new AmiMessage();
  private messageChars = 0;
  private failure: AmiProtocolError | null = null;

  constructor(handlers: AmiParserHandlers, options: { expectBanner: boolean }) {
    this.handlers = handlers;
    this.awaitingBanner = options.expectBanner;
  }

  /** Characters held while waiting for the end of a line. */
  get buffered(): number {
    return this.buffer.length;
  }

  push(chunk: Uint8Array | string): void {
    if (this.failure) throw this.failure;
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    let start = 0;
    try {
      for (let end = this.buffer.indexOf("\n"); end >= 0; end = this.buffer.indexOf("\n", start)) {
        const stop = end > start && this.buffer.charCodeAt(end - 1) === 13 ? end - 1 : end;
        const line = this.buffer.slice(start, stop);
        start = end + 1;
        if (line.length > AMI_MAX_BUFFER) throw this.fail(`a line of ${line.length} characters (at most ${AMI_MAX_BUFFER})`);
        this.onLine(line);
      }
    } finally {
      this.buffer = this.buffer.slice(start);
    }
    if (this.buffer.length > AMI_MAX_BUFFER) {
      throw this.fail(`${this.buffer.length} characters without a line end (at most ${AMI_MAX_BUFFER} per line)`);
    }
  }

  private fail(what: string): AmiProtocolError {
    this.failure = new AmiProtocolError(`AMI peer sent ${what}`);
    this.buffer = "";
    return this.failure;
  }

  private onLine(line: string): void {
    if (this.awaitingBanner) {
      const match = BANNER.exec(line);
      if (!match) {
        throw this.fail(`${JSON.stringify(line.slice(0, 80))} as its first line, expected the banner "Asterisk Call Manager/<version>"`);
      }
      this.awaitingBanner = false;
      this.handlers.onBanner?.(match[1]!);
      return;
    }
    if (line.length === 0) {
      // Blank lines between messages carry nothing; only a blank line after fields ends a message.
      if (this.message.size === 0) return;
      const done = this.message;
      this.message = new AmiMessage();
      this.messageChars = 0;
      this.handlers.onMessage(done);
      return;
    }
    this.messageChars += line.length;
    if (this.messageChars > AMI_MAX_BUFFER) throw this.fail(`a message longer than ${AMI_MAX_BUFFER} characters without its ending empty line`);
    const colon = line.indexOf(":");
    // A stray line without a colon (old `Command` output) is kept as a key with an empty value
    // rather than costing the whole connection.
    if (colon < 0) this.message.add(line.trim(), "");
    else this.message.add(line.slice(0, colon).trim(), line.slice(colon + 1).trimStart());
  }
}

export type AmiFields = Readonly<Record<string, string>> | readonly (readonly [string, string])[];

const KEY = /^[A-Za-z0-9_-]+$/;

function fieldList(fields: AmiFields): readonly (readonly [string, string])[] {
  return Array.isArray(fields) ? fields : Object.entries(fields);
}

/**
 * One message on the wire: `Key: Value` lines and the empty line. Keys are AMI header names;
 * values must stay on one line, or a crafted value (a transfer target, a variable) could inject
 * a second action.
 */
export function serializeMessage(fields: AmiFields): string {
  let text = "";
  for (const [key, value] of fieldList(fields)) {
    if (!KEY.test(key)) throw new AmiProtocolError(`AMI field name ${JSON.stringify(key)} is invalid (allowed: letters, digits, _ and -)`);
    if (/[\r\n]/.test(value)) {
      throw new AmiProtocolError(`AMI field ${key} value ${JSON.stringify(value)} contains CR or LF (values must stay on one line)`);
    }
    text += `${key}: ${value}\r\n`;
  }
  if (text.length === 0) throw new AmiProtocolError("an AMI message needs at least one field");
  return text + "\r\n";
}

/** `Action: <action>` first, then the fields (ActionID among them, chosen by the caller). */
export function serializeAction(action: string, fields: AmiFields): string {
  if (!KEY.test(action)) throw new AmiProtocolError(`AMI action name ${JSON.stringify(action)} is invalid (allowed: letters, digits, _ and -)`);
  return serializeMessage([["Action", action], ...fieldList(fields)]);
}
