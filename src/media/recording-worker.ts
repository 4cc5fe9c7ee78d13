/**
 * Recording worker: every recording file operation of the process, done with plain synchronous fs
 * calls on this one thread. Async writes from the event loop went through Bun's I/O thread pool
 * and took the cores the call audio needs; here a slow disk only ever stalls this thread.
 * Ops arrive in batches (one per flush step), run in order, and one report answers each batch.
 */
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { SLOTS_PER_CHUNK, type SharedChunk } from "./recording-pool.ts";
import { giveWayToEventLoop } from "./worker-nice.ts";
import { serveRpc, type RpcResult } from "./worker-rpc.ts";

/**
 * One recording's ops; `rec` is the id the writer gave that recording. A recording has at most
 * one pair of files open at a time: "open" creates it, "close" ends it, "end" ends the recording.
 */
export type RecordingOp =
  | {
      op: "open";
      rec: number;
      /** The recorder's segment number, echoed back in the report. */
      seg: number;
      dir: string;
      /** <dir>/<uuid>: the pair is <stem><suffix>, or <stem>.<n><suffix> when that name is taken. */
      stem: string;
      callerSuffix: string;
      botSuffix: string;
    }
  /** `caller` and `bot` are slots of the shared pool (recording-pool.ts), −1 for none. */
  | { op: "write"; rec: number; caller: number; callerBytes: number; bot: number; botBytes: number }
  | { op: "close"; rec: number }
  | { op: "end"; rec: number };

export interface RecordingBatch {
  id: number;
  op: "batch";
  /** Pool chunks this worker has not seen yet, and chunks it may let go of. */
  chunks: SharedChunk[];
  forget: number[];
  ops: RecordingOp[];
}

/** Once the batch is answered, every slot it carried is free for the main thread again. */
export interface RecordingReport {
  opened: { rec: number; seg: number; callerPath: string; botPath: string }[];
  /** At most one entry per recording over its life: later ops of a failed recording are dropped. */
  failed: { rec: number; path: string; error: string }[];
}

const MAX_NAME_TRIES = 999;

interface Recording {
  dirReady: boolean;
  failed: boolean;
  callerFd: number;
  botFd: number;
  callerPath: string;
  botPath: string;
}

/** A failed fs call and the file (or directory) it was about. */
class FileError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

const recordings = new Map<number, Recording>();
/** The pool's chunks, by id: a slot is read in place, never copied or moved. */
const chunks = new Map<number, { bytes: Uint8Array; slotBytes: number }>();

function onFile<T>(path: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw new FileError(path, err);
  }
}

/** The descriptor, or null when the name is taken. */
function openNew(path: string): number | null {
  try {
    return openSync(path, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
    throw new FileError(path, err);
  }
}

function discard(fd: number, path: string): void {
  onFile(path, () => {
    closeSync(fd);
    unlinkSync(path);
  });
}

/**
 * Creates the pair with "wx" so an earlier recording is never appended to: a UUID a dialplan
 * reuses, or a rate the call comes back to, gets <uuid>.2.…, <uuid>.3.… instead.
 */
function openPair(r: Recording, op: RecordingOp & { op: "open" }): void {
  if (!r.dirReady) {
    onFile(op.dir, () => mkdirSync(op.dir, { recursive: true }));
    r.dirReady = true;
  }
  for (let n = 1; n <= MAX_NAME_TRIES; n++) {
    const stem = n === 1 ? op.stem : `${op.stem}.${n}`;
    const callerPath = stem + op.callerSuffix;
    const botPath = stem + op.botSuffix;
    const callerFd = openNew(callerPath);
    if (callerFd === null) continue;
    let botFd: number | null;
    try {
      botFd = openNew(botPath);
    } catch (err) {
      discard(callerFd, callerPath);
      throw err;
    }
    if (botFd === null) {
      discard(callerFd, callerPath);
      continue;
    }
    Object.assign(r, { callerFd, botFd, callerPath, botPath });
    return;
  }
  const first = op.stem + op.callerSuffix;
  throw new FileError(first, new Error(`no free file name for ${first} after ${MAX_NAME_TRIES} tries`));
}

function writeAll(fd: number, path: string, slot: number, bytes: number): void {
  if (slot < 0 || bytes === 0) return;
  if (fd < 0) throw new FileError(path, new Error("write to a recording with no open file"));
  const chunk = chunks.get(Math.floor(slot / SLOTS_PER_CHUNK));
  if (!chunk) throw new FileError(path, new Error(`slot ${slot} is in no chunk this worker was given`));
  const start = (slot % SLOTS_PER_CHUNK) * chunk.slotBytes;
  onFile(path, () => {
    for (let offset = 0; offset < bytes; ) {
      const written = writeSync(fd, chunk.bytes, start + offset, bytes - offset);
      if (written <= 0) throw new Error(`write made no progress (${bytes - offset} bytes left)`);
      offset += written;
    }
  });
}

function closePair(r: Recording): void {
  const { callerFd, botFd } = r;
  r.callerFd = -1;
  r.botFd = -1;
  if (callerFd >= 0) onFile(r.callerPath, () => closeSync(callerFd));
  if (botFd >= 0) onFile(r.botPath, () => closeSync(botFd));
}

function apply(r: Recording, op: RecordingOp): void {
  switch (op.op) {
    case "open":
      closePair(r);
      openPair(r, op);
      return;
    case "write":
      writeAll(r.callerFd, r.callerPath, op.caller, op.callerBytes);
      writeAll(r.botFd, r.botPath, op.bot, op.botBytes);
      return;
    case "close":
    case "end":
      closePair(r);
      return;
  }
}

function fail(r: Recording, rec: number, err: unknown, report: RecordingReport): void {
  r.failed = true;
  for (const fd of [r.callerFd, r.botFd]) {
    try {
      if (fd >= 0) closeSync(fd);
    } catch {
      // Already failing: the first error is the one worth reporting.
    }
  }
  r.callerFd = -1;
  r.botFd = -1;
  const path = err instanceof FileError ? err.path : r.callerPath;
  report.failed.push({ rec, path, error: err instanceof Error ? err.message : String(err) });
}

function run(batch: RecordingBatch): RpcResult {
  for (const c of batch.chunks) chunks.set(c.id, { bytes: new Uint8Array(c.buffer), slotBytes: c.slotBytes });
  for (const id of batch.forget) chunks.delete(id);
  const report: RecordingReport = { opened: [], failed: [] };
  for (const op of batch.ops) {
    let r = recordings.get(op.rec);
    if (!r && op.op === "open") {
      r = { dirReady: false, failed: false, callerFd: -1, botFd: -1, callerPath: "", botPath: "" };
      recordings.set(op.rec, r);
    }
    // Unknown: ops a previous worker was meant to finish; that recording has already been failed.
    if (!r) continue;
    if (!r.failed) {
      try {
        apply(r, op);
        if (op.op === "open") report.opened.push({ rec: op.rec, seg: op.seg, callerPath: r.callerPath, botPath: r.botPath });
      } catch (err) {
        fail(r, op.rec, err, report);
      }
    }
    if (op.op === "end") recordings.delete(op.rec);
  }
  return { value: report };
}

giveWayToEventLoop();
serveRpc<RecordingBatch>(run);
