/**
 * Asterisk chan_websocket control messages (PROTOCOLS.md §6, fixtures/chan_websocket): the events
 * Asterisk sends as TEXT, in either of its two formats — plain `NAME key:value …` words or compact
 * JSON with `"event"` — and the commands we send back in the call's own format (a JSON call
 * refuses plain commands and a plain call JSON ones, fixtures s7a/s7b). Pure functions, no I/O.
 */

/** An audio format chan_websocket can carry that voicebot can speak. */
export interface WsFormat {
  readonly name: string;
  readonly sampleRate: number;
  /** slin*: s16le; ulaw: G.711 μ-law bytes. */
  readonly encoding: "slin" | "ulaw";
  readonly bytesPerSample: 1 | 2;
}

const FORMATS: ReadonlyMap<string, WsFormat> = new Map<string, WsFormat>([
  ["slin", { name: "slin", sampleRate: 8000, encoding: "slin", bytesPerSample: 2 }],
  ["slin16", { name: "slin16", sampleRate: 16000, encoding: "slin", bytesPerSample: 2 }],
  ["slin24", { name: "slin24", sampleRate: 24000, encoding: "slin", bytesPerSample: 2 }],
  ["slin32", { name: "slin32", sampleRate: 32000, encoding: "slin", bytesPerSample: 2 }],
  ["slin48", { name: "slin48", sampleRate: 48000, encoding: "slin", bytesPerSample: 2 }],
  ["ulaw", { name: "ulaw", sampleRate: 8000, encoding: "ulaw", bytesPerSample: 1 }],
]);

export const SUPPORTED_FORMATS: readonly string[] = [...FORMATS.keys()];

/** Asterisk refuses a message over this (close 1009, the call ends: fixture s7a). */
export const MAX_MESSAGE_BYTES = 65_535;
/** Asterisk ignores longer TEXT commands (fixture s7a): our mark ids stay far below. */
export const MAX_COMMAND_CHARS = 128;

export interface MediaStart {
  /** The call's control format: JSON when MEDIA_START was JSON (dial option `f(json)`). */
  json: boolean;
  /** websocket_client.conf section (the same for every call), or the INCOMING connection's UUID. */
  connectionId: string;
  channel: string;
  /** The WebSocket channel's uniqueid: the call's identity. */
  channelId: string;
  format: WsFormat;
  /** Bytes Asterisk cuts each message into; a remainder is dropped. */
  optimalFrameSize: number;
  ptime: number;
  /** JSON only: the WebSocket channel's variables (inherited `__VAR`s of the dialplan included). */
  variables: Readonly<Record<string, string>>;
}

export type AsteriskEvent =
  | { kind: "media-start"; start: MediaStart }
  | { kind: "dtmf"; digit: string }
  | { kind: "xoff" }
  | { kind: "xon" }
  | { kind: "queue-drained" }
  | { kind: "mark"; id: string }
  | { kind: "buffering-completed"; id: string }
  | { kind: "status"; queueLength: number; queueFull: boolean; bulkMedia: boolean; paused: boolean }
  | { kind: "error"; text: string }
  | { kind: "unknown"; name: string };

export type Command =
  | "ANSWER" | "HANGUP" | "FLUSH_MEDIA" | "GET_STATUS" | "REPORT_QUEUE_DRAINED" | "PAUSE_MEDIA" | "CONTINUE_MEDIA"
  | "START_MEDIA_BUFFERING" | "STOP_MEDIA_BUFFERING" | "MARK_MEDIA";

/** A TEXT message that breaks the protocol; the message says what and where. */
export class ChanWebsocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChanWebsocketError";
  }
}

