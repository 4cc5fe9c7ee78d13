/**
 * The bot's audio back to FreeSWITCH as mod_audio_stream `streamAudio` text messages, in one of
 * the two ways the module builds support (PROTOCOLS.md §2.3, §2.4; fixtures sections c and d):
 * - `stream` (voxcom-us fork, commercial build): raw PCM the module plays itself at real time;
 * - `file` (community module): each message becomes a temp file that ESL must `uuid_broadcast`.
 */
import type { Logger } from "../log.ts";
import { ESL_WAIT_LIMIT_MS, PlaybackBacklog, type BacklogStats, type Chunk } from "./audiostream-backlog.ts";
import { WAV_HEADER_BYTES, writeWavHeader } from "../media/wav-header.ts";
import type { FreeswitchMediaControl } from "./freeswitch-control.ts";

export type PlaybackMode = "stream" | "file";

export interface PlaybackContext {
  readonly callId: string;
  readonly sampleRate: number;
  readonly control: FreeswitchMediaControl | null;
  readonly log: Logger;
  readonly stats: BacklogStats;
  /** How long file mode's audio may wait for ESL (default ESL_WAIT_LIMIT_MS). */
  readonly eslWaitLimitMs?: number;
  /** Sends one text message; false when the socket dropped it. */
  sendText(text: string): boolean;
  /** The bot's audio cannot reach the caller (file mode: ESL stayed down); `detail` says why. */
  onUnplayable(detail: string): void;
}

export interface PlaybackSender {
  /** One frame of the bot's audio (all zeros when it is quiet); false when a message was dropped. */
  push(frame: Int16Array): boolean;
  /** Barge-in: forget what FreeSWITCH has not played yet. */
  flush(): void;
  /** `mod_audio_stream::play`: the module wrote one of our messages to `file`. */
  onPlay(file: string): void;
  /** ESL is (back) up: audio that waited for it goes now. */
  onControlUp(): void;
  /** How long the audio already handed to FreeSWITCH (or waiting for ESL) should still take to play, in ms. */
  pendingMs(): number;
  /** The call is over: nothing more will be sent. */
  close(): void;
}

export function createPlayback(mode: PlaybackMode, ctx: PlaybackContext): PlaybackSender {
  return mode === "stream" ? new StreamPlayback(ctx) : new FilePlayback(ctx);
}

function isSilent(frame: Int16Array): boolean {
  for (let i = 0; i < frame.length; i++) if (frame[i] !== 0) return false;
  return true;
}

function messagePrefix(type: "raw" | "wav", sampleRate: number): string {
  return `{"type":"streamAudio","data":{"audioDataType":"${type}","sampleRate":${sampleRate},"audioData":"`;
}

const MESSAGE_SUFFIX = `"}}`;
/** Silence ahead of a talk spurt, in frames: the module's margin against our send jitter. */
const PREROLL_FRAMES = 1;

/**
 * One message per non-silent frame, sent when the call clock says so: the module then never holds
 * more than the clock's lead, which matters because the voxcom fork blocks its WebSocket thread
 * (and with it the caller's audio) while its queue is full. The first message of each talk spurt
 * starts with PREROLL_FRAMES of silence: the module plays one packet per tick from its buffer, and
 * a frame that lands a moment after its tick would otherwise leave a 20 ms hole.
 */
class StreamPlayback implements PlaybackSender {
  private readonly prefix: string;
  private samples = new Int16Array(0);
  private bytes = Buffer.alloc(0);
  private warnedFilePath = false;
  private talking = false;

  constructor(private readonly ctx: PlaybackContext) {
    this.prefix = messagePrefix("raw", ctx.sampleRate);
  }

