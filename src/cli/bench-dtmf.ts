/**
 * `voicebot bench --dtmf`: the in-band DTMF detector's figures, offline and deterministic. The
 * generated digit set at 8 and 16 kHz (alone, and under the bot's phrases as a line echo 25 dB
 * down), the embedded French voice talking for --seconds at each rate and the bot's own phrases
 * (no digit may come out of either), and the detector's cost per 20 ms frame, with the host's
 * load and steal beside it.
 */
import { loadavg } from "node:os";
import { DtmfDetector } from "../media/dtmf-detector.ts";
import { hostCpuUse, readHostCpu } from "../simulate/host-cpu.ts";
import { digitSet, inFrames, type DigitSet } from "./bench-dtmf-set.ts";
import { botPhraseTexts, frenchTexts, speechCorpus } from "./bench-dtmf-speech.ts";
import { printJson } from "./command.ts";

const RATES = [8000, 16000] as const;
/** The line's echo return loss under which the digit set must still come out whole. */
const ECHO_RETURN_LOSS_DB = 25;

interface SetFigures {
  rate: number;
  tones: number;
  detected: number;
  missed: number;
  extra: number;
}

interface SpeechFigures {
  rate: number;
  seconds: number;
  falseDigits: number;
  digits: string;
}

interface CostFigures {
  rate: number;
  frames: number;
  nsPerFrameMean: number;
  nsPerFrameP99: number;
  nsPerFrameMax: number;
}

function detect(audio: Int16Array, rate: number): string {
  let heard = "";
  const detector = new DtmfDetector(rate, (d) => (heard += d));
  inFrames(audio, rate, (frame) => detector.push(frame));
  return heard;
}

/** Digits found in order (longest common subsequence), the rest missed or extra. */
function score(set: DigitSet, heard: string): SetFigures {
  const a = set.digits;
  const b = heard;
  let previous = new Uint16Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const row = new Uint16Array(b.length + 1);
    for (let j = 1; j <= b.length; j++) row[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, row[j - 1]!);
    previous = row;
  }
  const detected = previous[b.length]!;
  return { rate: set.sampleRate, tones: set.count, detected, missed: set.count - detected, extra: heard.length - detected };
}

/**
 * Per-frame time of the detector over `audio` (speech: every check runs), several passes. The loop
 * allocates nothing either (one frame buffer), so a long frame is the scheduler's, not a GC's.
 */
function cost(audio: Int16Array, rate: number): CostFigures {
  const detector = new DtmfDetector(rate, () => {});
  const n = rate / 50;
  const frames = Math.floor(audio.length / n);
  const times = new Float64Array(frames * 3);
  const frame = new Int16Array(n);
  let k = 0;
  for (let pass = 0; pass < 3; pass++) {
    for (let f = 0; f < frames; f++) {
      for (let i = 0; i < n; i++) frame[i] = audio[f * n + i]!;
      const t0 = Bun.nanoseconds();
      detector.push(frame);
      times[k++] = Bun.nanoseconds() - t0;
    }
  }
  // The first pass warms the JIT up.
  const measured = times.subarray(frames).sort();
  let sum = 0;
  for (const t of measured) sum += t;
  return {
    rate, frames: measured.length, nsPerFrameMean: Math.round(sum / measured.length),
    nsPerFrameP99: Math.round(measured[Math.floor(measured.length * 0.99)]!), nsPerFrameMax: Math.round(measured[measured.length - 1]!),
  };
}

