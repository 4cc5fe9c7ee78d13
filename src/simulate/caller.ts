/**
 * One simulated PBX call on the shared 20 ms clock: the caller's script (digits, speech, barge-in,
 * hang-up), what it heard and how fast the bot answered. The link itself is a CallWire: Asterisk
 * AudioSocket (audiosocket-wire.ts), FreeSWITCH mod_audio_stream (audiostream-wire.ts), Asterisk
 * chan_websocket (chan-websocket-wire.ts), the console's test call (browser-wire.ts) or the PABX
 * Docker media server over ASP (asp-wire.ts).
 */
import { dtmfTone } from "../media/dtmf-tones.ts";
import { PlayoutClock, type ClockTarget } from "../media/playout-clock.ts";
import { frameSamplesFor } from "../media/pcm.ts";
import { AspWire } from "./asp-wire.ts";
import { AudioSocketWire, type AudioSocketTarget } from "./audiosocket-wire.ts";
import type { CallerAction, CallOptions, CallResult, ScriptStep } from "./call-types.ts";
import { AudiostreamWire } from "./audiostream-wire.ts";
import { BrowserWire } from "./browser-wire.ts";
import { ChanWebsocketWire } from "./chan-websocket-wire.ts";
import { CallListener } from "./listener.ts";
import { TurnTimer } from "./turn-timer.ts";
import type { CallWire, WireEvents } from "./wire.ts";

