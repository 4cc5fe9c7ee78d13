import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEspeakTts } from "../../src/ai/tts/espeak.ts";
import { BargeInDetector, FLOOR_DBFS, HOLD_AFTER_MS } from "../../src/call/barge-in.ts";
import { rootLogger } from "../../src/log.ts";
import { createResamplerPool } from "../../src/media/resampler-pool.ts";
import { loadVadModule, type Vad, type VadModule } from "../../src/media/vad.ts";
import { RATE, concat, delayed, gain, hiss, mix, normalized, silence } from "../support/pcm-8k.ts";

const FRAME = RATE / 50;
const MIN_SPEECH_MS = 200;
const BOT_TEXT = "Très bien. Je vais vérifier votre ligne, cela peut prendre quelques instants, merci de patienter.";
const CALLER_TEXT = "Attendez, attendez, ce n'est pas du tout ça mon problème, écoutez-moi s'il vous plaît.";

let vads: VadModule;
let bot: Int16Array;
let caller: Int16Array;
const detectors: Vad[] = [];

beforeAll(async () => {
  vads = await loadVadModule();
  const tts = await createEspeakTts({ voice: "fr", log: rootLogger.child("barge-in-test") });
  const pool = createResamplerPool({ size: 1 });
  try {
    const render = async (text: string): Promise<Int16Array> => {
      const chunks: Int16Array[] = [];
      for await (const chunk of tts.synthesize(text)) chunks.push(chunk);
      return normalized(await pool.resample(concat(chunks), tts.sampleRate, RATE), 16000);
    };
    bot = await render(BOT_TEXT);
    caller = await render(CALLER_TEXT);
  } finally {
    await tts.close();
    await pool.close();
  }
}, 30_000);

afterAll(() => {
  for (const vad of detectors) vad.free();
});

/** What the caller's side sends: `pcm` plus line hiss at −65 dBFS. */
const line = (pcm: Int16Array): Int16Array => mix(pcm, hiss(pcm.length, -65));

function vad(): Vad {
  const created = vads.create(RATE, 3);
  if (!created) throw new Error("no VAD at 8000 Hz");
  detectors.push(created);
  return created;
}

function detector(options: { vad?: Vad | null; minSpeechMs?: number } = {}): BargeInDetector {
  return new BargeInDetector({ sampleRate: RATE, minSpeechMs: options.minSpeechMs ?? MIN_SPEECH_MS, vad: options.vad === undefined ? vad() : options.vad });
}

interface Played {
  /** Frame indexes at which inbound() returned true. */
  decisions: number[];
  /** speechMs after each inbound frame. */
  speechMs: number[];
}

/** Feeds both directions frame by frame (outbound first, as the bot's frame leaves before echo returns). */
function play(target: BargeInDetector, outbound: Int16Array, inbound: Int16Array): Played {
  const frames = Math.floor(Math.max(outbound.length, inbound.length) / FRAME);
  const out = concat([outbound, silence((frames * FRAME * 1000) / RATE)]);
  const into = concat([inbound, silence((frames * FRAME * 1000) / RATE)]);
  const played: Played = { decisions: [], speechMs: [] };
  for (let k = 0; k < frames; k++) {
    target.outbound(out.subarray(k * FRAME, (k + 1) * FRAME));
    if (target.inbound(into.subarray(k * FRAME, (k + 1) * FRAME))) played.decisions.push(k);
    played.speechMs.push(target.speechMs);
  }
  return played;
}

/** First frame of `pcm` whose RMS reaches FLOOR_DBFS: where the caller's speech starts. */
function onsetFrame(pcm: Int16Array): number {
  const floor = 32768 * 10 ** (FLOOR_DBFS / 20);
  for (let k = 0; (k + 1) * FRAME <= pcm.length; k++) {
    let sum = 0;
    for (let i = k * FRAME; i < (k + 1) * FRAME; i++) sum += (pcm[i] ?? 0) ** 2;
    if (Math.sqrt(sum / FRAME) >= floor) return k;
  }
  throw new Error("no onset");
}

const LEAD_MS = 300;
const LEAD_FRAMES = LEAD_MS / 20;