const DIGIT = /^[0-9*#A-D]$/;

/** A peer's text in an error message: the first 80 characters, quoted. */
export function excerpt(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** `NAME key:value key:value …`; a word without a colon continues the previous value (`error_text:` has spaces). */
function parsePlain(text: string): { name: string; fields: Record<string, string> } {
  const words = text.split(" ");
  const name = words[0] ?? "";
  const fields: Record<string, string> = {};
  let last: string | null = null;
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    const colon = word.indexOf(":");
    if (colon > 0) {
      last = word.slice(0, colon);
      fields[last] = word.slice(colon + 1);
    } else if (last !== null) fields[last] += ` ${word}`;
  }
  return { name, fields };
}

function parseJson(text: string): { name: string; fields: Record<string, unknown> } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ChanWebsocketError(`TEXT message ${excerpt(text)} starts with "{" but is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ChanWebsocketError(`TEXT message ${excerpt(text)} is not a JSON object`);
  }
  const fields = value as Record<string, unknown>;
  if (typeof fields.event !== "string") throw new ChanWebsocketError(`JSON message ${excerpt(text)} has no "event" string`);
  return { name: fields.event, fields };
}

function text(fields: Record<string, unknown>, key: string, event: string): string {
  const value = fields[key];
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new ChanWebsocketError(`${event} has no ${key}`);
}

function flag(fields: Record<string, unknown>, key: string): boolean {
  return fields[key] === true || fields[key] === "true";
}

function variables(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return out;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    // `__VAR` set for inheritance may arrive with or without its underscores.
    if (typeof value === "string") out[key.replace(/^_+/, "")] = value;
  }
  return out;
}

function mediaStart(fields: Record<string, unknown>, json: boolean): MediaStart {
  const event = "MEDIA_START";
  const formatName = text(fields, "format", event);
  const format = FORMATS.get(formatName);
  if (format === undefined) {
    throw new ChanWebsocketError(`MEDIA_START format ${excerpt(formatName)} is not supported: dial with c(${SUPPORTED_FORMATS.join("), c(")})`);
  }
  const size = Number(text(fields, "optimal_frame_size", event));
  if (!Number.isInteger(size) || size < format.bytesPerSample || size > MAX_MESSAGE_BYTES || size % format.bytesPerSample !== 0) {
    throw new ChanWebsocketError(`MEDIA_START optimal_frame_size ${excerpt(String(fields.optimal_frame_size))} is not a whole number of ${format.name} samples up to ${MAX_MESSAGE_BYTES} bytes (passthrough p() is not supported)`);
  }
  const ptime = fields.ptime === undefined ? 20 : Number(fields.ptime);
  return {
    json,
    connectionId: text(fields, "connection_id", event),
    channel: typeof fields.channel === "string" ? fields.channel : "",
    channelId: text(fields, "channel_id", event),
    format,
    optimalFrameSize: size,
    ptime: Number.isFinite(ptime) && ptime > 0 ? ptime : 20,
    variables: json ? variables(fields.channel_variables) : {},
  };
}

/** One TEXT message from Asterisk. Throws ChanWebsocketError when a known event is malformed. */
export function parseEvent(message: string): AsteriskEvent {
  const json = message.startsWith("{");
  const { name, fields } = json ? parseJson(message) : parsePlain(message.trimEnd());
  switch (name) {
    case "MEDIA_START":
      return { kind: "media-start", start: mediaStart(fields, json) };
    case "DTMF_END": {
      const digit = text(fields, "digit", name).toUpperCase();
      if (!DIGIT.test(digit)) throw new ChanWebsocketError(`DTMF_END digit ${excerpt(digit)} is not a keypad digit (0-9 * # A-D)`);
      return { kind: "dtmf", digit };
    }
    case "MEDIA_XOFF":
      return { kind: "xoff" };
    case "MEDIA_XON":
      return { kind: "xon" };
    case "QUEUE_DRAINED":
      return { kind: "queue-drained" };
    case "MEDIA_MARK_PROCESSED":
    case "MEDIA_BUFFERING_COMPLETED": {
      // Plain: the id is the one word after the name; JSON: correlation_id.
      const id = json ? String(fields.correlation_id ?? "") : message.slice(name.length + 1).trim();
      return { kind: name === "MEDIA_MARK_PROCESSED" ? "mark" : "buffering-completed", id };
    }
    case "STATUS":
      return {
        kind: "status",
        queueLength: Number(fields.queue_length ?? 0),
        queueFull: flag(fields, "queue_full"),
        bulkMedia: flag(fields, "bulk_media"),
        paused: flag(fields, "media_paused"),
      };
    case "ERROR":
      return { kind: "error", text: String(fields.error_text ?? "").trimEnd() };
    default:
      return { kind: "unknown", name: name.slice(0, 40) };
  }
}

