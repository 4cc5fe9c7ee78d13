/**
 * One simulated PBX call over AudioSocket, behaving as a real Asterisk does (fixtures README):
 * UUID first, then a 20 ms audio frame every 20 ms for the whole call, one 0x03 message per
 * DTMF digit, and a plain TCP close to hang up. It records what the server sent and how.
 */
import type { Socket } from "bun";
import { frameSamplesFor } from "../media/pcm.ts";
import {
  AudioSocketParser,
  Kind,
  encodeMessage,
  hexByte,
  isAudioKind,
  kindForRate,
  rateForKind,
  uuidFromString,
  writeAudioMessage,
} from "../transports/audiosocket-codec.ts";
import { CallListener, type HeardSummary } from "./listener.ts";
import { PlayoutClock, type ClockTarget } from "../media/playout-clock.ts";
import { TurnTimer } from "./turn-timer.ts";

/**
 * `at` is seconds from the call start; without it a step runs when the bot next goes quiet
 * after speaking (untimed steps run one after another, in order).
 */
export type ScriptStep =
  | { dtmf: string; at?: number }
  /** `overBotAfterMs`: instead of waiting for quiet, speak once the bot has talked this long (barge-in). */
  | { say: Int16Array; at?: number; overBotAfterMs?: number }
  | { hangupAfter: number };

export interface CallOptions {
  host: string;
  port: number;
  /** 8000 (kind 0x10) unless given; any rate the codec has a kind for. */
  sampleRate?: number;
  uuid?: string;
  script?: readonly ScriptStep[];
  /** Keep the PCM heard (at the call's rate) for `recording()`. */
  record?: boolean;
  /**
   * Share one clock between calls (the server's own PlayoutClock: one timer, calls spread over
   * the 20 ms like a PBX's channel threads send them); a private one otherwise.
   */
  clock?: PlayoutClock<SimulatedCaller>;
  /** How long the bot must be quiet after speaking before an untimed step runs. */
  quietMs?: number;
  /** End the call as failed when no greeting has been heard by then. */
  greetingTimeoutMs?: number;
  /** Asterisk hangs up when no frame came for 2 s; 0 turns the check off. */
  idleTimeoutMs?: number;
  /** Aborting hangs up from the caller's side. */
  signal?: AbortSignal;
}

export type CallerAction = { atMs: number; dtmf: string } | { atMs: number; sayMs: number };

export interface CallResult extends HeardSummary {
  uuid: string;
  connected: boolean;
  hungUpBy: "server" | "caller" | "error";
  serverSentHangup: boolean;
  error: string | null;
  durationMs: number;
  digitsSent: string;
  /** What the caller did and when (ms from the call start), for the timeline. */
  actions: CallerAction[];
  /** Frames not sent because the socket was still busy with an earlier one. */
  framesSkipped: number;
  /** Caller speech end → first bot speech heard, per answered utterance. */
  responseMs: number[];
  /** Caller speech onset over the bot → the bot's speech stopped, per barge-in step. */
  bargeInStopMs: number[];
}

