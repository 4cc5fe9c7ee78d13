// The bot's 20 ms PCM16 frames from the socket, played through a small jitter buffer: playing
// starts once START_SAMPLES are queued, a queue that runs dry is an underrun (it buffers again),
// "flush" (barge-in) drops what is queued, and a queue grown past MAX_SAMPLES (the socket caught up
// after a stall) is cut back so the bot does not lag behind. Reports underruns, depth and level.
const RATE = 16000;
const START_SAMPLES = (RATE * 40) / 1000;
const MAX_SAMPLES = (RATE * 300) / 1000;
const KEEP_SAMPLES = (RATE * 60) / 1000;
const CAPACITY = RATE * 2;
const REPORT_SAMPLES = (RATE * 100) / 1000;

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ring = new Float32Array(CAPACITY);
    this.read = 0;
    this.queued = 0;
    this.playing = false;
    this.underruns = 0;
    this.dropped = 0;
    this.energy = 0;
    this.counted = 0;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(data) {
    if (data === "flush") {
      this.read = (this.read + this.queued) % CAPACITY;
      this.queued = 0;
      this.playing = false;
      return;
    }
    const samples = new Int16Array(data);
    if (this.queued + samples.length > MAX_SAMPLES) {
      const drop = this.queued + samples.length - KEEP_SAMPLES;
      const fromQueue = Math.min(drop, this.queued);
      this.read = (this.read + fromQueue) % CAPACITY;
      this.queued -= fromQueue;
      this.dropped += fromQueue;
    }
    let write = (this.read + this.queued) % CAPACITY;
    for (let i = 0; i < samples.length; i++) {
      this.ring[write] = samples[i] / 32768;
      write = write + 1 === CAPACITY ? 0 : write + 1;
    }
    this.queued += samples.length;
    if (!this.playing && this.queued >= START_SAMPLES) this.playing = true;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      if (this.playing && this.queued > 0) {
        s = this.ring[this.read];
        this.read = this.read + 1 === CAPACITY ? 0 : this.read + 1;
        this.queued--;
      } else if (this.playing) {
        this.playing = false;
        this.underruns++;
      }
      out[i] = s;
      this.energy += s * s;
    }
    this.counted += out.length;
    if (this.counted >= REPORT_SAMPLES) {
      const db = 10 * Math.log10(this.energy / this.counted + 1e-10);
      this.port.postMessage({ db, underruns: this.underruns, dropped: this.dropped, queuedMs: (this.queued * 1000) / RATE });
      this.energy = 0;
      this.counted = 0;
    }
    return true;
  }
}

registerProcessor("voicebot-playback", PlaybackProcessor);
