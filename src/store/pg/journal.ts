import { closeSync, existsSync, openSync, readSync, statSync, unlinkSync, writeSync } from "node:fs";
import { parseOp, type WriteOp } from "../write-ops.ts";

const READ_CHUNK = 256 * 1024;

/**
 * The writes PostgreSQL has not taken yet, one JSON line each, in the data dir: they survive a
 * restart of voicebot and are sent, in order, once PostgreSQL answers again. Lines are appended
 * at the end and read from a position that moves only when their batch is committed.
 */
export class Journal {
  private readonly fd: number;
  private readonly pending: string[] = [];
  /** One read buffer for the journal's life: a replay reads many batches. */
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK);
  /** Bytes and lines already committed to PostgreSQL. */
  private readPos = 0;
  /** Lines read but not yet committed: their byte length, to move readPos on commit. */
  private inFlightBytes = 0;
  private inFlightLines = 0;
  private committedLines = 0;
  private lines: number;
  private bytes: number;

  private constructor(readonly path: string) {
    const existing = existsSync(path) ? statSync(path).size : 0;
    this.fd = openSync(path, "a+");
    this.bytes = existing;
    this.lines = existing === 0 ? 0 : countLines(this.fd, existing);
  }

  /** Opens (or creates) the journal; an existing one keeps its writes, to be sent first. */
  static open(path: string): Journal {
    return new Journal(path);
  }

  static exists(path: string): boolean {
    return existsSync(path) && statSync(path).size > 0;
  }

  /** Writes not yet committed to PostgreSQL, read or not. */
  get size(): number {
    return this.lines - this.committedLines + this.pending.length;
  }

  add(op: WriteOp): void {
    this.pending.push(JSON.stringify(op));
  }

  /** Puts what add() buffered on disk: one write per turn of the event loop, not one per row. */
  write(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join("\n")}\n`;
    const buf = Buffer.from(text);
    writeSync(this.fd, buf, 0, buf.length, null);
    this.bytes += buf.length;
    this.lines += this.pending.length;
    this.pending.length = 0;
  }

  /** The next writes after the committed ones, at most `max`; call commit() once they are in. */
  read(max: number): WriteOp[] {
    this.write();
    const ops: WriteOp[] = [];
    let pos = this.readPos;
    let used = 0;
    let lines = 0;
    const buf = this.chunk;
    while (ops.length < max && pos < this.bytes) {
      const n = readSync(this.fd, buf, 0, Math.min(READ_CHUNK, this.bytes - pos), pos);
      if (n <= 0) break;
      let start = 0;
      for (let i = 0; i < n && ops.length < max; i++) {
        if (buf[i] !== 0x0a) continue;
        const op = parseOp(buf.toString("utf8", start, i));
        if (op !== null) ops.push(op);
        lines++;
        used += i + 1 - start;
        start = i + 1;
      }
      if (start === 0) {
        if (n === READ_CHUNK) throw new Error(`journal ${this.path}: a line longer than ${READ_CHUNK} bytes at byte ${pos}; it is not a journal this voicebot wrote`);
        break;
      }
      pos += start;
    }
    this.inFlightBytes = used;
    this.inFlightLines = lines;
    return ops;
  }

  /** The last read() is in PostgreSQL. True when nothing is left: the journal may be removed. */
  commit(): boolean {
    this.readPos += this.inFlightBytes;
    this.committedLines += this.inFlightLines;
    this.inFlightBytes = 0;
    this.inFlightLines = 0;
    return this.readPos >= this.bytes && this.pending.length === 0;
  }

  /** Closes; `remove` deletes the file (everything in it is committed). */
  close(remove: boolean): void {
    this.write();
    closeSync(this.fd);
    if (remove) unlinkSync(this.path);
  }
}

function countLines(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let lines = 0;
  for (let pos = 0; pos < size;) {
    const n = readSync(fd, buf, 0, Math.min(READ_CHUNK, size - pos), pos);
    if (n <= 0) break;
    for (let i = 0; i < n; i++) if (buf[i] === 0x0a) lines++;
    pos += n;
  }
  return lines;
}
