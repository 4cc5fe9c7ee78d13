import { mkdir, open, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { RecordingFile } from "../store/store.ts";
import { frameSamplesFor } from "./pcm.ts";

export { RecorderFlusher } from "./recorder-flusher.ts";

export interface RecorderOptions {
  /** <dataDir>/recordings */
  dir: string;
  callUuid: string;
  sampleRate: number;
  startedAt: number;
  log: Logger;
}

/** The caller channel may lag the bot channel by this many frames before silence fills the gap. */
const MAX_CALLER_LAG_FRAMES = 3;
const MAX_NAME_TRIES = 999;

/** Samples waiting for the disk; reused from flush to flush, so steady state allocates nothing. */
class PcmBuffer {
  data: Int16Array;
  length = 0;

  constructor(capacity: number) {
    this.data = new Int16Array(capacity);
  }

  append(samples: Int16Array): void {
    this.reserve(samples.length);
    this.data.set(samples, this.length);
    this.length += samples.length;
  }

  appendSilence(count: number): void {
    this.reserve(count);
    this.data.fill(0, this.length, this.length + count);
    this.length += count;
  }

  /** s16le on disk: every host Bun runs on is little-endian. */
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.length * 2);
  }

  private reserve(count: number): void {
    if (this.length + count <= this.data.length) return;
    const grown = new Int16Array(Math.max(this.data.length * 2, this.length + count));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
}

/** One pair of files at one rate; a rate change starts the next segment. */
interface Segment {
  rate: number;
  frameSamples: number;
  callerPath: string;
  botPath: string;
  handles: { caller: FileHandle; bot: FileHandle } | null;
  opened: boolean;
  /** Everything appended so far, written or not: the alignment works on these. */
  callerSamples: number;
  botSamples: number;
}

/**
 * Records one call as two raw s16le mono files, caller and bot, under <dir>/YYYY/MM/DD (UTC, like
 * the logs). Frames go into memory; flush() appends them with async I/O, one write at a time, so
 * the event loop never waits on the disk. A disk error is logged once and ends this recording
 * only; the call goes on.
 */
export class Recorder {
  private readonly dayDir: string;
  private readonly baseName: string;
  private readonly segments: Segment[] = [];
  private segment: Segment;
  private callerBuf: PcmBuffer;
  private botBuf: PcmBuffer;
  private readonly spare: PcmBuffer[] = [];
  private chain: Promise<void> = Promise.resolve();
  private dirReady = false;
  private failed = false;
  private closed = false;

  private constructor(private readonly options: RecorderOptions) {
    const day = new Date(options.startedAt);
    if (Number.isNaN(day.getTime())) throw new Error(`recorder start time ${options.startedAt} is not allowed: epoch milliseconds`);
    this.dayDir = join(
      options.dir,
      String(day.getUTCFullYear()),
      String(day.getUTCMonth() + 1).padStart(2, "0"),
      String(day.getUTCDate()).padStart(2, "0"),
    );
    // The id comes from the PBX; keep it from naming a path outside the recordings dir.
    this.baseName = options.callUuid.replace(/[^A-Za-z0-9_-]/g, "_") || "call";
    this.segment = this.newSegment(checkRate(options.sampleRate));
    this.callerBuf = new PcmBuffer(options.sampleRate);
    this.botBuf = new PcmBuffer(options.sampleRate);
  }

  /** Names the first pair of files at once; nothing touches the disk before the first flush. */
  static open(options: RecorderOptions): Recorder {
    return new Recorder(options);
  }

  /**
   * Every file of the recording, named from the start so the call's row can point at them early.
   * Final once close() has resolved: by then pairs that never got audio are left out.
   */
  get files(): RecordingFile[] {
    return this.segments.flatMap((seg) => [
      { channel: "caller" as const, path: seg.callerPath, sampleRate: seg.rate },
      { channel: "bot" as const, path: seg.botPath, sampleRate: seg.rate },
    ]);
  }

  /** What the PBX sent. */
  caller(samples: Int16Array): void {
    if (this.failed || this.closed) return;
    this.callerBuf.append(samples);
    this.segment.callerSamples += samples.length;
  }

  /** What the bot sent this tick, silence included: the bot channel is the clock of the recording. */
  bot(samples: Int16Array): void {
    if (this.failed || this.closed) return;
    const seg = this.segment;
    this.botBuf.append(samples);
    seg.botSamples += samples.length;
    // A silent caller (a Local channel) sends nothing: pad so a later mix lines up within ~60 ms.
    const lag = seg.botSamples - seg.callerSamples;
    if (lag > MAX_CALLER_LAG_FRAMES * seg.frameSamples) {
      const pad = lag - seg.frameSamples;
      this.callerBuf.appendSilence(pad);
      seg.callerSamples += pad;
    }
  }

