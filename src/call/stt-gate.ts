/**
 * What of the caller's audio goes to the recognizer. While the bot talks and the caller is quiet,
 * nothing does (Deepgram bills audio, and each frame is a WebSocket message: at 200 calls half of
 * them are silence under the bot's voice); the last PRE_ROLL_MS are kept, so when the caller
 * starts over the bot the recognizer still gets the onset. Otherwise every frame goes, and for
 * HANGOVER_MS after the caller's last loud frame, so endpointing hears the silence that ends a turn.
 */
const FRAME_MS = 20;
const PRE_ROLL_FRAMES = 15;
const HANGOVER_FRAMES = 50;
/** Deepgram closes a stream after 10 s without audio or KeepAlive (PROTOCOLS §4.2). */
const KEEPALIVE_FRAMES = 4000 / FRAME_MS;

export class SttGate {
  private ring: Int16Array;
  private scratch: Int16Array;
  private frameSamples: number;
  /** Frames held in the ring, the oldest at `(next - held)`. */
  private held = 0;
  private next = 0;
  private hangover = 0;
  private sinceSent = 0;

  constructor(sampleRate: number) {
    this.frameSamples = (sampleRate * FRAME_MS) / 1000;
    this.ring = new Int16Array(this.frameSamples * PRE_ROLL_FRAMES);
    this.scratch = new Int16Array(this.ring.length);
  }

  /**
   * One inbound frame: sent (after the pre-roll, when the gate just opened) or held back.
   * Allocation-free; `send` must not keep the view it gets.
   */
  push(frame: Int16Array, botSpeaking: boolean, callerLoud: boolean, send: (pcm: Int16Array) => void): void {
    if (callerLoud) this.hangover = HANGOVER_FRAMES;
    else if (this.hangover > 0) this.hangover--;
    if (botSpeaking && this.hangover === 0) {
      this.hold(frame);
      this.sinceSent++;
      return;
    }
    if (this.held > 0) send(this.preRoll());
    send(frame);
    this.sinceSent = 0;
  }

  /** True when the recognizer has had nothing for a while: time for a KeepAlive. */
  needsKeepAlive(): boolean {
    if (this.sinceSent < KEEPALIVE_FRAMES) return false;
    this.sinceSent = 0;
    return true;
  }

  private hold(frame: Int16Array): void {
    if (frame.length !== this.frameSamples) return;
    this.ring.set(frame, this.next * this.frameSamples);
    this.next = (this.next + 1) % PRE_ROLL_FRAMES;
    if (this.held < PRE_ROLL_FRAMES) this.held++;
  }

  /** The held frames, oldest first, as one view of the scratch buffer; empties the ring. */
  private preRoll(): Int16Array {
    const n = this.frameSamples;
    const first = (this.next - this.held + PRE_ROLL_FRAMES) % PRE_ROLL_FRAMES;
    for (let k = 0; k < this.held; k++) {
      const slot = ((first + k) % PRE_ROLL_FRAMES) * n;
      this.scratch.set(this.ring.subarray(slot, slot + n), k * n);
    }
    const view = this.scratch.subarray(0, this.held * n);
    this.held = 0;
    return view;
  }
}
