/**
 * The bot's audio to Asterisk chan_websocket (fixtures/chan_websocket, "Observed"). Asterisk cuts
 * each binary message into `optimal_frame_size` frames and drops the remainder, queues them, and
 * plays one per 20 ms from its own timer, silence when the queue is empty. So: the call clock's
 * frames go one per tick (the lead stays at one or two frames, and a barge-in never waits on
 * Asterisk's queue), every message is a whole number of frames, quiet frames are not sent once a
 * pause lasts (Asterisk plays its own silence), each talk spurt starts with one frame of silence (a frame landing just
 * after Asterisk's tick would otherwise leave a hole), and MEDIA_XOFF stops the sending until MEDIA_XON.
 */
import { encodeCommand, MAX_MESSAGE_BYTES, type WsFormat } from "./chan-websocket-codec.ts";
import { encodeMulaw } from "./mulaw.ts";

export interface PlaybackWire {
  /** Sends one message; false when the socket could not take it (the connection then ends). */
  send(data: string | Uint8Array): boolean;
  /** A frame was not sent: Asterisk's queue is full (XOFF). */
  dropped(): void;
}

/** Frames of silence ahead of each talk spurt. */
const PREROLL_FRAMES = 1;
/** Quiet frames inside speech that are still sent (a pause between words keeps the preroll's margin). */
const QUIET_FRAMES_SENT = 3;
/** The mark that tells us the goodbye has really played. */
export const END_MARK = "voicebot-end";

function isSilent(frame: Int16Array): boolean {
  for (let i = 0; i < frame.length; i++) if (frame[i] !== 0) return false;
  return true;
}

export class ChanWebsocketPlayback {
  /** Encoded audio not yet sent: always less than one Asterisk frame between ticks. */
  private readonly pending: Uint8Array;
  /** The first frame of `pending`: the usual message, without a view per send. */
  private readonly oneFrame: Uint8Array;
  private filled = 0;
  private talking = false;
  private quietRun = 0;
  private blocked = false;
  /** When Asterisk's queue runs dry if nothing more is sent (performance.now() ms). */
  private queuedUntil = 0;
  private sentSinceFlush = false;
  private readonly frameMs: number;
  private readonly maxMessage: number;
  /** The encoding's silence: 0 in slin, 0xff in μ-law. */
  private readonly quiet: number;

  constructor(
    private readonly format: WsFormat,
    private readonly optimalFrameSize: number,
    private readonly json: boolean,
    private readonly wire: PlaybackWire,
    ptime: number,
  ) {
    this.frameMs = ptime;
    this.quiet = format.encoding === "ulaw" ? 0xff : 0;
    this.maxMessage = Math.floor(MAX_MESSAGE_BYTES / optimalFrameSize) * optimalFrameSize;
    // One of our 20 ms frames plus the preroll plus a remainder, with room to spare.
    const frameBytes = (format.sampleRate / 50) * format.bytesPerSample;
    this.pending = new Uint8Array(frameBytes * (PREROLL_FRAMES + 1) + optimalFrameSize * 2);
    this.oneFrame = this.pending.subarray(0, optimalFrameSize);
  }

  /** Asterisk stopped taking audio (MEDIA_XOFF): its queue holds 900 frames. */
  get paused(): boolean {
    return this.blocked;
  }

  /** One 20 ms frame from the call clock; false when the socket failed. Allocation-free. */
  push(frame: Int16Array): boolean {
    if (isSilent(frame)) {
      if (!this.talking || ++this.quietRun > QUIET_FRAMES_SENT) return this.endSpurt();
    } else this.quietRun = 0;
    if (this.blocked) {
      this.wire.dropped();
      return true;
    }
    if (!this.talking) {
      this.talking = true;
      const lead = frame.length * this.format.bytesPerSample * PREROLL_FRAMES;
      this.pending.fill(this.quiet, this.filled, this.filled + lead);
      this.filled += lead;
    }
    this.append(frame);
    return this.sendWhole();
  }

  /** Barge-in: Asterisk drops its queue within one frame (FLUSH_MEDIA, no reply). */
  flush(): boolean {
    const queued = this.sentSinceFlush && (this.pendingMs() > 0 || this.filled > 0);
    this.filled = 0;
    this.talking = false;
    this.sentSinceFlush = false;
    this.queuedUntil = 0;
    return queued ? this.wire.send(encodeCommand(this.json, "FLUSH_MEDIA")) : true;
  }

  onXoff(): void {
    this.blocked = true;
    this.filled = 0;
    this.talking = false;
  }

  onXon(): void {
    this.blocked = false;
  }

  /** How long Asterisk should still be playing what it has, in ms. */
  pendingMs(now = performance.now()): number {
    return Math.max(0, this.queuedUntil - now);
  }

  /** Anything sent since the last flush, so an end mark means something. */
  get hasPlayed(): boolean {
    return this.sentSinceFlush;
  }

  /** The rest of the spurt (padded to a whole frame), then a mark reported once it has played. */
  markEnd(): boolean {
    return this.endSpurt() && this.wire.send(encodeCommand(this.json, "MARK_MEDIA", END_MARK));
  }

  private append(frame: Int16Array): void {
    const at = this.filled;
    if (this.format.encoding === "ulaw") encodeMulaw(frame, this.pending, at);
    else {
      const out = this.pending;
      for (let i = 0, o = at; i < frame.length; i++, o += 2) {
        const sample = frame[i]!;
        out[o] = sample & 0xff;
        out[o + 1] = (sample >> 8) & 0xff;
      }
    }
    this.filled = at + frame.length * this.format.bytesPerSample;
  }

  /** Sends the whole frames held; the remainder waits for the next tick. */
  private sendWhole(): boolean {
    const size = this.optimalFrameSize;
    let bytes = this.filled - (this.filled % size);
    let offset = 0;
    while (bytes > 0) {
      const length = Math.min(bytes, this.maxMessage);
      const view = offset === 0 && length === size ? this.oneFrame : this.pending.subarray(offset, offset + length);
      if (!this.wire.send(view)) return false;
      const now = performance.now();
      this.queuedUntil = Math.max(now, this.queuedUntil) + (length / size) * this.frameMs;
      this.sentSinceFlush = true;
      offset += length;
      bytes -= length;
    }
    this.pending.copyWithin(0, offset, this.filled);
    this.filled -= offset;
    return true;
  }

  /** Quiet: a remainder is padded with silence to a whole frame (Asterisk would drop it). */
  private endSpurt(): boolean {
    this.talking = false;
    if (this.filled === 0 || this.blocked) return true;
    const whole = Math.ceil(this.filled / this.optimalFrameSize) * this.optimalFrameSize;
    this.pending.fill(this.quiet, this.filled, whole);
    this.filled = whole;
    return this.sendWhole();
  }
}