describe("caller speech while the bot is silent on the line", () => {
  test("is decided once, after minSpeechMs of speech frames and not before", () => {
    for (const minSpeechMs of [200, 400]) {
      const inbound = line(concat([silence(LEAD_MS), caller]));
      const target = detector({ minSpeechMs });
      target.botSpeaking(true);
      const { decisions, speechMs } = play(target, silence(inbound.length * (1000 / RATE)), inbound);
      expect(decisions.length).toBe(1);
      const decided = decisions[0] ?? -1;
      const onset = onsetFrame(inbound);
      expect(onset).toBe(LEAD_FRAMES);
      expect(speechMs[decided]).toBeGreaterThanOrEqual(minSpeechMs);
      expect(speechMs[decided - 1]).toBeLessThan(minSpeechMs);
      // Never before minSpeechMs worth of frames; at most a few gap or unvoiced frames later.
      expect(decided - onset + 1).toBeGreaterThanOrEqual(minSpeechMs / 20);
      expect(decided - onset + 1).toBeLessThanOrEqual(minSpeechMs / 20 + 6);
    }
  });

  test("a 100 ms cough is not decided, nor two of them 60 ms apart", () => {
    const loudest = loudestFrame(caller);
    const cough = caller.subarray((loudest - 2) * FRAME, (loudest + 3) * FRAME);
    for (const inbound of [
      concat([silence(LEAD_MS), cough, silence(500)]),
      concat([silence(LEAD_MS), cough, silence(60), cough, silence(500)]),
      concat([silence(LEAD_MS), gain(hiss(800, -10), 0), silence(500)]),
    ]) {
      const target = detector();
      target.botSpeaking(true);
      const { decisions, speechMs } = play(target, silence(1000), line(inbound));
      expect(decisions).toEqual([]);
      expect(Math.max(...speechMs)).toBeLessThanOrEqual(120);
    }
  });

  test("a cough holds the bot from its second speech frame and lets it go when the run ends; real speech holds until decided", () => {
    const loudest = loudestFrame(caller);
    const cough = caller.subarray((loudest - 2) * FRAME, (loudest + 3) * FRAME);
    const tentative = (inbound: Int16Array): boolean[] => {
      const target = detector();
      target.botSpeaking(true);
      const out: boolean[] = [];
      for (let k = 0; (k + 1) * FRAME <= inbound.length; k++) {
        target.outbound(silence(20));
        target.inbound(inbound.subarray(k * FRAME, (k + 1) * FRAME));
        out.push(target.tentative);
      }
      return out;
    };
    const coughed = tentative(line(concat([silence(LEAD_MS), cough, silence(500)])));
    const first = coughed.indexOf(true);
    expect(first).toBeGreaterThanOrEqual(LEAD_FRAMES + 1);
    expect(first).toBeLessThanOrEqual(LEAD_FRAMES + 3);
    expect(coughed.lastIndexOf(true)).toBeLessThan(LEAD_FRAMES + 5 + 3);
    expect(coughed.at(-1)).toBe(false);
    const spoken = tentative(line(concat([silence(LEAD_MS), caller])));
    const held = spoken.indexOf(true);
    expect(held).toBeLessThanOrEqual(LEAD_FRAMES + 3);
    // From then on held without a break, until the decision (tentative is false once decided).
    const released = spoken.indexOf(false, held);
    expect(released - held).toBeGreaterThanOrEqual((MIN_SPEECH_MS - HOLD_AFTER_MS) / 20);
  });

  test("a run survives gaps of up to 40 ms (stop consonants), not 60 ms", () => {
    // 160 ms around the caller's loudest frame, levelled so that every frame passes the floor.
    const middle = loudestFrame(caller) * FRAME;
    const syllable = levelled(caller, -20).subarray(middle - 640, middle + 640);
    const spaced = (gapMs: number): Int16Array => concat([silence(LEAD_MS), ...[1, 2, 3, 4].flatMap(() => [syllable, silence(gapMs)])]);
    const bridged = detector();
    bridged.botSpeaking(true);
    expect(play(bridged, silence(2000), line(spaced(40))).decisions.length).toBe(1);
    const split = detector();
    split.botSpeaking(true);
    const { decisions, speechMs } = play(split, silence(2000), line(spaced(60)));
    expect(decisions).toEqual([]);
    expect(Math.max(...speechMs)).toBeGreaterThan(0);
    expect(Math.max(...speechMs)).toBeLessThanOrEqual(160);
  });

  test("nothing is decided while botSpeaking(false), and the run does not count", () => {
    const target = detector();
    const { decisions, speechMs } = play(target, silence(3000), line(concat([silence(LEAD_MS), caller])));
    expect(decisions).toEqual([]);
    expect(Math.max(...speechMs)).toBe(0);
  });

  test("a caller already talking when the bot starts holds it at the first frame and cuts it once their whole run reaches minSpeechMs", () => {
    const inbound = line(concat([silence(LEAD_MS), caller]));
    const target = detector();
    const before = LEAD_FRAMES + 6;
    for (let k = 0; k < before; k++) expect(target.inbound(inbound.subarray(k * FRAME, (k + 1) * FRAME))).toBe(false);
    expect(target.speechMs).toBe(0);
    target.botSpeaking(true);
    expect(target.tentative).toBe(true);
    const rest = play(target, silence(1000), inbound.subarray(before * FRAME));
    expect(rest.decisions.length).toBe(1);
    // 120 ms were spoken before the bot started: the other 80 of MIN_SPEECH_MS (200) decide, give or take a consonant's gap.
    expect(rest.decisions[0]).toBeLessThanOrEqual((MIN_SPEECH_MS - 120) / 20 + 3);
  });

  test("a caller who stopped before the bot started is not counted", () => {
    const inbound = line(concat([silence(LEAD_MS), caller.subarray(0, RATE * 0.3), silence(200)]));
    const target = detector();
    const frames = Math.floor(inbound.length / FRAME);
    for (let k = 0; k < frames; k++) target.inbound(inbound.subarray(k * FRAME, (k + 1) * FRAME));
    target.botSpeaking(true);
    expect(target.tentative).toBe(false);
    expect(target.speechMs).toBe(0);
  });

  test("true only once, until reset() or the bot's next reply", () => {
    const inbound = line(concat([silence(LEAD_MS), caller]));
    const target = detector();
    target.botSpeaking(true);
    const first = play(target, silence(1000), inbound.subarray(0, RATE));
    expect(first.decisions.length).toBe(1);
    expect(play(target, silence(500), inbound.subarray(RATE, RATE * 1.5)).decisions).toEqual([]);
    target.reset();
    expect(target.speechMs).toBe(0);
    expect(play(target, silence(500), inbound.subarray(RATE * 1.5, RATE * 2)).decisions.length).toBe(1);
    target.botSpeaking(false);
    target.botSpeaking(true);
    expect(play(target, silence(500), inbound.subarray(RATE * 2, RATE * 2.5)).decisions.length).toBe(1);
  });
});