const DEFAULT_QUIET_MS = 600;
const DIGIT_GAP_MS = 250;
/** An in-band key press: long enough for any receiver (Q.24 asks ≥ 40 ms), shorter than the gap. */
const INBAND_TONE_MS = 100;
const DTMF_PATTERN = /^[0-9*#A-D]+$/;
/** A gap between two of our own ticks this long means this process stalled (a loaded test machine), not the server. */
const STALL_MS = 200;
/** A caller frame is speech above −45 dBFS (the listener's threshold for the bot). */
const LOUD_SQUARED = (32768 * 10 ** (-45 / 20)) ** 2;

/** Checks a DTMF string before a call starts; the error names the value and what is allowed. */
function checkDigits(digits: string): void {
  if (!DTMF_PATTERN.test(digits)) throw new Error(`DTMF '${digits}' has a character that is not a keypad digit (allowed: 0-9 * # A-D)`);
}

export class SimulatedCaller implements ClockTarget {
  private readonly ownUuid: string;
  private readonly rate: number;
  private readonly clock: PlayoutClock<SimulatedCaller>;
  private readonly quietMs: number;
  private readonly idleTimeoutMs: number;
  private readonly timed: { atMs: number; step: ScriptStep }[] = [];
  private readonly untimed: ScriptStep[] = [];
  private hangupAtMs = Infinity;
  private readonly wire: CallWire;
  private readonly streamWire: AudiostreamWire | null;
  private readonly browserWire: BrowserWire | null;
  private readonly websocketWire: ChanWebsocketWire | null;

  private listener: CallListener;
  private callStartMs = 0;
  private lastTickMs = 0;
  /** Until then no idle verdict: this process stalled, and the frames that came meanwhile are still unread. */
  private stalledUntilMs = 0;
  private ended = false;
  private finish: (result: CallResult) => void = () => {};
  private hungUpBy: CallResult["hungUpBy"] = "caller";
  private serverSentHangup = false;
  private error: string | null = null;
  private endMs = 0;

  private readonly frame: Int16Array;
  private playing: Int16Array | null = null;
  private playPos = 0;
  private digitQueue = "";
  /** The keypad tone being played (in-band digits), and how far. */
  private tone: Int16Array | null = null;
  private tonePos = 0;
  private readonly tones = new Map<string, Int16Array>();
  private nextDigitMs = 0;
  private digitsSent = "";
  private readonly actions: CallerAction[] = [];
  private readonly turns = new TurnTimer();
  private readonly breakAfterOnsetMs: number[] = [];
  private lastBrokenOnsetMs: number | null = null;
  /** Untimed steps wait for bot speech that started after this (the previous step's time). */
  private armedMs = 0;

  constructor(private readonly options: CallOptions) {
    const audiostream = "audiostream" in options ? options.audiostream : null;
    const browser = "browser" in options ? options.browser : null;
    const websocket = "websocket" in options ? options.websocket : null;
    this.rate = options.sampleRate ?? (audiostream || browser || websocket ? 16000 : 8000);
    this.ownUuid = options.uuid ?? crypto.randomUUID();
    this.streamWire = audiostream ? new AudiostreamWire(audiostream, this.ownUuid, this.rate) : null;
    this.browserWire = browser ? new BrowserWire(browser, this.rate) : null;
    const asp = "asp" in options ? new AspWire(options.asp, this.ownUuid, this.rate) : null;
    this.websocketWire = websocket ? new ChanWebsocketWire(websocket, this.ownUuid, this.rate) : null;
    this.wire = this.streamWire ?? this.browserWire ?? this.websocketWire ?? asp ?? new AudioSocketWire(options as AudioSocketTarget, this.ownUuid, this.rate);
    this.clock = options.clock ?? simulatedPbxClock();
    this.quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? this.wire.idleTimeoutMs;
    for (const step of options.script ?? []) {
      if ("dtmf" in step) {
        checkDigits(step.dtmf);
        if (this.wire.digitsUnsupported !== null && options.inbandDigits !== true) throw new Error(`${this.wire.digitsUnsupported}; or play them in-band`);
      }
      if ("hangupAfter" in step) this.hangupAtMs = Math.min(this.hangupAtMs, step.hangupAfter * 1000);
      else if (step.at !== undefined) this.timed.push({ atMs: step.at * 1000, step });
      else this.untimed.push(step);
    }
    this.timed.sort((a, b) => a.atMs - b.atMs);
    this.frame = new Int16Array(frameSamplesFor(this.rate));
    this.listener = new CallListener(0, null);
  }

  /** The call's UUID: the one we dialled with, or the one the server named (the console's test call). */
  get uuid(): string {
    return this.browserWire?.serverCallId ?? this.ownUuid;
  }

  /** Dials, runs the script, and settles when the call is over (it never rejects). */
  async run(): Promise<CallResult> {
    const done = new Promise<CallResult>((resolve) => (this.finish = resolve));
    this.callStartMs = performance.now();
    this.listener = new CallListener(this.callStartMs, this.options.record ? this.rate : null);
    try {
      await this.wire.connect(this.events);
    } catch (err) {
      return this.notConnected(err);
    }
    // A server that closes at once (allow-list, shutdown) has already ended the call.
    if (this.ended) return done;
    this.callStartMs = performance.now();
    this.armedMs = this.callStartMs;
    this.listener = new CallListener(this.callStartMs, this.options.record ? this.rate : null);
    if (this.options.signal?.aborted) this.end("caller", null);
    else {
      this.options.signal?.addEventListener("abort", this.onAbort, { once: true });
      this.clock.add(this);
    }
    return done;
  }

  /** Everything heard at the call's rate (only with `record`). */
  recording(): Int16Array {
    return this.listener.recording();
  }

  private readonly onAbort = (): void => this.end("caller", null);

  private readonly events: WireEvents = {
    heard: (bytes, start, end, sampleRate, atMs) => {
      if (this.ended) return;
      const heard = this.listener;
      heard.onAudio(bytes, sampleRate, atMs, start, end);
      this.turns.botFrame(heard.lastSpeechAtMs === atMs, heard.lastSoundAtMs === atMs, atMs, ((end - start) * 500) / sampleRate);
    },
    quiet: (atMs) => {
      if (!this.ended) this.turns.botFrame(false, false, atMs, 20);
    },
    playbackBroken: (atMs) => {
      const onset = this.turns.bargeInOnsetMs;
      if (onset === null || onset === this.lastBrokenOnsetMs) return;
      this.lastBrokenOnsetMs = onset;
      this.breakAfterOnsetMs.push(Math.max(0, atMs - onset));
    },
    serverEnded: (properly) => {
      // Closing the link may report its own close from inside end(): the first word stands.
      if (this.ended) return;
      this.serverSentHangup = properly;
      this.end("server", null);
    },
    failed: (message) => this.end("error", message),
  };

  /** Per 20 ms of this call: one frame out, the script, the PBX's timeouts. */
  onTick(): void {
    if (this.ended) return;
    const nowMs = performance.now();
    this.wire.tick(this.nextFrame(nowMs), nowMs);
    if (this.ended) return;
    this.runScript(nowMs);
    const elapsed = nowMs - this.callStartMs;
    const idleLimit = this.idleTimeoutMs;
    // The PBX's own loop is never stalled: after a stall of ours, the socket is read before we judge.
    if (this.lastTickMs > 0 && nowMs - this.lastTickMs > STALL_MS) this.stalledUntilMs = nowMs + STALL_MS;
    this.lastTickMs = nowMs;
    if (elapsed >= this.hangupAtMs) this.end("caller", null);
    else if (this.options.greetingTimeoutMs !== undefined && this.listener.greetingDelayMs === null && elapsed >= this.options.greetingTimeoutMs) {
      this.end("error", `no greeting within ${this.options.greetingTimeoutMs} ms of the call start`);
    } else if (idleLimit > 0 && nowMs >= this.stalledUntilMs && nowMs - this.listener.lastFrameAtMs >= idleLimit) {
      this.end("error", `the server sent no frame for ${idleLimit} ms (Asterisk hangs up: "Reached timeout after ${idleLimit} ms of no activity")`);
    }
  }

  private runScript(nowMs: number): void {
    const elapsed = nowMs - this.callStartMs;
    while (this.timed.length > 0 && (this.timed[0] as { atMs: number }).atMs <= elapsed) {
      this.perform((this.timed.shift() as { step: ScriptStep }).step, nowMs);
    }
    if (this.digitQueue.length > 0 && nowMs >= this.nextDigitMs) this.sendDigit(nowMs);
    const next = this.untimed[0];
    const ready = next !== undefined && "say" in next && next.overBotAfterMs !== undefined
      ? this.turns.botSpeakingForMs(nowMs) >= next.overBotAfterMs
      : this.botWentQuiet(nowMs);
    if (next !== undefined && this.digitQueue.length === 0 && this.playing === null && ready) {
      this.untimed.shift();
      this.perform(next, nowMs);
    }
  }

  private botWentQuiet(nowMs: number): boolean {
    return this.listener.lastSpeechAtMs > this.armedMs && nowMs - this.listener.lastSpeechEndMs >= this.quietMs;
  }

  private perform(step: ScriptStep, nowMs: number): void {
    if ("dtmf" in step) {
      if (this.digitQueue.length === 0) this.nextDigitMs = nowMs;
      this.digitQueue += step.dtmf;
      if (nowMs >= this.nextDigitMs) this.sendDigit(nowMs);
    } else if ("say" in step) {
      this.playing = step.say.length > 0 ? step.say : null;
      this.playPos = 0;
      this.turns.callerStarts(step.overBotAfterMs !== undefined);
      this.armedMs = nowMs;
      this.actions.push({ atMs: nowMs - this.callStartMs, sayMs: (step.say.length * 1000) / this.rate });
    }
  }

  private sendDigit(nowMs: number): void {
    const digit = this.digitQueue[0] as string;
    this.digitQueue = this.digitQueue.slice(1);
    if (this.options.inbandDigits === true) this.playTone(digit);
    else this.wire.sendDigit(digit, nowMs);
    this.turns.callerKey(nowMs);
    this.digitsSent += digit;
    this.actions.push({ atMs: nowMs - this.callStartMs, dtmf: digit });
    this.nextDigitMs = nowMs + DIGIT_GAP_MS;
    this.armedMs = nowMs;
  }

  /** A keypad press as a phone makes it: the two tones for INBAND_TONE_MS (a cached buffer per digit). */
  private playTone(digit: string): void {
    let tone = this.tones.get(digit);
    if (tone === undefined) {
      tone = dtmfTone(digit, this.rate, INBAND_TONE_MS, { levelDbm0: -10, twistDb: 2 });
      this.tones.set(digit, tone);
    }
    this.tone = tone;
    this.tonePos = 0;
  }

  /** The next 20 ms of the keypad tone, which the caller's voice waits for. Allocates nothing. */
  private nextToneFrame(tone: Int16Array): Int16Array {
    const frame = this.frame;
    const start = this.tonePos;
    const available = Math.min(frame.length, tone.length - start);
    for (let i = 0; i < available; i++) frame[i] = tone[start + i]!;
    if (available < frame.length) frame.fill(0, available);
    this.tonePos = start + frame.length;
    if (this.tonePos >= tone.length) this.tone = null;
    return frame;
  }

  /** The next 20 ms of the caller's voice, or null for silence. Allocates nothing. */
  private nextFrame(nowMs: number): Int16Array | null {
    if (this.tone !== null) return this.nextToneFrame(this.tone);
    const audio = this.playing;
    if (audio === null) return null;
    const frame = this.frame;
    const start = this.playPos;
    const available = Math.min(frame.length, audio.length - start);
    let sum = 0;
    for (let i = 0; i < available; i++) {
      const s = audio[start + i] as number;
      frame[i] = s;
      sum += s * s;
    }
    if (available < frame.length) frame.fill(0, available);
    this.playPos = start + frame.length;
    this.turns.callerFrame(sum > LOUD_SQUARED * frame.length, nowMs);
    if (this.playPos >= audio.length) {
      this.playing = null;
      // The next step answers what the bot says after this, not while this was being said.
      this.armedMs = nowMs;
      this.turns.callerEnds(nowMs);
    }
    return frame;
  }

  /** The clock's handler for a tick that threw: that call alone ends, as an error. */
  fail(err: unknown): void {
    this.end("error", `simulator fault: ${err instanceof Error ? err.message : String(err)}`);
  }

  private end(by: CallResult["hungUpBy"], error: string | null): void {
    if (this.ended) return;
    this.ended = true;
    this.endMs = performance.now();
    this.hungUpBy = by;
    this.error = error;
    this.clock.remove(this);
    this.options.signal?.removeEventListener("abort", this.onAbort);
    this.wire.close();
    this.finish(this.result());
  }

  private result(): CallResult {
    const heard = this.listener.finish();
    return {
      uuid: this.uuid,
      connected: true,
      ...heard,
      hungUpBy: this.hungUpBy,
      serverSentHangup: this.serverSentHangup,
      error: this.error,
      durationMs: this.endMs - this.callStartMs,
      digitsSent: this.digitsSent,
      actions: this.actions,
      framesSkipped: this.wire.framesSkipped,
      responseMs: this.turns.responseMs,
      longestSilenceMs: this.turns.longestSilenceMs(this.endMs),
      bargeInStopMs: this.turns.bargeInStopMs,
      breakAfterOnsetMs: this.breakAfterOnsetMs,
      audiostream: this.streamWire?.figures(this.callStartMs) ?? null,
      websocket: this.websocketWire?.figures() ?? null,
    };
  }

  private notConnected(err: unknown): CallResult {
    this.ended = true;
    this.wire.close();
    return {
      uuid: this.uuid,
      connected: false,
      ...this.listener.finish(),
      hungUpBy: "error",
      serverSentHangup: false,
      error: `cannot connect to ${this.wire.target}: ${err instanceof Error ? err.message : String(err)}`,
      durationMs: 0,
      digitsSent: "",
      actions: [],
      framesSkipped: 0,
      responseMs: [],
      longestSilenceMs: 0,
      bargeInStopMs: [],
      breakAfterOnsetMs: [],
      audiostream: null,
      websocket: null,
    };
  }
}

/** A clock for simulated calls: the server's PlayoutClock, a faulty call ending on its own. */
export function simulatedPbxClock(): PlayoutClock<SimulatedCaller> {
  return new PlayoutClock<SimulatedCaller>((caller, err) => caller.fail(err));
}
