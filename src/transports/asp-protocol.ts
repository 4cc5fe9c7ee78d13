/**
 * ASP (Audio Session Protocol), the WebSocket protocol between the PABX Docker project's media
 * server (the client) and its AI agent (the server, which voicebot plays): README "ASP". One
 * connection carries many calls, each a session named by `session_id`. Text messages are JSON
 * control messages; binary messages are audio with the 12-byte header of the client's own code
 * (`shared/ws/protocol.py`), not the spec's draft header:
 *
 *   [0] magic 0x01  [1] direction 0x00 in / 0x01 out  [2..9] md5(session_id)[0..8]  [10..11] 0
 *
 * This file parses what the client sends and builds what we answer; it holds no state.
 */
import { createHash } from "node:crypto";

export const AUDIO_MAGIC = 0x01;
export const DIRECTION_INBOUND = 0x00;
export const DIRECTION_OUTBOUND = 0x01;
export const AUDIO_HEADER_BYTES = 12;
/** A control message is at most a few kB (session.start with metadata); anything longer is not one. */
export const MAX_TEXT_CHARS = 16 * 1024;
/** The client sends 100 ms chunks; one second at 48 kHz is far beyond any of them. */
export const MAX_AUDIO_BYTES = 48000 * 2;
/** Bun drops (close 1009) messages beyond this before they reach us; below it our own checks name the fault. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

/** Error codes of the spec (shared/asp_protocol/errors.py). */
export const ERR = {
  invalidMessageFormat: 1001,
  invalidMessageType: 1003,
  sessionAlreadyActive: 1005,
  unsupportedSampleRate: 2001,
  unsupportedEncoding: 2002,
  audioProcessing: 2004,
  invalidVadParameter: 3001,
  sessionNotFound: 4001,
  sessionUpdateNotAllowed: 4004,
} as const;

export type ErrorCategory = "protocol" | "audio" | "vad" | "session";

export interface ProtocolError {
  code: number;
  category: ErrorCategory;
  message: string;
  details?: Record<string, unknown>;
  recoverable: boolean;
}

export function categoryOf(code: number): ErrorCategory {
  if (code >= 4000) return "session";
  if (code >= 3000) return "vad";
  if (code >= 2000) return "audio";
  return "protocol";
}

export function protocolError(code: number, message: string, details?: Record<string, unknown>, recoverable = true): ProtocolError {
  return { code, category: categoryOf(code), message, ...(details ? { details } : {}), recoverable };
}

/** What the client asked for in session.start, as sent (negotiation checks it). */
export interface SessionStart {
  sessionId: string;
  callId: string | null;
  /** `audio` (ASP) or `audio_config` (the legacy protocol), unchecked. */
  audio: Record<string, unknown> | null;
  vad: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  /** The pre-ASP shape: `audio_config` and no `audio`; the answer is then the legacy session.started. */
  legacy: boolean;
}

export type ClientMessage =
  | { type: "session.start"; start: SessionStart }
  | { type: "session.update"; sessionId: string; vad: Record<string, unknown> | null; audio: Record<string, unknown> | null }
  | { type: "session.end"; sessionId: string; reason: string | null }
  | { type: "audio.speech_start"; sessionId: string }
  /** `audio.speech_end` (ASP) or `audio.end` (what the media server's VAD really sends). */
  | { type: "audio.speech_end"; sessionId: string }
  | { type: "unknown"; sessionId: string | null; messageType: string }
  | { type: "fault"; detail: string; sessionId: string | null };

