/** The human report of one simulated call: a timeline of what happened, then the timing figures. */
import type { CallResult } from "../simulate/call-types.ts";
import { roundMs, summarize } from "../simulate/stats.ts";
import { hexByte, kindForRate } from "../transports/audiosocket-codec.ts";

export interface ReportContext {
  /** Where the call went: HOST:PORT or the stream URL. */
  target: string;
  rate: number;
  /** The --seconds the caller hangs up after. */
  hangupAfterS: number;
  /** The emulated mod_audio_stream build, or null over AudioSocket (and the browser). */
  playback: "stream" | "file" | null;
  /** The console's test call (--browser). */
  browser?: boolean;
  /** The PABX Docker media server over ASP (--asp). */
  asp?: boolean;
  /** Asterisk chan_websocket (--websocket). */
  websocket?: boolean;
}

const stamp = (ms: number): string => `+${(ms / 1000).toFixed(3)}s`;
const ms = (v: number | null): string => (v === null || !Number.isFinite(v) ? "-" : `${roundMs(v)} ms`);

/** How the call ended, as the PBX saw it. */
function ending(result: CallResult, hangupAfterS: number): string {
  if (result.hungUpBy === "caller") return `caller hung up (--seconds ${hangupAfterS})`;
  if (result.hungUpBy === "error") return `call failed: ${result.error}`;
  const stream = result.audiostream;
  if (result.websocket !== null) return result.serverSentHangup ? "server hung up (HANGUP)" : "server closed the connection without HANGUP";
  if (stream === null) return result.serverSentHangup ? "server hung up (00 00 00)" : "server closed the connection (without 00 00 00)";
  if (stream.endedBy === "uuid_kill") return "server hung up (uuid_kill)";
  if (stream.endedBy === "uuid_transfer") return `server transferred the call (uuid_transfer ${stream.transfer?.destination ?? ""})`;
  const closed = stream.serverClose === null ? "" : ` (close ${stream.serverClose.code}${stream.serverClose.reason ? ` "${stream.serverClose.reason}"` : ""})`;
  const how = stream.endedBy === "uuid_audio_stream stop" ? "stopped the stream (uuid_audio_stream stop)" : `closed the stream${closed}`;
  return `server ${how} without uuid_kill or uuid_transfer: FreeSWITCH keeps the call parked in silence`;
}

function timeline(result: CallResult, hangupAfterS: number, asp: boolean): string[] {
  const stream = result.audiostream;
  const first = stream ? "FreeSWITCH opened the stream and sent its metadata" : result.websocket ? "Asterisk connected and sent MEDIA_START" : asp ? "the media server's session.start was accepted" : "caller sent its UUID";
  const events: { atMs: number; text: string }[] = [{ atMs: 0, text: first }];
  for (const u of result.utterances) events.push({ atMs: u.startMs, text: `bot speaks ${(u.durationMs / 1000).toFixed(2)}s` });
  for (const a of result.actions) {
    events.push({ atMs: a.atMs, text: "dtmf" in a ? `caller presses ${a.dtmf}` : `caller speaks ${(a.sayMs / 1000).toFixed(2)}s` });
  }
  for (const at of stream?.breaksAtMs ?? []) events.push({ atMs: at, text: "voicebot stops the playback (uuid_break)" });
  if (stream?.transfer) events.push({ atMs: stream.transfer.atMs, text: `voicebot transfers the call (uuid_transfer ${stream.transfer.destination})` });
  events.push({ atMs: result.durationMs, text: ending(result, hangupAfterS) });
  events.sort((a, b) => a.atMs - b.atMs);
  return events.map((e) => `${stamp(e.atMs).padEnd(10)}${e.text}`);
}

function figures(result: CallResult): string[] {
  const stream = result.audiostream;
  const skipped = result.framesSkipped > 0 ? `, ${result.framesSkipped} not sent (socket busy)` : "";
  const lines = [`greeting delay  ${result.greetingDelayMs === null ? "none heard" : ms(result.greetingDelayMs)}`];
  if (stream === null) {
    const jitter = summarize(result.jitterMs);
    lines.push(
      `pacing lead     max ${ms(result.maxLeadMs)}, p99 ${ms(result.leadP99Ms)}`,
      `frame jitter    p50 ${ms(jitter.p50)}, p99 ${ms(jitter.p99)}`,
      `frames          ${result.frames} received${skipped}`,
    );
  } else if (stream.playback === "stream") {
    // FreeSWITCH plays on its own clock: the server's pacing is judged on the messages' arrival.
    const arrival = summarize(stream.arrivalJitterMs);
    lines.push(
      `streamAudio     ${stream.messages} messages; arrival jitter p50 ${ms(arrival.p50)}, p99 ${ms(arrival.p99)}`,
      `pacing lead     max ${ms(stream.maxLeadMs)}, p99 ${ms(stream.leadP99Ms)}`,
      `underruns       ${stream.underruns}`,
      `frames heard    ${result.frames} (one per 20 ms, silence included)${skipped}`,
    );
  } else {
    lines.push(
      `temp files      ${stream.filesWritten} written (${stream.messages} streamAudio), ${stream.filesPlayed} played by uuid_broadcast`,
      `frames heard    ${result.frames} (one per 20 ms, silence included)${skipped}`,
    );
  }
  if (result.responseMs.length > 0) lines.push(`bot answered    ${result.responseMs.map((v) => ms(v)).join(", ")} after the caller stopped speaking`);
  if (result.bargeInStopMs.length > 0) lines.push(`barge-in        bot silent ${result.bargeInStopMs.map((v) => ms(v)).join(", ")} after the caller started`);
  const ws = result.websocket;
  if (ws !== null) {
    lines.push(
      `Asterisk queue  at most ${ws.maxFrames} frames (${ws.maxFrames * 20} ms); ${ws.holes} holes; ${ws.remainderBytes} remainder bytes dropped; ${ws.framesDropped} frames dropped (${ws.xoffs} XOFF)`,
      `FLUSH_MEDIA     ${ws.flushes} sent; audio stopped ${ws.stopAfterFlushMs.map((v) => ms(v)).join(", ") || "-"} after it (${ws.audioSoonAfterFlush} followed by new bot audio within 100 ms); ${ms(ws.queuedAtHangupMs)} still queued at HANGUP`,
    );
  }
  if (result.breakAfterOnsetMs.length > 0 && ws === null) lines.push(`uuid_break      ${result.breakAfterOnsetMs.map((v) => ms(v)).join(", ")} after the caller started`);
  return lines;
}

export function formatTimeline(result: CallResult, c: ReportContext): string {
  const how = c.browser ? "the console's test call" : c.websocket ? "Asterisk chan_websocket, slin" : c.asp ? "ASP, as the PABX Docker media server" : c.playback === null ? `kind ${hexByte(kindForRate(c.rate) as number)}` : `mod_audio_stream, ${c.playback} playback`;
  const lines = [`call ${result.uuid} to ${c.target} at ${c.rate} Hz (${how})`];
  if (!result.connected) return [...lines, `call failed: ${result.error}`].join("\n");
  return [...lines, ...timeline(result, c.hangupAfterS, c.asp === true), "", ...figures(result)].join("\n");
}