  push(frame: Int16Array): boolean {
    // The module plays silence by itself when it has nothing.
    if (isSilent(frame)) {
      this.talking = false;
      return true;
    }
    const lead = this.talking ? 0 : frame.length * PREROLL_FRAMES;
    this.talking = true;
    const total = lead + frame.length;
    if (this.samples.length < total) {
      this.samples = new Int16Array(frame.length * (PREROLL_FRAMES + 1));
      this.bytes = Buffer.from(this.samples.buffer);
    }
    // Int16Array is host order, and every platform Bun runs on is little-endian like L16 here.
    this.samples.fill(0, 0, lead);
    this.samples.set(frame, lead);
    return this.ctx.sendText(this.prefix + this.bytes.toString("base64", 0, total * 2) + MESSAGE_SUFFIX);
  }

  /** `uuid_break` does not stop injected audio, and only the clock's lead is queued anyway. */
  flush(): void {}

  onPlay(file: string): void {
    if (this.warnedFilePath) return;
    this.warnedFilePath = true;
    this.ctx.log.warn(
      "mod_audio_stream wrote our audio to a file instead of playing it: this is the community module, which needs AUDIOSTREAM_PLAYBACK=file (and ESL); the caller hears nothing",
      { file },
    );
  }

  onControlUp(): void {}

  pendingMs(): number {
    return 0;
  }

  close(): void {}
}

/** Longest chunk: a sentence that never pauses still reaches the caller this late at most. */
const CHUNK_CAP_MS = 6000;
/** A pause only ends a chunk once this much is buffered: each file costs FreeSWITCH ~120 ms of gap. */
const CHUNK_MIN_MS = 600;
const PAUSE_FRAMES = 4;
/** −45 dBFS as a mean square of s16 samples. */
const QUIET_MEAN_SQUARE = (32768 * 10 ** (-45 / 20)) ** 2;
/** What one `uuid_broadcast` adds to the audio it plays (measured, fixtures README). */
const FILE_GAP_MS = 120;
/** Margin on the play-time estimate before a barge-in stops sending `uuid_break`. */
const PLAY_MARGIN_MS = 500;

/**
 * Sentence-ish WAV chunks: the module writes each to a temp file and fires `::play`, and ESL
 * plays the files in order. Frame-sized files would each add a gap (1 s of speech took 6.4 s).
 * While ESL is down a `::play` would be lost, so chunks wait in a PlaybackBacklog instead of
 * being sent; when ESL comes back, chunks sent just before the loss whose `::play` never came are
 * sent again, ahead of those that waited.
 */
class FilePlayback implements PlaybackSender {
  private readonly prefix: string;
  private readonly capSamples: number;
  private readonly minSamples: number;
  private bytes = Buffer.alloc(0);
  private samples = new Int16Array(0);
  private header = new DataView(new ArrayBuffer(0));
  private filled = 0;
  private quietRun = 0;
  /** Chunks sent whose `::play` has not arrived yet, in send order. */
  private unplayed: Chunk[] = [];
  /** Of `unplayed`, how many (the oldest) were sent before the last barge-in. */
  private stale = 0;
  private playEndsAt = 0;
  /** Null without ESL: nothing could play the chunks, so nothing waits. */
  private readonly backlog: PlaybackBacklog | null;

  constructor(private readonly ctx: PlaybackContext) {
    this.prefix = messagePrefix("wav", ctx.sampleRate);
    this.capSamples = (ctx.sampleRate * CHUNK_CAP_MS) / 1000;
    this.minSamples = (ctx.sampleRate * CHUNK_MIN_MS) / 1000;
    this.backlog = ctx.control === null ? null : new PlaybackBacklog({
      limitMs: ctx.eslWaitLimitMs ?? ESL_WAIT_LIMIT_MS, log: ctx.log, stats: ctx.stats, onExpired: (detail) => ctx.onUnplayable(detail),
    });
  }

  push(frame: Int16Array): boolean {
    if (isSilent(frame)) return this.filled > 0 ? this.sendChunk() : true;
    this.append(frame);
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
    this.quietRun = sum < QUIET_MEAN_SQUARE * frame.length ? this.quietRun + 1 : 0;
    if (this.filled >= this.capSamples) return this.sendChunk();
    if (this.filled >= this.minSamples && this.quietRun >= PAUSE_FRAMES) return this.sendChunk();
    return true;
  }

