import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { RecordingFile } from "../store/store.ts";
import { frameSamplesFor } from "./pcm.ts";
import { PcmBuffer } from "./pcm-buffer.ts";
import type { Slot } from "./recording-pool.ts";
import { recordingWriter, type RecordingOp, type RecordingSink, type RecordingWriter } from "./recording-writer.ts";
import { SampleQueue } from "./sample-queue.ts";

export { RecorderFlusher } from "./recorder-flusher.ts";

export interface RecorderOptions {
  /** <dataDir>/recordings */
  dir: string;
  callUuid: string;
  sampleRate: number;
  startedAt: number;
  log: Logger;
  /**
   * The PBX queues the bot's audio and plays it later (FreeSWITCH's community module: files), so
   * what is sent is not what is heard: speech goes out ahead of time, and a barge-in cuts some of
   * it before it plays. The bot channel is then written as it plays, one frame per `tick()`.
   */
  botPlaysLater?: boolean;
}

/**
 * The most silence one skip writes (10 s). A longer stall (a suspended VM, a stopped process) has
 * outlasted every PBX's patience (Asterisk hangs up after 2 s without a frame): the call is over,
 * and a stall of hours must not become hours of buffered silence.
 */
const MAX_SKIPPED_FRAMES = 500;
/** The caller channel may lag the bot channel by this many frames before silence fills the gap. */
const MAX_CALLER_LAG_FRAMES = 3;
const RESOLVED = Promise.resolve();

/** One pair of files at one rate; a rate change starts the next segment. */
interface Segment {
  index: number;
  rate: number;
  frameSamples: number;
  callerPath: string;
  botPath: string;
  /** The worker has been told to create the pair. */
  openSent: boolean;
  /** The worker created it: callerPath and botPath are the final names. */
  opened: boolean;
  /** Everything appended so far, written or not: the alignment works on these. */
  callerSamples: number;
  botSamples: number;
  /** Caller samples of the ticks the clock skipped, not come yet: no silence is padded for them. */
  callerOwed: number;
}

interface Waiter {
  seq: number;
  promise: Promise<void>;
  resolve: () => void;
}

/**
 * Records one call as two raw s16le mono files, caller and bot, under <dir>/YYYY/MM/DD (UTC, like
 * the logs). Frames are copied into memory; flush() hands the filled buffers to the recording
 * worker (recording-writer.ts), which does the file I/O off the event loop. A disk error is
 * logged once and ends this recording only; the call goes on.
 */
export class Recorder {
  private readonly dayDir: string;
  private readonly baseName: string;
  private readonly writer: RecordingWriter = recordingWriter();
  private readonly sink: RecordingSink;
  private readonly segments: Segment[] = [];
  private segment: Segment;
  private nextSegment = 1;
  private readonly callerBuf: PcmBuffer;
  private readonly botBuf: PcmBuffer;
  /** One second of audio per slot: flushed every half second, a slot seldom fills. */
  private readonly freshSlot = (): Slot => this.writer.takeSlot(this.segment.rate);
  /** This recording's id with the writer; 0 while the worker holds nothing of it. */
  private rec = 0;
  /** Seq of the last op handed to the writer, and of the last one it finished. */
  private handed = 0;
  private done = 0;
  private readonly waiters: Waiter[] = [];
  private failed = false;
  private closed = false;
  /** botPlaysLater: the bot's audio sent and not yet played, oldest first; null = written as sent. */
  private readonly unplayed: SampleQueue | null;
  private readonly appendBot = (ring: Int16Array, start: number, end: number): void => this.put(this.botBuf, ring, start, end);

  private constructor(private readonly options: RecorderOptions) {
    this.unplayed = options.botPlaysLater === true ? new SampleQueue() : null;
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
    this.callerBuf = new PcmBuffer(this.writer.takeSlot(options.sampleRate));
    this.botBuf = new PcmBuffer(this.writer.takeSlot(options.sampleRate));
    this.sink = {
      opened: (seg, callerPath, botPath) => this.opened(seg, callerPath, botPath),
      failed: (path, error) => this.stop("disk error", path, error),
      lost: (error) => {
        this.rec = 0;
        this.stop("recording worker died", this.segment.callerPath, error);
      },
      settled: (seq) => this.settled(seq),
    };
  }

  /** Names the first pair of files at once; nothing touches the disk before the first flush. */
  static open(options: RecorderOptions): Recorder {
    return new Recorder(options);
  }

