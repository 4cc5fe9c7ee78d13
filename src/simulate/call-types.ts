/**
 * What a simulated call is given and what it reports (SimulatedCaller in caller.ts runs it): the
 * caller's script, the link to dial, and the figures the bench and `simulate` print.
 */
import type { PlayoutClock } from "../media/playout-clock.ts";
import type { AspTarget } from "./asp-wire.ts";
import type { AudioSocketTarget } from "./audiosocket-wire.ts";
import type { AudiostreamFigures, AudiostreamTarget } from "./audiostream-wire.ts";
import type { BrowserTarget } from "./browser-wire.ts";
import type { SimulatedCaller } from "./caller.ts";
import type { ChanWebsocketFigures, ChanWebsocketTarget } from "./chan-websocket-wire.ts";
import type { HeardSummary } from "./listener.ts";

/**
 * `at` is seconds from the call start; without it a step runs when the bot next goes quiet
 * after speaking (untimed steps run one after another, in order).
 */
export type ScriptStep =
  | { dtmf: string; at?: number }
  /** `overBotAfterMs`: instead of waiting for quiet, speak once the bot has talked this long (barge-in). */
  | { say: Int16Array; at?: number; overBotAfterMs?: number }
  | { hangupAfter: number };

export interface CallSettings {
  /** 8000 for AudioSocket (kind 0x10) and 16000 for mod_audio_stream unless given; always 16000 for the browser. */
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
  /** The PBX's no-audio hang-up (Asterisk: 2 s); 0 turns the check off. */
  idleTimeoutMs?: number;
  /** Aborting hangs up from the caller's side. */
  signal?: AbortSignal;
  /** Digits as keypad tones in the caller's audio (in-band DTMF) instead of the wire's own DTMF. */
  inbandDigits?: boolean;
}

/** Asterisk over AudioSocket at host:port or chan_websocket, FreeSWITCH mod_audio_stream, the console's test call, or the ASP media server. */
export type CallTarget = AudioSocketTarget | { audiostream: AudiostreamTarget } | { browser: BrowserTarget } | { asp: AspTarget } | { websocket: ChanWebsocketTarget };
export type CallOptions = CallSettings & CallTarget;
/** A call's options before the shared clock and stop signal are added (the bench's redial). */
export type CallSetup = Omit<CallSettings, "clock" | "signal"> & CallTarget;

export type CallerAction = { atMs: number; dtmf: string } | { atMs: number; sayMs: number };

export interface CallResult extends HeardSummary {
  uuid: string;
  connected: boolean;
  hungUpBy: "server" | "caller" | "error";
  /** The server hung up the PBX's way: AudioSocket 0x00; FreeSWITCH `uuid_kill` or a transfer. */
  serverSentHangup: boolean;
  error: string | null;
  durationMs: number;
  digitsSent: string;
  /** What the caller did and when (ms from the call start), for the timeline. */
  actions: CallerAction[];
  /** Frames not sent because the link was still busy with an earlier one. */
  framesSkipped: number;
  /** Caller speech end → first bot speech heard, per answered utterance. */
  responseMs: number[];
  /** The longest silence the caller did not cause (see TurnTimer.longestSilenceMs). */
  longestSilenceMs: number;
  /** Caller speech onset over the bot → the bot's speech stopped, per barge-in step. */
  bargeInStopMs: number[];
  /** Caller speech onset over the bot → the PBX told to stop playing (`uuid_break` received). */
  breakAfterOnsetMs: number[];
  /** The mod_audio_stream figures; null over AudioSocket. */
  audiostream: AudiostreamFigures | null;
  /** The chan_websocket figures (Asterisk's queue model); null over the other wires. */
  websocket: ChanWebsocketFigures | null;
}