  setSampleRate(rate: number): void {
    checkRate(rate);
    if (this.failed || this.closed || rate === this.segment.rate) return;
    const old = this.segment;
    if (old.callerSamples === 0 && old.botSamples === 0) {
      // Nothing recorded yet (the rate is often learnt from the first audio frame): rename, no new pair.
      this.segments.pop();
      this.segment = this.newSegment(rate);
      return;
    }
    this.enqueueBuffers(old);
    this.chain = this.chain.then(() => this.closeSegment(old));
    this.segment = this.newSegment(rate);
  }

  /** Appends what is buffered; resolves once it is on disk (or recording has stopped). Never rejects. */
  flush(): Promise<void> {
    if (!this.failed && !this.closed) this.enqueueBuffers(this.segment);
    return this.chain;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      if (!this.failed) this.enqueueBuffers(this.segment);
      this.closed = true;
      const last = this.segment;
      this.chain = this.chain.then(() => this.closeSegment(last));
    }
    await this.chain;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      if (!this.segments[i]?.opened) this.segments.splice(i, 1);
    }
  }

  private newSegment(rate: number): Segment {
    const seg: Segment = {
      rate,
      frameSamples: frameSamplesFor(rate),
      callerPath: this.pathFor(1, "caller", rate),
      botPath: this.pathFor(1, "bot", rate),
      handles: null,
      opened: false,
      callerSamples: 0,
      botSamples: 0,
    };
    this.segments.push(seg);
    return seg;
  }

  private pathFor(n: number, channel: RecordingFile["channel"], rate: number): string {
    const stem = n === 1 ? this.baseName : `${this.baseName}.${n}`;
    return join(this.dayDir, `${stem}.${channel}.${rate}.s16le`);
  }

  /** Hands the filled buffers to the write chain and carries on with empty ones. */
  private enqueueBuffers(seg: Segment): void {
    const callerBuf = this.callerBuf;
    const botBuf = this.botBuf;
    if (callerBuf.length === 0 && botBuf.length === 0) return;
    this.callerBuf = this.spare.pop() ?? new PcmBuffer(seg.rate);
    this.botBuf = this.spare.pop() ?? new PcmBuffer(seg.rate);
    this.chain = this.chain.then(() => this.write(seg, callerBuf, botBuf));
  }

  private async write(seg: Segment, callerBuf: PcmBuffer, botBuf: PcmBuffer): Promise<void> {
    try {
      if (this.failed) return;
      const handles = seg.handles ?? (await this.openSegment(seg));
      await writeAll(handles.caller, callerBuf.bytes());
      await writeAll(handles.bot, botBuf.bytes());
    } catch (err) {
      this.fail(err);
    } finally {
      callerBuf.length = 0;
      botBuf.length = 0;
      this.spare.push(callerBuf, botBuf);
    }
  }

  /**
   * Creates the pair with "wx" so an earlier recording is never appended to: a UUID a dialplan
   * reuses, or a rate the call comes back to, gets <uuid>.2.…, <uuid>.3.… instead.
   */
  private async openSegment(seg: Segment): Promise<{ caller: FileHandle; bot: FileHandle }> {
    if (!this.dirReady) {
      await mkdir(this.dayDir, { recursive: true });
      this.dirReady = true;
    }
    for (let n = 1; n <= MAX_NAME_TRIES; n++) {
      const callerPath = this.pathFor(n, "caller", seg.rate);
      const botPath = this.pathFor(n, "bot", seg.rate);
      const caller = await openNew(callerPath);
      if (!caller) continue;
      const bot = await openNew(botPath).catch(async (err: unknown) => {
        await caller.close();
        await unlink(callerPath);
        throw err;
      });
      if (!bot) {
        await caller.close();
        await unlink(callerPath);
        continue;
      }
      seg.callerPath = callerPath;
      seg.botPath = botPath;
      seg.handles = { caller, bot };
      seg.opened = true;
      return seg.handles;
    }
    throw new Error(`no free file name for ${this.pathFor(1, "caller", seg.rate)} after ${MAX_NAME_TRIES} tries`);
  }

  private async closeSegment(seg: Segment): Promise<void> {
    const handles = seg.handles;
    seg.handles = null;
    if (!handles) return;
    try {
      await Promise.all([handles.caller.close(), handles.bot.close()]);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.callerBuf.length = 0;
    this.botBuf.length = 0;
    this.options.log.error("recording stopped: disk error", {
      call: this.options.callUuid,
      dir: this.dayDir,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

function checkRate(rate: number): number {
  if (!Number.isInteger(rate) || rate <= 0 || !Number.isInteger(frameSamplesFor(rate))) {
    throw new Error(`recording sample rate ${rate} is not allowed: a whole number of Hz that makes whole 20 ms frames (8000, 16000, …)`);
  }
  return rate;
}

/** The handle, or null when the name is taken. */
async function openNew(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
    throw err;
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten <= 0) throw new Error(`write made no progress (${bytes.length - offset} bytes left)`);
    offset += bytesWritten;
  }
}