  /**
   * Every file of the recording, named from the start so the call's row can point at them early.
   * Final once close() has resolved: by then pairs that never got audio are left out, and a name
   * already taken on disk has been replaced by the <uuid>.<n>.… one actually written.
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
    const seg = this.segment;
    this.put(this.callerBuf, samples, 0, samples.length);
    seg.callerSamples += samples.length;
    if (seg.callerOwed > 0) seg.callerOwed = Math.max(0, seg.callerOwed - samples.length);
  }

  /**
   * What the bot sent this tick, silence included: the bot channel is the clock of the recording.
   * With botPlaysLater it waits for the tick that plays it; silence is not queued, since the PBX
   * plays nothing for it (no file) and a tick with nothing queued writes silence.
   */
  bot(samples: Int16Array): void {
    if (this.failed || this.closed) return;
    if (this.unplayed === null) this.botWritten(samples.length, samples);
    else if (!isSilent(samples)) this.unplayed.write(samples);
  }

  /** One frame period of the call (botPlaysLater): the frame the PBX plays now goes to the bot channel. */
  tick(): void {
    if (this.failed || this.closed || this.unplayed === null) return;
    const count = this.segment.frameSamples;
    const played = this.unplayed.read(count, this.appendBot);
    this.segment.botSamples += played;
    this.botWritten(count - played, null);
  }

  /**
   * The clock skipped `periods` of this call's ticks (the event loop was blocked too long to catch
   * up): nothing of ours was heard then or, botPlaysLater, the PBX played on from its queue. The
   * bot channel takes that time too, so both channels keep the call's timeline; the caller's
   * frames of that time are still on their way, so the caller channel is not padded for them.
   */
  skipped(periods: number): void {
    if (this.failed || this.closed) return;
    const seg = this.segment;
    const count = Math.min(periods, MAX_SKIPPED_FRAMES) * seg.frameSamples;
    const played = this.unplayed === null ? 0 : this.unplayed.read(count, this.appendBot);
    this.put(this.botBuf, null, 0, count - played);
    seg.botSamples += count;
    seg.callerOwed += count;
  }

  /**
   * At a pair's end, the caller channel is padded with silence: botPlaysLater, to the bot's length
   * (the PBX plays the goodbye out after the hang-up was asked for, while the caller's audio no
   * longer comes); otherwise by what skipped ticks still owe (a silent caller never sends it).
   */
  private evenUp(seg: Segment): void {
    const lag = seg.botSamples - seg.callerSamples;
    const pad = this.unplayed === null ? Math.min(lag, seg.callerOwed) : lag;
    if (pad <= 0) return;
    this.put(this.callerBuf, null, 0, pad);
    seg.callerSamples += pad;
  }

  /** Appends `count` samples of `samples` (null: of silence) to the bot channel, then keeps the caller's in step. */
  private botWritten(count: number, samples: Int16Array | null): void {
    const seg = this.segment;
    this.put(this.botBuf, samples, 0, count);
    seg.botSamples += count;
    // A silent caller (a Local channel) sends nothing: pad so a later mix lines up within ~60 ms.
    const lag = seg.botSamples - seg.callerOwed - seg.callerSamples;
    if (lag > MAX_CALLER_LAG_FRAMES * seg.frameSamples) {
      const pad = lag - seg.frameSamples;
      this.put(this.callerBuf, null, 0, pad);
      seg.callerSamples += pad;
    }
  }

  /** A barge-in: what the PBX had queued is dropped there (uuid_break), so it is never heard. */
  dropUnplayed(): void {
    this.unplayed?.clear();
  }

  setSampleRate(rate: number): void {
    checkRate(rate);
    if (this.failed || this.closed || rate === this.segment.rate) return;
    // Audio queued at the old rate has no place in the new pair (a rate change mid-speech is rare).
    this.unplayed?.clear();
    const old = this.segment;
    if (old.callerSamples === 0 && old.botSamples === 0) {
      // Nothing recorded yet (the rate is often learnt from the first audio frame): rename, no new pair.
      this.segments.pop();
      this.segment = this.newSegment(rate);
      return;
    }
    this.evenUp(old);
    this.handOver(old);
    if (old.openSent) this.send({ op: "close", rec: this.rec });
    this.segment = this.newSegment(rate);
  }

  /** Hands what is buffered to the worker; resolves once it is on disk (or recording has stopped). Never rejects. */
  flush(): Promise<void> {
    this.handOverBuffered();
    return this.whenDone();
  }

  /** Hands what is buffered to the worker, with no promise of when it is on disk (the flusher's tick). */
  handOverBuffered(): void {
    if (!this.failed && !this.closed) this.handOver(this.segment);
  }

