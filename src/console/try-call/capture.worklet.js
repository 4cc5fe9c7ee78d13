// The microphone, at the AudioContext's rate (16 kHz: the browser resamples), into 20 ms frames of
// PCM16 for the test call's socket. Each frame goes to the page with its level (dBFS).
const FRAME_SAMPLES = 320;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.fill = 0;
    this.energy = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.energy += s * s;
      this.frame[this.fill++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.fill < FRAME_SAMPLES) continue;
      const db = 10 * Math.log10(this.energy / FRAME_SAMPLES + 1e-10);
      this.port.postMessage({ frame: this.frame.buffer, db }, [this.frame.buffer]);
      this.frame = new Int16Array(FRAME_SAMPLES);
      this.fill = 0;
      this.energy = 0;
    }
    return true;
  }
}

registerProcessor("voicebot-capture", CaptureProcessor);