/** A command in the call's format; `id` is MARK_MEDIA's and STOP_MEDIA_BUFFERING's correlation id. */
export function encodeCommand(json: boolean, command: Command, id?: string): string {
  if (id !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new RangeError(`correlation id ${excerpt(id)}: use 1-64 of A-Z a-z 0-9 . _ -`);
  if (json) return id === undefined ? `{"command":"${command}"}` : `{"command":"${command}","correlation_id":"${id}"}`;
  return id === undefined ? command : `${command} ${id}`;
}

/** MEDIA_START as Asterisk 23.5 writes it (the simulated PBX and tests). */
export function encodeMediaStart(start: Omit<MediaStart, "format"> & { format: string }): string {
  if (!start.json) {
    return `MEDIA_START connection_id:${start.connectionId} channel:${start.channel} channel_id:${start.channelId} format:${start.format} optimal_frame_size:${start.optimalFrameSize} ptime:${start.ptime}`;
  }
  return JSON.stringify({
    event: "MEDIA_START", connection_id: start.connectionId, channel: start.channel, channel_id: start.channelId,
    format: start.format, optimal_frame_size: start.optimalFrameSize, ptime: start.ptime, channel_variables: start.variables,
  });
}

/** An event Asterisk sends (the simulated PBX): DTMF_END, MEDIA_XOFF/XON, QUEUE_DRAINED, MEDIA_MARK_PROCESSED. */
export function encodeEvent(json: boolean, channelId: string, event: "DTMF_END" | "MEDIA_XOFF" | "MEDIA_XON" | "QUEUE_DRAINED" | "MEDIA_MARK_PROCESSED", value = ""): string {
  switch (event) {
    case "DTMF_END":
      return json ? JSON.stringify({ event, channel_id: channelId, digit: value }) : `DTMF_END digit:${value} channel_id:${channelId}`;
    case "MEDIA_MARK_PROCESSED":
      return json ? JSON.stringify({ event, channel_id: channelId, correlation_id: value }) : `${event}${value === "" ? "" : ` ${value}`}`;
    default:
      return json ? JSON.stringify({ event, channel_id: channelId }) : event;
  }
}

/** What Asterisk does with a TEXT command (the simulated PBX): the command and its id, or null when unknown. */
export function parseCommand(message: string, json: boolean): { command: Command; id: string } | null {
  let name: string;
  let id = "";
  if (json) {
    try {
      const value = JSON.parse(message) as { command?: unknown; correlation_id?: unknown };
      name = typeof value.command === "string" ? value.command : "";
      id = typeof value.correlation_id === "string" ? value.correlation_id : "";
    } catch {
      return null;
    }
  } else {
    const space = message.indexOf(" ");
    name = space < 0 ? message : message.slice(0, space);
    id = space < 0 ? "" : message.slice(space + 1);
  }
  const known: readonly string[] = ["ANSWER", "HANGUP", "FLUSH_MEDIA", "GET_STATUS", "REPORT_QUEUE_DRAINED", "PAUSE_MEDIA", "CONTINUE_MEDIA", "START_MEDIA_BUFFERING", "STOP_MEDIA_BUFFERING", "MARK_MEDIA"];
  return known.includes(name) ? { command: name as Command, id } : null;
}
