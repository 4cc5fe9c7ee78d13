// The microphone into 20 ms frames of 16 kHz PCM16 for the test call's socket; each frame goes to
// the page with its level (dBFS). Where the browser resamples the microphone (Chromium, Safari) the
// context runs at 16 kHz and samples pass as they are. Firefox only connects a microphone to a
// context at the device's rate: with `processorOptions.resample` the samples go through
// libsamplerate (its worklet build, loaded before this module) down to 16 kHz.
const FRAME_SAMPLES = 320;
const CALL_RATE = 16000;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.fill = 0;
    this.energy = 0;
    this.converter = null;
    if (options.processorOptions && options.processorOptions.resample) {
      const lib = globalThis.LibSampleRate;
      lib.create(1, sampleRate, CALL_RATE, { converterType: lib.ConverterType.SRC_SINC_MEDIUM_QUALITY }).then((converter) => (this.converter = converter));
      this.waiting = true;
      this.out = new Float32Array(Math.ceil((128 * CALL_RATE) / sampleRate) + 64);
      this.converted = { frames: 0 };
    }
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    if (this.waiting && this.converter === null) return true;
    let channel = input;
    let count = input.length;
    if (this.converter !== null) {
      // full(), never simple(): simple() breaks after ~42 s of audio (STACK-NOTES).
      this.converted.frames = 0;
      this.converter.full(input, this.out, this.converted);
      channel = this.out;
      count = this.converted.frames;
    }
    for (let i = 0; i < count; i++) {
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