function loudestFrame(pcm: Int16Array): number {
  let best = 0;
  let bestEnergy = -1;
  for (let k = 0; (k + 1) * FRAME <= pcm.length; k++) {
    let sum = 0;
    for (let i = k * FRAME; i < (k + 1) * FRAME; i++) sum += (pcm[i] ?? 0) ** 2;
    if (sum > bestEnergy) {
      bestEnergy = sum;
      best = k;
    }
  }
  return best;
}

/** The bot's reply as sent, with silence either side. */
const botTurn = (): Int16Array => concat([silence(LEAD_MS), bot, silence(LEAD_MS)]);

/** The line's echo of what the bot sent: `db` down, `ms` late. */
const echoOf = (outbound: Int16Array, db: number, ms: number): Int16Array => gain(delayed(outbound, ms), db);

describe("while the bot speaks, with its echo on the line", () => {
  test("its echo alone (−12 dB or −6 dB, 0-190 ms late) is never decided, though a VAD calls it speech", () => {
    const outbound = botTurn();
    for (const [db, ms] of [[-12, 60], [-6, 60], [-6, 0], [-6, 130], [-6, 190], [-9, 75]] as const) {
      const inbound = line(echoOf(outbound, db, ms));
      const plain = vad();
      let voiced = 0;
      for (let k = 0; (k + 1) * FRAME <= inbound.length; k++) if (plain.isSpeech(inbound.subarray(k * FRAME, (k + 1) * FRAME))) voiced++;
      expect(voiced * FRAME).toBeGreaterThan(bot.length / 2);
      const target = detector();
      target.botSpeaking(true);
      const { decisions, speechMs } = play(target, outbound, inbound);
      expect({ db, ms, decisions }).toEqual({ db, ms, decisions: [] });
      expect(Math.max(...speechMs)).toBeLessThan(MIN_SPEECH_MS);
    }
  });

  test("the caller talking over it, louder than the echo, is decided", () => {
    const outbound = botTurn();
    const startMs = 800;
    // Levels are relative to the bot's: the echo at −12 or −6 dB, the caller at 0 or −3 dB.
    for (const [echoDb, callerDb] of [[-12, 0], [-12, -3], [-6, 0]] as const) {
      const talk = concat([silence(startMs), gain(caller, callerDb)]);
      const inbound = line(mix(echoOf(outbound, echoDb, 60), talk));
      const target = detector();
      target.botSpeaking(true);
      const { decisions } = play(target, outbound, inbound);
      expect({ echoDb, callerDb, decisions: decisions.length }).toEqual({ echoDb, callerDb, decisions: 1 });
      const framesAfterOnset = (decisions[0] ?? -1) - onsetFrame(talk) + 1;
      expect(framesAfterOnset).toBeGreaterThanOrEqual(MIN_SPEECH_MS / 20);
      expect(framesAfterOnset).toBeLessThanOrEqual(30);
    }
  });
});