export async function runDtmfBench(o: { speechSeconds: number; json: boolean }): Promise<number> {
  const cpuBefore = readHostCpu();
  const load = loadavg()[0]!;
  const started = performance.now();
  const say = (line: string): void => {
    if (!o.json) process.stderr.write(`${line}\n`);
  };
  say(`synthesizing ${Math.round(o.speechSeconds)} s of French speech and the bot's phrases (eSpeak-NG)…`);
  const talk = await speechCorpus({ texts: frenchTexts(14), targetSeconds: o.speechSeconds, rates: RATES });
  const phrases = botPhraseTexts();
  let next = 0;
  const bot = await speechCorpus({ texts: () => phrases[next++]!, targetSeconds: Infinity, maxSentences: phrases.length, rates: RATES });

  const sets: SetFigures[] = [];
  const echoed: SetFigures[] = [];
  const speech: SpeechFigures[] = [];
  const botSpeech: SpeechFigures[] = [];
  const costs: CostFigures[] = [];
  for (const rate of RATES) {
    for (const seed of [14, 15, 16]) {
      const set = digitSet({ sampleRate: rate, seed });
      sets.push(score(set, detect(set.audio, rate)));
      const withEcho = digitSet({ sampleRate: rate, seed, under: bot.audio.get(rate)!, underGain: 10 ** (-ECHO_RETURN_LOSS_DB / 20) });
      echoed.push(score(withEcho, detect(withEcho.audio, rate)));
    }
    const talking = detect(talk.audio.get(rate)!, rate);
    speech.push({ rate, seconds: Math.round(talk.seconds), falseDigits: talking.length, digits: talking });
    const own = detect(bot.audio.get(rate)!, rate);
    botSpeech.push({ rate, seconds: Math.round(bot.seconds), falseDigits: own.length, digits: own });
    costs.push(cost(talk.audio.get(rate)!, rate));
  }
  const cpu = hostCpuUse(cpuBefore, readHostCpu());
  const figures = {
    digitSets: sets, digitSetsUnderEcho: { echoReturnLossDb: ECHO_RETURN_LOSS_DB, sets: echoed },
    speech: { sentences: talk.sentences, results: speech }, botPhrases: { phrases: bot.sentences, results: botSpeech },
    cost: costs, host: { load1: Math.round(load * 100) / 100, busyPercent: cpu?.busyPercent ?? null, stealPercent: cpu?.stealPercent ?? null },
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  const failed = [...sets, ...echoed].some((s) => s.missed + s.extra > 0) || [...speech, ...botSpeech].some((s) => s.falseDigits > 0);
  if (o.json) printJson({ ...figures, ok: !failed });
  else printReport(figures);
  return failed ? 1 : 0;
}

function printReport(f: {
  digitSets: SetFigures[]; digitSetsUnderEcho: { echoReturnLossDb: number; sets: SetFigures[] };
  speech: { sentences: number; results: SpeechFigures[] }; botPhrases: { phrases: number; results: SpeechFigures[] };
  cost: CostFigures[]; host: { load1: number; busyPercent: number | null; stealPercent: number | null }; seconds: number;
}): void {
  const out: string[] = [];
  const sum = (list: SetFigures[], rate: number): string => {
    const s = list.filter((x) => x.rate === rate);
    const tones = s.reduce((n, x) => n + x.tones, 0);
    const detected = s.reduce((n, x) => n + x.detected, 0);
    const extra = s.reduce((n, x) => n + x.extra, 0);
    return `${detected}/${tones} detected (${((detected / tones) * 100).toFixed(1)} %), ${extra} extra`;
  };
  out.push("In-band DTMF detector");
  for (const rate of RATES) {
    out.push(`  ${rate} Hz digit set (every digit, 40-100 ms, -25..-5 dBm0, twist ±6 dB, ±1.5 %, 15 dB SNR, μ-law): ${sum(f.digitSets, rate)}`);
    out.push(`  ${rate} Hz same, under the bot's phrases as echo ${f.digitSetsUnderEcho.echoReturnLossDb} dB down: ${sum(f.digitSetsUnderEcho.sets, rate)}`);
  }
  for (const s of f.speech.results) out.push(`  ${s.rate} Hz French speech, ${s.seconds} s (${f.speech.sentences} sentences): ${s.falseDigits} false digits ${s.digits}`);
  for (const s of f.botPhrases.results) out.push(`  ${s.rate} Hz the bot's phrases, ${s.seconds} s (${f.botPhrases.phrases} phrases): ${s.falseDigits} false digits ${s.digits}`);
  for (const c of f.cost) out.push(`  ${c.rate} Hz cost per 20 ms frame: mean ${c.nsPerFrameMean} ns, p99 ${c.nsPerFrameP99} ns, max ${c.nsPerFrameMax} ns (${c.frames} frames)`);
  out.push(`  host: load ${f.host.load1}, busy ${f.host.busyPercent ?? "?"} %, steal ${f.host.stealPercent ?? "?"} %; ${f.seconds} s in all`);
  process.stdout.write(out.join("\n") + "\n");
}