/** A short, printable excerpt of what the client sent, for the log line. */
export function excerpt(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

const SESSION_ID = /^[\x21-\x7e]{1,128}$/;

function object(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** One text message from the client. */
export function parseClientText(text: string): ClientMessage {
  if (text.length > MAX_TEXT_CHARS) return { type: "fault", detail: `text message of ${text.length} characters (at most ${MAX_TEXT_CHARS})`, sessionId: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: "fault", detail: `text message is not JSON: ${excerpt(text)}`, sessionId: null };
  }
  const message = object(value);
  if (message === null) return { type: "fault", detail: `text message is not a JSON object: ${excerpt(text)}`, sessionId: null };
  const type = message.type;
  if (typeof type !== "string") return { type: "fault", detail: `message has no "type": ${excerpt(text)}`, sessionId: null };
  const rawId = message.session_id;
  const sessionId = typeof rawId === "string" && SESSION_ID.test(rawId) ? rawId : null;
  const known = ["session.start", "session.update", "session.end", "audio.speech_start", "audio.speech_end", "audio.end"];
  if (!known.includes(type)) return { type: "unknown", sessionId, messageType: type.slice(0, 40) };
  if (sessionId === null) {
    const shown = rawId === undefined ? "missing" : excerpt(String(JSON.stringify(rawId)));
    return { type: "fault", detail: `${type} with a bad session_id (${shown}): 1 to 128 printable characters`, sessionId: null };
  }
  for (const key of ["audio", "audio_config", "vad", "metadata"]) {
    if (message[key] !== undefined && message[key] !== null && object(message[key]) === null) {
      return { type: "fault", detail: `${type} field "${key}" is not a JSON object`, sessionId };
    }
  }
  switch (type) {
    case "session.start": {
      const callId = typeof message.call_id === "string" ? message.call_id.slice(0, 256) : null;
      const audio = object(message.audio);
      const legacyAudio = object(message.audio_config);
      const legacy = audio === null && legacyAudio !== null;
      return {
        type,
        start: { sessionId, callId, audio: audio ?? legacyAudio, vad: object(message.vad), metadata: object(message.metadata), legacy },
      };
    }
    case "session.update":
      return { type, sessionId, vad: object(message.vad), audio: object(message.audio) };
    case "session.end":
      return { type, sessionId, reason: typeof message.reason === "string" ? message.reason.slice(0, 80) : null };
    case "audio.speech_start":
      return { type, sessionId };
    default:
      return { type: "audio.speech_end", sessionId };
  }
}

/** The 8 bytes that name a session in an audio header, as hex (the lookup key). */
export function sessionHash(sessionId: string): Uint8Array {
  return new Uint8Array(createHash("md5").update(sessionId).digest().subarray(0, 8));
}

/** The first 4 bytes of a session hash at `offset`, as a number: the lookup key (no allocation per frame). */
export function hashHead(bytes: Uint8Array, offset = 0): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/** Whether `bytes[offset, offset + 8)` is `hash`. */
export function sameHash(bytes: Uint8Array, offset: number, hash: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (bytes[offset + i] !== hash[i]) return false;
  return true;
}

/** A binary message's fault (magic, direction, length), or null when it is an inbound audio frame. */
export function audioFault(bytes: Uint8Array): string | null {
  if (bytes.length < AUDIO_HEADER_BYTES) return `binary message of ${bytes.length} bytes is shorter than the ${AUDIO_HEADER_BYTES}-byte audio header`;
  if (bytes[0] !== AUDIO_MAGIC) return `binary message starts with 0x${bytes[0]!.toString(16).padStart(2, "0")}, not the audio magic 0x01`;
  if (bytes[1] !== DIRECTION_INBOUND) return `audio frame with direction 0x${bytes[1]!.toString(16).padStart(2, "0")} (the media server sends 0x00, inbound)`;
  const payload = bytes.length - AUDIO_HEADER_BYTES;
  if (payload % 2 !== 0) return `audio frame of ${payload} bytes is not whole 16-bit samples`;
  if (payload > MAX_AUDIO_BYTES) return `audio frame of ${payload} bytes is over one second of 48 kHz audio`;
  return null;
}

/** Writes the outbound header for `hash` into the first 12 bytes of `into`. */
export function writeOutboundHeader(into: Uint8Array, hash: Uint8Array): void {
  into[0] = AUDIO_MAGIC;
  into[1] = DIRECTION_OUTBOUND;
  into.set(hash, 2);
  into[10] = 0;
  into[11] = 0;
}

function timestamp(): string {
  return new Date().toISOString();
}

export function protocolErrorMessage(error: ProtocolError, sessionId: string | null): string {
  return JSON.stringify({ type: "protocol.error", error, ...(sessionId !== null ? { session_id: sessionId } : {}), timestamp: timestamp() });
}

export function sessionStartedMessage(sessionId: string, status: string, negotiated: object | null, errors: ProtocolError[]): string {
  return JSON.stringify({
    type: "session.started", session_id: sessionId, status,
    ...(negotiated !== null ? { negotiated } : {}), ...(errors.length > 0 ? { errors } : {}), timestamp: timestamp(),
  });
}

export function sessionUpdatedMessage(sessionId: string, status: string, negotiated: object | null, errors: ProtocolError[]): string {
  return JSON.stringify({
    type: "session.updated", session_id: sessionId, status,
    ...(negotiated !== null ? { negotiated } : {}), ...(errors.length > 0 ? { errors } : {}), timestamp: timestamp(),
  });
}

export interface SessionStatistics {
  audio_frames_received: number;
  audio_frames_sent: number;
  vad_speech_events: number;
  barge_in_count: number;
  average_response_latency_ms: number;
}

export function sessionEndedMessage(sessionId: string, durationSeconds: number, statistics: SessionStatistics): string {
  return JSON.stringify({ type: "session.ended", session_id: sessionId, duration_seconds: durationSeconds, statistics, timestamp: timestamp() });
}

/**
 * response.start in the shape the media server acts on. Its client hands a message that parses as
 * ASP (which needs `response_id`) to a handler that drops response.start/end; only the legacy
 * shape (`text`, no `response_id`) reaches the code that pauses its capture and ends the greeting.
 */
export function responseStartMessage(sessionId: string): string {
  return JSON.stringify({ type: "response.start", session_id: sessionId, text: "" });
}

/** response.end, legacy shape like response.start; `interrupted` is the spec's and harmless there. */
export function responseEndMessage(sessionId: string, interrupted: boolean): string {
  return JSON.stringify({ type: "response.end", session_id: sessionId, interrupted });
}

/** The bot hangs up: the media server ends the SIP call once what it holds is played. */
export function hangupActionMessage(sessionId: string, reason: string | undefined): string {
  return JSON.stringify({ type: "call.action", session_id: sessionId, action: "hangup", ...(reason ? { reason } : {}), timestamp: timestamp() });
}