/** One tick: the bot's frame k out, the caller's frame k in; inbound()'s answer. */
function step(target: BargeInDetector, outbound: Int16Array, inbound: Int16Array, k: number): boolean {
  target.outbound(outbound.subarray(k * FRAME, (k + 1) * FRAME));
  return target.inbound(inbound.subarray(k * FRAME, (k + 1) * FRAME));
}

describe("the provider's SpeechStarted", () => {
  const inbound = (): Int16Array => line(concat([silence(LEAD_MS), caller]));
  const quiet = silence(5000);

  test("with ≥ 60 ms of gated local speech decides at once, well before minSpeechMs", () => {
    const target = detector();
    target.botSpeaking(true);
    const pcm = inbound();
    let k = 0;
    while (target.speechMs < 60) expect(step(target, quiet, pcm, k++)).toBe(false);
    expect(target.speechStarted()).toBe(true);
    expect(target.speechMs).toBeLessThan(MIN_SPEECH_MS);
    for (let end = k + 20; k < end; k++) expect(step(target, quiet, pcm, k)).toBe(false);
    expect(target.speechStarted()).toBe(false);
  });

  test("heard early in a run, lets that run decide as soon as it reaches 60 ms", () => {
    const target = detector();
    target.botSpeaking(true);
    const pcm = inbound();
    let k = 0;
    while (target.speechMs === 0) expect(step(target, quiet, pcm, k++)).toBe(false);
    expect(target.speechStarted()).toBe(false);
    while (!step(target, quiet, pcm, k)) k++;
    expect(target.speechMs).toBeGreaterThanOrEqual(60);
    expect(target.speechMs).toBeLessThan(MIN_SPEECH_MS);
  });

  test("with no local run (the provider heard the bot's echo) changes nothing", () => {
    const outbound = botTurn();
    const echo = line(echoOf(outbound, -6, 60));
    const target = detector();
    target.botSpeaking(true);
    for (let k = 0; (k + 1) * FRAME <= echo.length; k++) {
      expect(step(target, outbound, echo, k)).toBe(false);
      if (k % 10 === 0) expect(target.speechStarted()).toBe(false);
    }
  });

  test("is ignored while the bot is silent", () => {
    const target = detector();
    const pcm = inbound();
    for (let k = 0; k < LEAD_FRAMES + 10; k++) expect(step(target, quiet, pcm, k)).toBe(false);
    expect(target.speechStarted()).toBe(false);
  });
});

