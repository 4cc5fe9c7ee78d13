/**
 * What FreeSWITCH says about a mod_audio_stream stream before its audio: the upgrade URL (tenant,
 * call, token, audio layout) and the metadata text the dialplan adds (caller, DNIS…). The module
 * itself sends no call UUID and no rate (PROTOCOLS.md §2.1), so the dialplan must put them there.
 */
import { callableNumber } from "./caller-id.ts";

export type MixType = "mono" | "stereo" | "mixed";

export const MIX_TYPES: readonly MixType[] = ["mono", "stereo", "mixed"];

/** Rates mod_audio_stream accepts (`% 8000`) that the rest of voicebot can run at. */
export const STREAM_RATES: readonly number[] = [8000, 16000, 24000, 32000, 48000];

export interface StreamRequest {
  /** From `/stream/{tenant}[/{call}]`; null = none given (the default tenant, or the metadata's). */
  tenantId: string | null;
  /** From `/stream/{tenant}/{call}`; null = none given (the metadata's, or a random id). */
  callId: string | null;
  token: string | null;
  /** `?rate=`; null = not given (the server's default). */
  rate: number | null;
  /** `?mix=`; null = not given (the server's default). */
  mix: MixType | null;
}

/** A request the server answers with HTTP 400; the message names the part, the value and what is allowed. */
export class StreamUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamUrlError";
  }
}

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * A tenant or call id as a path segment may carry it. Call ids end up in ESL commands and file
 * names, so spaces, slashes and `..` are refused.
 */
export function isStreamId(value: string): boolean {
  return ID_PATTERN.test(value) && value !== "." && value !== "..";
}

function quoted(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function decodeSegment(raw: string, what: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new StreamUrlError(`${what} ${quoted(raw)} in the path is not valid percent-encoding`);
  }
  if (!isStreamId(value)) {
    throw new StreamUrlError(`${what} ${quoted(value)} in the path is not allowed: use 1-128 of A-Z a-z 0-9 . _ - (not "." or "..")`);
  }
  return value;
}

function parseRate(raw: string | null): number | null {
  if (raw === null) return null;
  const rate = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!STREAM_RATES.includes(rate)) {
    throw new StreamUrlError(`rate ${quoted(raw)} is not supported: use ${STREAM_RATES.join(", ")} (the rate given to uuid_audio_stream, in Hz)`);
  }
  return rate;
}

function parseMix(raw: string | null): MixType | null {
  if (raw === null) return null;
  const mix = MIX_TYPES.find((m) => m === raw);
  if (mix === undefined) throw new StreamUrlError(`mix ${quoted(raw)} is not supported: use ${MIX_TYPES.join(", ")} (the mix given to uuid_audio_stream)`);
  return mix;
}

/**
 * `/stream/{tenant}/{call}` (FusionPBX, seed 003) gives both ids; `/stream/{tenant}` the tenant
 * only; `/`, `/stream` and any other path neither (a single-company FreeSWITCH, seed 000).
 */
export function parseStreamUrl(url: URL): StreamRequest {
  const segments = url.pathname.split("/").filter((s) => s !== "");
  let tenantId: string | null = null;
  let callId: string | null = null;
  if (segments[0] === "stream" && segments.length <= 3) {
    if (segments[1] !== undefined) tenantId = decodeSegment(segments[1], "tenant");
    if (segments[2] !== undefined) callId = decodeSegment(segments[2], "call id");
  }
  const query = url.searchParams;
  return {
    tenantId,
    callId,
    token: query.get("token"),
    rate: parseRate(query.get("rate")),
    mix: parseMix(query.get("mix")),
  };
}

/** What the dialplan's metadata (the first text frame) says about the call; null = not said. */
export interface StreamMetadata {
  caller: string | null;
  dnis: string | null;
  tenant: string | null;
  callId: string | null;
}

export interface ParsedMetadata {
  fields: StreamMetadata;
  /** False when the text is not a JSON object (then every field is null). */
  json: boolean;
  /** One sentence per value that was present but unusable. */
  ignored: string[];
}

const NUMBER_MAX = 64;

/** The text as a JSON object, or null (not JSON, or an array or scalar). */
function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function pick(fields: Record<string, unknown>, keys: readonly string[]): string | null {
  for (const key of keys) {
    const value = fields[key];
    if (typeof value === "string" && value.trim() !== "") return value.trim();
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
  }
  return null;
}

/**
 * Metadata keys as dialplans commonly name them: ours (`caller`, `dnis`), FreeSWITCH channel
 * variables (`caller_id_number`, `destination_number`, `uuid`) and FusionPBX's (`domain_uuid`).
 */
export function parseMetadata(text: string): ParsedMetadata {
  const object = parseJsonObject(text);
  const fields: StreamMetadata = { caller: null, dnis: null, tenant: null, callId: null };
  const ignored: string[] = [];
  if (object === null) return { fields, json: false, ignored };
  const number = (keys: readonly string[], what: string): string | null => {
    const value = pick(object, keys);
    // Control characters would garble the logs, tickets and console this number shows up in.
    if (value !== null && (value.length > NUMBER_MAX || /[\u0000-\u001f\u007f]/.test(value))) {
      ignored.push(`${what} ${quoted(value)} ignored: over ${NUMBER_MAX} characters or holds control characters`);
      return null;
    }
    return value;
  };
  fields.caller = callableNumber(number(["caller", "callerNumber", "caller_id_number", "ani"], "caller"));
  fields.dnis = number(["dnis", "destination_number", "called"], "dnis");
  fields.tenant = pick(object, ["tenant", "domain_uuid", "domain_name", "domain"]);
  const callId = pick(object, ["uuid", "call_uuid", "Unique-ID"]);
  if (callId !== null && !isStreamId(callId)) {
    ignored.push(`call id ${quoted(callId)} ignored: use 1-128 of A-Z a-z 0-9 . _ -`);
  } else {
    fields.callId = callId;
  }
  return { fields, json: true, ignored };
}

/**
 * A later text frame from FreeSWITCH: `{"type":"dtmf","digit":"5"}` (a dialplan forwarding DTMF
 * with send_text) gives the digit, upper-cased; anything else null.
 */
export function parseDtmfMessage(text: string): string | null {
  const object = parseJsonObject(text);
  const digit = object?.type === "dtmf" ? object.digit : undefined;
  return typeof digit === "string" && /^[0-9*#A-Da-d]$/.test(digit) ? digit.toUpperCase() : null;
}

/** A client's text in a log line: the first 80 characters. */
export const excerpt = (text: string): string => (text.length > 80 ? `${text.slice(0, 80)}…` : text);
export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