const DEFAULT_QUIET_MS = 600;
const DIGIT_GAP_MS = 250;
const PBX_IDLE_TIMEOUT_MS = 2000;
const DTMF_PATTERN = /^[0-9*#A-D]+$/;
/** A caller frame is speech above −45 dBFS (the listener's threshold for the bot). */
const LOUD_SQUARED = (32768 * 10 ** (-45 / 20)) ** 2;

/** The silence message of each kind, shared by every call: sockets copy what they write. */
const silenceByKind = new Map<number, Uint8Array>();
function silenceMessage(kind: number, frameSamples: number): Uint8Array {
  let message = silenceByKind.get(kind);
  if (!message) {
    message = new Uint8Array(3 + frameSamples * 2);
    writeAudioMessage(message, kind, new Int16Array(frameSamples));
    silenceByKind.set(kind, message);
  }
  return message;
}

/** Checks a DTMF string before a call starts; the error names the value and what is allowed. */
function checkDigits(digits: string): void {
  if (!DTMF_PATTERN.test(digits)) throw new Error(`DTMF '${digits}' has a character that is not a keypad digit (allowed: 0-9 * # A-D)`);
}

export class SimulatedCaller implements ClockTarget {
  readonly uuid: string;
  private readonly uuidBytes: Uint8Array;
  private readonly rate: number;
  private readonly kind: number;
  private readonly frameSamples: number;
  private readonly clock: PlayoutClock<SimulatedCaller>;
  private readonly quietMs: number;
  private readonly timed: { atMs: number; step: ScriptStep }[] = [];
  private readonly untimed: ScriptStep[] = [];
  private hangupAtMs = Infinity;

  private socket: Socket<undefined> | null = null;
  private readonly parser: AudioSocketParser;
  private listener: CallListener;
  private callStartMs = 0;
  private arrivalMs = 0;
  private ended = false;
  private finish: (result: CallResult) => void = () => {};
  private hungUpBy: CallResult["hungUpBy"] = "caller";
  private serverSentHangup = false;
  private error: string | null = null;
  private endMs = 0;

  private readonly frame: Int16Array;
  private readonly message: Uint8Array;
  private playing: Int16Array | null = null;
  private playPos = 0;
  private pendingWrite: Uint8Array | null = null;
  private framesSkipped = 0;
  private digitQueue = "";
  private nextDigitMs = 0;
  private digitsSent = "";
  private readonly actions: CallerAction[] = [];
  private readonly turns = new TurnTimer();
  /** Untimed steps wait for bot speech that started after this (the previous step's time). */
  private armedMs = 0;

  constructor(private readonly options: CallOptions) {
    this.rate = options.sampleRate ?? 8000;
    const kind = kindForRate(this.rate);
    if (kind === undefined) throw new Error(`sample rate ${this.rate} Hz has no AudioSocket kind (allowed: 8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000)`);
    this.kind = kind;
    this.frameSamples = frameSamplesFor(this.rate);
    this.uuid = options.uuid ?? crypto.randomUUID();
    this.uuidBytes = uuidFromString(this.uuid);
    this.clock = options.clock ?? simulatedPbxClock();
    this.quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
    for (const step of options.script ?? []) {
      if ("dtmf" in step) checkDigits(step.dtmf);
      if ("hangupAfter" in step) this.hangupAtMs = Math.min(this.hangupAtMs, step.hangupAfter * 1000);
      else if (step.at !== undefined) this.timed.push({ atMs: step.at * 1000, step });
      else this.untimed.push(step);
    }
    this.timed.sort((a, b) => a.atMs - b.atMs);
    this.frame = new Int16Array(this.frameSamples);
    this.message = new Uint8Array(3 + this.frameSamples * 2);
    this.listener = new CallListener(0, null);
    this.parser = new AudioSocketParser(this.onMessage);
  }

  /** Dials, runs the script, and settles when the call is over (it never rejects). */
  async run(): Promise<CallResult> {
    const { host, port } = this.options;
    const done = new Promise<CallResult>((resolve) => (this.finish = resolve));
    this.callStartMs = performance.now();
    try {
      this.socket = await Bun.connect({
        hostname: host,
        port,
        socket: {
          binaryType: "uint8array",
          data: (_socket, chunk) => this.onData(chunk),
          drain: () => this.flushPending(),
          close: (_socket, err) => (err ? this.end("error", `connection lost: ${err.message}`) : this.end("server", null)),
          error: (_socket, err) => this.end("error", `socket error: ${err.message}`),
        },
      });
    } catch (err) {
      return this.notConnected(err);
    }
    // A server that closes at once (allow-list, shutdown) has already ended the call.
    if (this.ended) return done;
    this.socket.setNoDelay(true);
    this.callStartMs = performance.now();
    this.armedMs = this.callStartMs;
    this.listener = new CallListener(this.callStartMs, this.options.record ? this.rate : null);
    this.write(encodeMessage(Kind.Uuid, this.uuidBytes));
    // Asterisk's first audio follows the UUID at once, often in the same read.
    this.sendFrame();
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

  /** Per 20 ms of this call: one frame out, the script, the PBX's timeouts. */
  onTick(): void {
    if (this.ended) return;
    const nowMs = performance.now();
    this.sendFrame();
    this.runScript(nowMs);
    const elapsed = nowMs - this.callStartMs;
    const idleLimit = this.options.idleTimeoutMs ?? PBX_IDLE_TIMEOUT_MS;
    if (elapsed >= this.hangupAtMs) this.end("caller", null);
    else if (this.options.greetingTimeoutMs !== undefined && this.listener.greetingDelayMs === null && elapsed >= this.options.greetingTimeoutMs) {
      this.end("error", `no greeting within ${this.options.greetingTimeoutMs} ms of the UUID`);
    } else if (idleLimit > 0 && nowMs - this.listener.lastFrameAtMs >= idleLimit) {
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
    this.write(encodeMessage(Kind.Dtmf, new Uint8Array([digit.charCodeAt(0)])));
    this.digitsSent += digit;
    this.actions.push({ atMs: nowMs - this.callStartMs, dtmf: digit });
    this.nextDigitMs = nowMs + DIGIT_GAP_MS;
    this.armedMs = nowMs;
  }

  /** One 20 ms frame: the next slice of caller audio, or shared silence. Allocates nothing. */
  private sendFrame(): void {
    if (this.pendingWrite !== null) {
      this.framesSkipped++;
      return;
    }
    const audio = this.playing;
    if (audio === null) {
      this.write(silenceMessage(this.kind, this.frameSamples));
      return;
    }
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
    const nowMs = performance.now();
    this.turns.callerFrame(sum > LOUD_SQUARED * frame.length, nowMs);
    if (this.playPos >= audio.length) {
      this.playing = null;
      // The next step answers what the bot says after this, not while this was being said.
      this.armedMs = nowMs;
      this.turns.callerEnds(nowMs);
    }
    this.write(this.message, writeAudioMessage(this.message, this.kind, frame));
  }

  private write(bytes: Uint8Array, length = bytes.length): void {
    const socket = this.socket;
    if (socket === null || this.ended) return;
    const written = socket.write(bytes, 0, length);
    // Rare (loopback, small frames): keep the tail, skip frames until the socket drains.
    if (written >= 0 && written < length) this.pendingWrite = bytes.slice(written, length);
  }

  private flushPending(): void {
    const pending = this.pendingWrite;
    if (pending === null || this.socket === null || this.ended) return;
    const written = this.socket.write(pending);
    this.pendingWrite = written >= 0 && written < pending.length ? pending.slice(written) : null;
  }

  private onData(chunk: Uint8Array): void {
    if (this.ended) return;
    this.arrivalMs = performance.now();
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.end("error", `protocol error from the server: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private readonly onMessage = (kind: number, payload: Uint8Array): void => {
    if (this.ended) return;
    if (isAudioKind(kind)) {
      const rate = rateForKind(kind) as number;
      this.listener.onAudio(payload, rate, this.arrivalMs);
      const heard = this.listener;
      this.turns.botFrame(heard.lastSpeechAtMs === this.arrivalMs, heard.lastSoundAtMs === this.arrivalMs, this.arrivalMs, (payload.length * 500) / rate);
    } else if (kind === Kind.Hangup) {
      this.serverSentHangup = true;
      this.end("server", null);
    } else {
      this.end("error", `server sent kind ${hexByte(kind)}: only audio (0x10-0x18) and hang-up (0x00) may go to the PBX, which hangs up on anything else`);
    }
  };

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
    // A plain close, as Asterisk does for a caller hang-up and after the server's 0x00.
    this.socket?.end();
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
      framesSkipped: this.framesSkipped,
      responseMs: this.turns.responseMs,
      bargeInStopMs: this.turns.bargeInStopMs,
    };
  }

  private notConnected(err: unknown): CallResult {
    const code = (err as { code?: unknown }).code;
    const why = code === "ECONNREFUSED" ? "connection refused (is voicebot serve listening there?)" : err instanceof Error ? err.message : String(err);
    this.ended = true;
    return {
      uuid: this.uuid,
      connected: false,
      ...this.listener.finish(),
      hungUpBy: "error",
      serverSentHangup: false,
      error: `cannot connect to ${this.options.host}:${this.options.port}: ${why}`,
      durationMs: 0,
      digitsSent: "",
      actions: [],
      framesSkipped: 0,
      responseMs: [],
      bargeInStopMs: [],
    };
  }
}

/** A clock for simulated calls: the server's PlayoutClock, a faulty call ending on its own. */
export function simulatedPbxClock(): PlayoutClock<SimulatedCaller> {
  return new PlayoutClock<SimulatedCaller>((caller, err) => caller.fail(err));
}
