/**
 * The chan_websocket figures of a bench run (--websocket): what the simulated Asterisk's queue saw
 * over all calls, and how fast FLUSH_MEDIA silenced the bot.
 */
import type { CallResult } from "../simulate/call-types.ts";
import { concatSamples, roundMs, summarize } from "../simulate/stats.ts";

export interface WebsocketTally {
  maxFrames: number;
  holes: number;
  remainderBytes: number;
  framesDropped: number;
  xoffs: number;
  flushes: number;
  audioSoonAfterFlush: number;
  /** FLUSH_MEDIA received → the next tick (nothing queued before it plays), per flush. */
  stopAfterFlushMs: number[][];
  /** Caller speech onset → FLUSH_MEDIA received, per barge-in. */
  flushAfterOnsetMs: number[][];
  /** Calls hung up with the goodbye still queued. */
  cutGoodbyes: number;
}

export function newWebsocketTally(): WebsocketTally {
  return { maxFrames: 0, holes: 0, remainderBytes: 0, framesDropped: 0, xoffs: 0, flushes: 0, audioSoonAfterFlush: 0, stopAfterFlushMs: [], flushAfterOnsetMs: [], cutGoodbyes: 0 };
}

export function recordWebsocket(t: WebsocketTally, r: CallResult): void {
  const w = r.websocket;
  if (w === null) return;
  t.maxFrames = Math.max(t.maxFrames, w.maxFrames);
  t.holes += w.holes;
  t.remainderBytes += w.remainderBytes;
  t.framesDropped += w.framesDropped;
  t.xoffs += w.xoffs;
  t.flushes += w.flushes;
  t.audioSoonAfterFlush += w.audioSoonAfterFlush;
  t.stopAfterFlushMs.push(w.stopAfterFlushMs);
  t.flushAfterOnsetMs.push(r.breakAfterOnsetMs);
  if (w.queuedAtHangupMs > 0) t.cutGoodbyes++;
}

export function websocketFigures(t: WebsocketTally) {
  const stop = summarize(concatSamples(t.stopAfterFlushMs));
  const onset = summarize(concatSamples(t.flushAfterOnsetMs));
  const r = (s: typeof stop) => ({ count: s.count, p50: roundMs(s.p50), p99: roundMs(s.p99), max: roundMs(s.max) });
  return {
    maxQueueMs: t.maxFrames * 20, holes: t.holes, remainderBytes: t.remainderBytes, framesDropped: t.framesDropped, xoffs: t.xoffs,
    flushes: t.flushes, audioSoonAfterFlush: t.audioSoonAfterFlush, stopAfterFlushMs: r(stop), flushAfterOnsetMs: r(onset), cutGoodbyes: t.cutGoodbyes,
  };
}

export function formatWebsocket(f: ReturnType<typeof websocketFigures>): string[] {
  const ms = (v: number | null): string => (v !== null && Number.isFinite(v) ? `${v} ms` : "-");
  const lines = [
    "transport        Asterisk chan_websocket, through a model of Asterisk's queue (whole frames, one per 20 ms)",
    `Asterisk queue   at most ${ms(f.maxQueueMs)} of the bot's audio queued; ${f.holes} holes; ${f.remainderBytes} remainder bytes dropped; ${f.framesDropped} frames dropped (${f.xoffs} MEDIA_XOFF); ${f.cutGoodbyes} goodbyes cut by HANGUP`,
  ];
  if (f.flushes > 0) {
    lines.push(
      `FLUSH_MEDIA      ${f.flushes} sent; audio stopped p50 ${ms(f.stopAfterFlushMs.p50)}, p99 ${ms(f.stopAfterFlushMs.p99)}, max ${ms(f.stopAfterFlushMs.max)} after it (${f.stopAfterFlushMs.count} that found audio playing); ${f.audioSoonAfterFlush} followed by new bot audio within 100 ms`,
      `                 sent p50 ${ms(f.flushAfterOnsetMs.p50)}, p99 ${ms(f.flushAfterOnsetMs.p99)} after the caller's speech onset (includes BARGE_IN_MIN_SPEECH)`,
    );
  }
  return lines;
}