describe("without a VAD (a rate libfvad does not support)", () => {
  test("loud caller speech is decided after minSpeechMs; the bot's −6 dB echo is not", () => {
    const inbound = line(concat([silence(LEAD_MS), caller]));
    const target = detector({ vad: null });
    target.botSpeaking(true);
    const { decisions } = play(target, silence(3000), inbound);
    expect(decisions.length).toBe(1);
    expect((decisions[0] ?? 0) - onsetFrame(inbound) + 1).toBeGreaterThanOrEqual(MIN_SPEECH_MS / 20);

    const outbound = botTurn();
    const echoed = detector({ vad: null });
    echoed.botSpeaking(true);
    expect(play(echoed, outbound, line(echoOf(outbound, -6, 60))).decisions).toEqual([]);
  });

  test("needs a higher floor: a soft talker at −40 dBFS is decided with a VAD, not without", () => {
    const soft = line(concat([silence(LEAD_MS), levelled(caller, -40)]));
    const withVad = detector();
    withVad.botSpeaking(true);
    expect(play(withVad, silence(3000), soft).decisions.length).toBe(1);
    const energyOnly = detector({ vad: null });
    energyOnly.botSpeaking(true);
    expect(play(energyOnly, silence(3000), soft).decisions).toEqual([]);
  });
});

/** Every audible frame (above −60 dBFS) of `pcm` brought to `dbfs` RMS: speech with its dynamics flattened. */
function levelled(pcm: Int16Array, dbfs: number): Int16Array {
  const target = 32768 * 10 ** (dbfs / 20);
  const audible = 32768 * 10 ** (-60 / 20);
  const out = new Int16Array(pcm.length);
  for (let k = 0; (k + 1) * FRAME <= pcm.length; k++) {
    const frame = pcm.subarray(k * FRAME, (k + 1) * FRAME);
    let sum = 0;
    for (const v of frame) sum += v * v;
    const rms = Math.sqrt(sum / FRAME);
    if (rms > audible) out.set(frame.map((v) => Math.round((v * target) / rms)), k * FRAME);
  }
  return out;
}

describe("a VAD that throws", () => {
  test("is dropped on its first throw, told once, and barge-in goes on as without a VAD", () => {
    let calls = 0;
    const isSpeech = (): boolean => {
      calls++;
      throw new RangeError("VAD: a frame of 138 samples is not allowed at 8000 Hz");
    };
    const failures: unknown[] = [];
    const broken = new BargeInDetector({ sampleRate: RATE, minSpeechMs: MIN_SPEECH_MS, vad: { sampleRate: RATE, mode: 3, free: () => {}, isSpeech }, onVadFailure: (e) => failures.push(e) });
    const inbound = line(concat([silence(LEAD_MS), caller]));
    const [withBroken, energyOnly] = [broken, detector({ vad: null })].map((d) => (d.botSpeaking(true), play(d, silence(3000), inbound).decisions));
    expect([calls, failures.map(String)]).toEqual([1, ["RangeError: VAD: a frame of 138 samples is not allowed at 8000 Hz"]]);
    expect(withBroken).toEqual(energyOnly!);
    expect(withBroken!.length).toBe(1);
  });
});

describe("BargeInDetector options", () => {
  test("a bad value is named with what is allowed", () => {
    expect(() => new BargeInDetector({ sampleRate: 0, minSpeechMs: 200, vad: null })).toThrow(
      "barge-in: sampleRate 0 is not allowed; use a positive integer in Hz",
    );
    expect(() => new BargeInDetector({ sampleRate: 8000.5, minSpeechMs: 200, vad: null })).toThrow("sampleRate 8000.5");
    for (const minSpeechMs of [10, 2001, Number.NaN]) {
      expect(() => new BargeInDetector({ sampleRate: RATE, minSpeechMs, vad: null })).toThrow(
        `barge-in: minSpeechMs ${minSpeechMs} is not allowed; use 20 to 2000 ms`,
      );
    }
    const wide = vads.create(16000, 3);
    if (!wide) throw new Error("no VAD at 16000 Hz");
    detectors.push(wide);
    expect(() => new BargeInDetector({ sampleRate: RATE, minSpeechMs: 200, vad: wide })).toThrow(
      "barge-in: the VAD runs at 16000 Hz but the call is at 8000 Hz; they must match",
    );
  });
});