  /** Resolves once the last data is on disk and the files are closed; `files` is final then. */
  async close(): Promise<void> {
    if (!this.closed) {
      if (!this.failed) {
        this.evenUp(this.segment);
        this.handOver(this.segment);
      }
      this.closed = true;
      // The slots still held are empty (handed over above) or dropped (failed): back to the pool.
      this.writer.release(this.callerBuf.slot);
      this.writer.release(this.botBuf.slot);
      if (this.rec !== 0) this.send({ op: "end", rec: this.rec });
    }
    await this.whenDone();
    for (let i = this.segments.length - 1; i >= 0; i--) {
      if (!this.segments[i]?.opened) this.segments.splice(i, 1);
    }
  }

  private newSegment(rate: number): Segment {
    const seg: Segment = {
      index: this.nextSegment++,
      rate,
      frameSamples: frameSamplesFor(rate),
      callerPath: this.firstPath(callerSuffix(rate)),
      botPath: this.firstPath(botSuffix(rate)),
      openSent: false,
      opened: false,
      callerSamples: 0,
      callerOwed: 0,
      botSamples: 0,
    };
    this.segments.push(seg);
    return seg;
  }

  /** <uuid>.<channel>.<rate>.s16le; the worker picks <uuid>.<n>.… when that name is taken. */
  private firstPath(suffix: string): string {
    return join(this.dayDir, this.baseName) + suffix;
  }

  /** Hands the filled buffers to the worker (creating the segment's pair first) and carries on with spare ones. */
  private handOver(seg: Segment): void {
    const callerBytes = this.callerBuf.length * 2;
    const botBytes = this.botBuf.length * 2;
    if (callerBytes === 0 && botBytes === 0) return;
    if (!seg.openSent) {
      seg.openSent = true;
      if (this.rec === 0) this.rec = this.writer.register(this.sink);
      this.send({
        op: "open",
        rec: this.rec,
        seg: seg.index,
        dir: this.dayDir,
        stem: join(this.dayDir, this.baseName),
        callerSuffix: callerSuffix(seg.rate),
        botSuffix: botSuffix(seg.rate),
      });
    }
    const caller = this.callerBuf.handOver(this.freshSlot);
    const bot = this.botBuf.handOver(this.freshSlot);
    this.send({ op: "write", rec: this.rec, caller, callerBytes, bot, botBytes });
  }

  /**
   * Appends `samples[start..end)` (null: that many samples of silence) to `buf`, handing the pair
   * over to the worker whenever a slot fills (a flush came late, or a long stretch of silence).
   */
  private put(buf: PcmBuffer, samples: Int16Array | null, start: number, end: number): void {
    for (;;) {
      const n = Math.min(end - start, buf.room);
      if (samples === null) buf.appendSilence(n);
      else buf.append(samples, start, start + n);
      start += n;
      if (start === end) return;
      this.handOver(this.segment);
    }
  }

  private send(op: RecordingOp): void {
    this.handed = this.writer.enqueue(this.sink, op);
  }

  private whenDone(): Promise<void> {
    if (this.failed || this.done >= this.handed) return RESOLVED;
    const last = this.waiters[this.waiters.length - 1];
    if (last?.seq === this.handed) return last.promise;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.waiters.push({ seq: this.handed, promise, resolve });
    return promise;
  }

  private settled(seq: number): void {
    this.done = seq;
    while (this.waiters.length > 0 && (this.waiters[0] as Waiter).seq <= seq) this.waiters.shift()?.resolve();
  }

  private opened(index: number, callerPath: string, botPath: string): void {
    const seg = this.segments.find((s) => s.index === index);
    if (!seg) return;
    seg.callerPath = callerPath;
    seg.botPath = botPath;
    seg.opened = true;
  }

  private stop(reason: string, file: string, error: string): void {
    if (this.failed) return;
    this.failed = true;
    this.callerBuf.length = 0;
    this.botBuf.length = 0;
    this.options.log.error(`recording stopped: ${reason}`, { call: this.options.callUuid, file, error });
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }
}

function isSilent(samples: Int16Array): boolean {
  for (let i = 0; i < samples.length; i++) if (samples[i] !== 0) return false;
  return true;
}

function callerSuffix(rate: number): string {
  return `.caller.${rate}.s16le`;
}

function botSuffix(rate: number): string {
  return `.bot.${rate}.s16le`;
}

function checkRate(rate: number): number {
  if (!Number.isInteger(rate) || rate <= 0 || !Number.isInteger(frameSamplesFor(rate))) {
    throw new Error(`recording sample rate ${rate} is not allowed: a whole number of Hz that makes whole 20 ms frames (8000, 16000, …)`);
  }
  return rate;
}
