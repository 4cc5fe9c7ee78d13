/**
 * The console's test call wire protocol (ours; README "Admin API"), over a WebSocket on the admin
 * port at GET /api/try-call:
 * - browser → server: binary PCM16LE mono at 16 kHz, whole samples, at most 1 s per message; text
 *   `{"type":"dtmf","digit":"5"}` (0-9 * # A-D) or `{"type":"hangup"}`.
 * - server → browser: text `{"type":"call","id":…,"sampleRate":16000,"frameSamples":320}` first,
 *   then one binary 20 ms frame per clock tick, `{"type":"flush"}` on barge-in, and on the bot's
 *   hang-up `{"type":"end","reason":…}` then close 1000.
 * Anything else closes that one socket with a code and reason from here.
 */
import { frameSamplesFor } from "../media/pcm.ts";
import { CALLER_ID_TEXT, callableNumber } from "./caller-id.ts";

export const TRY_CALL_PATH = "/api/try-call";
export const BROWSER_RATE = 16000;
export const BROWSER_FRAME_SAMPLES = frameSamplesFor(BROWSER_RATE);
/** One second of audio: the most one binary message may carry. */
export const MAX_AUDIO_BYTES = BROWSER_RATE * 2;
/** A control message is a few dozen bytes; anything longer is not one. */
export const MAX_TEXT_CHARS = 256;
/** Bun drops (close 1009) messages beyond this before they reach us; below it our own checks name the fault. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Why a socket is closed for bad input: the close frame's code and reason, and the log line's detail. */
export interface ProtocolFault {
  code: 1003 | 1007 | 1008 | 1009;
  reason: string;
  detail: string;
}

export type BrowserMessage = { type: "dtmf"; digit: string } | { type: "hangup" } | { type: "fault"; fault: ProtocolFault };

const DIGIT = /^[0-9*#A-D]$/;

function fault(code: ProtocolFault["code"], reason: string, detail: string): BrowserMessage {
  return { type: "fault", fault: { code, reason, detail } };
}

/** A short, printable excerpt of what the browser sent, for the log line. */
export function excerpt(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(cut);
}

/** One text message from the browser. */
export function parseBrowserText(text: string): BrowserMessage {
  if (text.length > MAX_TEXT_CHARS) return fault(1009, "message too large", `text message of ${text.length} characters (at most ${MAX_TEXT_CHARS})`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fault(1007, "bad JSON", `text message is not JSON: ${excerpt(text)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fault(1007, "bad JSON", `text message is not a JSON object: ${excerpt(text)}`);
  const message = value as Record<string, unknown>;
  if (message.type === "hangup") return { type: "hangup" };
  if (message.type === "dtmf") {
    const digit = message.digit;
    if (typeof digit === "string" && DIGIT.test(digit)) return { type: "dtmf", digit };
    return fault(1007, "bad digit", `dtmf digit ${JSON.stringify(digit)?.slice(0, 40) ?? "missing"} is not one of 0-9 * # A-D`);
  }
  return fault(1003, "unknown message type", `text message of unknown type ${JSON.stringify(message.type)?.slice(0, 40) ?? "missing"}: only dtmf and hangup`);
}

/** A binary message's fault, or null when it is whole 16-bit samples within 1 s. */
export function audioFault(bytes: number): ProtocolFault | null {
  if (bytes % 2 !== 0) return { code: 1007, reason: "odd byte length", detail: `binary message of ${bytes} bytes is not whole 16-bit samples` };
  if (bytes > MAX_AUDIO_BYTES) return { code: 1009, reason: "audio message too large", detail: `binary message of ${bytes} bytes is over 1 s of 16 kHz audio (${MAX_AUDIO_BYTES} bytes)` };
  return null;
}

export function callMessage(id: string): string {
  return JSON.stringify({ type: "call", id, sampleRate: BROWSER_RATE, frameSamples: BROWSER_FRAME_SAMPLES });
}

export const FLUSH_MESSAGE = `{"type":"flush"}`;

export function endMessage(reason: string): string {
  return JSON.stringify({ type: "end", reason });
}

/** The upgrade's query: `tenant=<id>` (checked on open) and `caller=<number>` (checked like the dialplan API's). */
export interface TryCallQuery {
  /** The tenant id asked for; null = the default tenant. */
  tenant: string | null;
  callerNumber: string | null;
  /** Why `caller=` was refused (the socket is then closed 1008 at once). */
  callerError: string | null;
}

export function parseTryCallQuery(url: URL): TryCallQuery {
  const tenant = url.searchParams.get("tenant")?.trim() || null;
  const caller = url.searchParams.get("caller")?.trim() ?? "";
  if (caller === "") return { tenant, callerNumber: null, callerError: null };
  if (!CALLER_ID_TEXT.test(caller)) {
    return { tenant, callerNumber: null, callerError: `caller ${JSON.stringify(caller.slice(0, 80))} is not allowed: 1 to 64 letters, digits, + * # @ . _ - or spaces` };
  }
  return { tenant, callerNumber: callableNumber(caller), callerError: null };
}