  flush(): void {
    const playing = this.unplayed.length > this.stale || performance.now() < this.playEndsAt + PLAY_MARGIN_MS;
    this.filled = 0;
    this.quietRun = 0;
    this.stale = this.unplayed.length;
    this.playEndsAt = 0;
    this.backlog?.clear();
    // uuid_break on a channel that plays nothing would only risk disturbing its park.
    if (playing) this.ctx.control?.breakPlayback(this.ctx.callId);
  }

  onPlay(file: string): void {
    const chunk = this.unplayed.shift();
    if (chunk === undefined) {
      this.ctx.log.warn("mod_audio_stream::play for a file we did not send; ignored", { file });
      return;
    }
    if (this.stale > 0) {
      this.stale--;
      this.ctx.log.debug("dropping a chunk sent before the barge-in", { file });
      return;
    }
    this.ctx.control?.broadcast(this.ctx.callId, file);
    this.playEndsAt = Math.max(performance.now(), this.playEndsAt) + chunk.durationMs + FILE_GAP_MS;
  }

  onControlUp(): void {
    if (this.backlog === null) return;
    // Sent before the loss, their `::play` fired into the old connection (or nowhere). A `::play`
    // still on its way would play the chunk twice, but the module fires it within a millisecond of
    // our message and a reconnect takes far longer. Chunks from before a barge-in are not wanted.
    const lost = this.unplayed.slice(this.stale);
    this.unplayed = [];
    this.stale = 0;
    this.backlog.hold(lost, true);
    this.resume();
  }

  pendingMs(): number {
    let ms = Math.max(0, this.playEndsAt - performance.now());
    for (let i = this.stale; i < this.unplayed.length; i++) ms += this.unplayed[i]!.durationMs + FILE_GAP_MS;
    if (this.backlog !== null) ms += this.backlog.durationMs + this.backlog.length * FILE_GAP_MS;
    return ms;
  }

  close(): void {
    this.backlog?.close();
  }

  private append(frame: Int16Array): void {
    const needed = this.filled + frame.length;
    if (needed > this.samples.length) {
      // Grown by doubling from 1 s, so a call that only ever says short sentences stays small.
      const capacity = Math.max(needed, Math.min(this.capSamples + frame.length, Math.max(this.ctx.sampleRate, this.samples.length * 2)));
      const buffer = new ArrayBuffer(WAV_HEADER_BYTES + capacity * 2);
      const samples = new Int16Array(buffer, WAV_HEADER_BYTES, capacity);
      samples.set(this.samples.subarray(0, this.filled));
      this.samples = samples;
      this.bytes = Buffer.from(buffer);
      this.header = new DataView(buffer, 0, WAV_HEADER_BYTES);
    }
    this.samples.set(frame, this.filled);
    this.filled = needed;
  }

  private sendChunk(): boolean {
    const dataBytes = this.filled * 2;
    writeWavHeader(this.header, this.ctx.sampleRate, dataBytes);
    const chunk: Chunk = {
      text: this.prefix + this.bytes.toString("base64", 0, WAV_HEADER_BYTES + dataBytes) + MESSAGE_SUFFIX,
      durationMs: (this.filled * 1000) / this.ctx.sampleRate,
    };
    this.filled = 0;
    this.quietRun = 0;
    if (!this.mustWait()) return this.send(chunk);
    this.backlog!.hold([chunk]);
    return true;
  }

  /** ESL is down, or came back with chunks still waiting (they go first, in order). */
  private mustWait(): boolean {
    const control = this.ctx.control;
    if (control === null || this.backlog === null) return false;
    // Up again before onControlUp reached this call (it was not watched yet): send what waited.
    if (control.connected && this.backlog.length > 0) this.resume();
    return !control.connected || this.backlog.length > 0;
  }

  private resume(): void {
    for (const chunk of this.backlog?.release() ?? []) if (!this.send(chunk)) return;
  }

  private send(chunk: Chunk): boolean {
    const sent = this.ctx.sendText(chunk.text);
    if (sent) this.unplayed.push(chunk);
    return sent;
  }
}
