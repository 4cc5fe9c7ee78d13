import { describe, expect, test } from "bun:test";
import { BROADCAST_GAP_MS, FreeswitchPlayout } from "../../src/simulate/freeswitch-playout.ts";
import { broadcastAudio, readServerText, tempFilePath } from "../../src/simulate/stream-audio.ts";
import { encodeWav } from "../../src/simulate/wav.ts";

const RATE = 16000;
const FRAME = 320;

const level = (value: number, samples = FRAME): Int16Array => new Int16Array(samples).fill(value);

/** The first sample of each frame `next()` gives over `ticks` ticks of 20 ms from `fromMs`. */
function play(p: FreeswitchPlayout, ticks: number, fromMs = 0): number[] {
  const out: number[] = [];
  for (let t = 0; t < ticks; t++) {
    const bytes = p.next(fromMs + t * 20);
    out.push(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1)[0] as number);
  }
  return out;
}

describe("FreeswitchPlayout", () => {
  test("injected audio plays one frame per tick, in order, then silence", () => {
    const p = new FreeswitchPlayout(RATE);
    p.inject(level(1), FRAME, 0);
    p.inject(level(2), FRAME, 1);
    expect(p.injectedMs).toBe(40);
    expect(play(p, 3)).toEqual([1, 2, 0]);
    expect(p.frameRate).toBe(RATE);
  });

  test("a piece that comes within one frame of the audio running dry is an underrun; a later one is a pause", () => {
    const p = new FreeswitchPlayout(RATE);
    p.inject(level(1), FRAME, 0);
    play(p, 2, 0); // plays at 0, runs dry at 20
    p.inject(level(1), FRAME, 25);
    expect(p.underruns).toBe(1);
    play(p, 2, 40); // plays at 40, runs dry at 60
    p.inject(level(1), FRAME, 300);
    expect(p.underruns).toBe(1);
    play(p, 2, 300); // runs dry at 320
    const spurt = new Int16Array(FRAME * 2);
    spurt.fill(1, FRAME); // a new talk spurt: one frame of silence first, as voicebot sends it
    p.inject(spurt, FRAME * 2, 330);
    expect(p.underruns).toBe(1);
  });

  test("the ring grows past a second and keeps the order", () => {
    const p = new FreeswitchPlayout(8000);
    for (let i = 1; i <= 80; i++) p.inject(level(i, 160), 160, 0);
    expect(play(p, 80)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
  });

  test("a broadcast file starts after the broadcast gap, at its own rate, and the next one after another gap", () => {
    const p = new FreeswitchPlayout(RATE);
    const gap = BROADCAST_GAP_MS / 20;
    p.queueFile(level(7, 160 * 2), 8000);
    p.queueFile(level(9, FRAME), RATE);
    const heard = play(p, 2 * gap + 3);
    expect(heard).toEqual([...Array(gap).fill(0), 7, 7, ...Array(gap).fill(0), 9]);
  });

  test("uuid_break drops the files at once but not injected audio (the voxcom fork plays it regardless)", () => {
    const p = new FreeswitchPlayout(RATE);
    p.queueFile(level(7, FRAME * 50), RATE);
    play(p, BROADCAST_GAP_MS / 20 + 1);
    p.inject(level(3), FRAME, 0);
    p.breakFiles();
    expect(play(p, 3)).toEqual([3, 0, 0]);
  });
});

describe("a server text as mod_audio_stream reads it", () => {
  const audio = Buffer.from(new Int16Array([1, 2]).buffer).toString("base64");
  const message = (data: Record<string, unknown>): string => JSON.stringify({ type: "streamAudio", data });

  test("streamAudio is accepted with its metadata, other text is passed on", () => {
    expect(readServerText(message({ audioDataType: "raw", sampleRate: 16000, audioData: audio }))).toEqual({
      kind: "streamAudio", audioDataType: "raw", sampleRate: 16000, audioData: audio, meta: { audioDataType: "raw", sampleRate: 16000 },
    });
    expect(readServerText("hello").kind).toBe("other");
    expect(readServerText(`{"type":"transfer"}`).kind).toBe("other");
    expect(readServerText("[1,2]").kind).toBe("other");
  });

  test("refusals carry the module's own log line", () => {
    const refused = (data: Record<string, unknown>): string => {
      const r = readServerText(message(data));
      return r.kind === "refused" ? r.error : r.kind;
    };
    expect(refused({ audioDataType: "raw", sampleRate: 16000 })).toBe("processMessage - streamAudio missing audioData field");
    expect(refused({ audioDataType: "raw", sampleRate: 44100, audioData: audio })).toBe("unsupported sample rate: 44100");
    expect(refused({ audioDataType: "raw", sampleRate: "16000", audioData: audio })).toBe("unsupported sample rate: 0");
    expect(refused({ audioDataType: "flac", sampleRate: 16000, audioData: audio })).toBe("unsupported audio type: flac");
    expect(refused({ audioDataType: "raw", sampleRate: 8000, audioData: "not base64!" })).toBe("base64 decode error: Input is not valid base64-encoded data.");
  });

  test("temp files are named as the community module names them, and read as mod_sndfile reads them", () => {
    expect(tempFilePath("u1", 0, "raw", 16000)).toBe("/tmp/u1_0.tmp.r16");
    expect(tempFilePath("u1", 3, "wav", 8000)).toBe("/tmp/u1_3.tmp.wav");
    const wav = broadcastAudio("/tmp/u1_3.tmp.wav", "wav", 0, encodeWav(new Int16Array([5, -5]), 8000));
    expect(wav).toEqual({ sampleRate: 8000, samples: new Int16Array([5, -5]) });
    expect(broadcastAudio("/tmp/u1_0.tmp.r8", "raw", 8000, new Uint8Array([1, 0, 2, 0]))).toEqual({ sampleRate: 8000, samples: new Int16Array([1, 2]) });
    expect(broadcastAudio("/tmp/u1_0.tmp.r24", "raw", 24000, new Uint8Array(4))).toEqual({ error: expect.stringContaining("24-bit PCM") });
    expect(broadcastAudio("/tmp/u1_0.tmp.r48", "raw", 48000, new Uint8Array(4))).toEqual({ error: expect.stringContaining("not a file type mod_sndfile plays") });
  });
});
