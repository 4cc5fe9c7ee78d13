/** GET /api/calls (the history: filters, text search, keyset pages) and GET /api/calls/{id|uuid}. */
import { existsSync, statSync } from "node:fs";
import type { CallCursor, CallDetail, CallSummary, StoreReader } from "../store/store.ts";
import { TICKET_STATUSES } from "../store/store.ts";
import { buildWaterfall } from "../store/turn-exchanges.ts";
import { heldElsewhere, type FleetSelf } from "./fleet-relay.ts";
import { BadQuery, json, oneOf, pageLimit, problem, textParam, timeParam } from "./api-params.ts";

export interface RecordingInfo {
  /** "mp3": converted; "raw": the caller/bot pair, served as a stereo WAV; null: none on disk. */
  format: "mp3" | "raw" | null;
  bytes: number | null;
  url: string | null;
  download: string | null;
}

export async function listCalls(reader: StoreReader, url: URL): Promise<Response> {
  const limit = pageLimit(url);
  const page = await reader.pageCalls({
    from: timeParam(url, "from"),
    to: timeParam(url, "to"),
    tenant: textParam(url, "tenant"),
    caller: textParam(url, "caller"),
    endReason: textParam(url, "reason"),
    ticketStatus: oneOf(url, "ticket", TICKET_STATUSES),
    text: textParam(url, "q"),
  }, limit, cursorParam(url));
  return json({
    calls: page.calls.map(({ recordings: _files, ...call }) => call),
    next: page.next === null ? null : encodeCursor(page.next),
  });
}

export async function showCall(reader: StoreReader, idOrUuid: string, self?: FleetSelf): Promise<Response> {
  const call = await reader.getCall(idOrUuid);
  if (call === null) return problem(404, `no call ${JSON.stringify(idOrUuid.slice(0, 64))} in the store`);
  return json(callView(call, self));
}

function callView(call: CallDetail, self: FleetSelf | undefined): Record<string, unknown> {
  const { recordings: _files, ...rest } = call;
  return {
    ...rest,
    dtmf: call.events.filter((e) => e.kind === "dtmf").map((e) => ({ digit: e.detail, at: e.at })),
    recording: self !== undefined && heldElsewhere(call, self) ? remoteRecordingInfo(call) : recordingInfo(call),
    waterfall: buildWaterfall(call.turns),
  };
}

/** What the player can have: the MP3 when it exists, else the raw pair when both halves do. */
export function recordingInfo(call: CallSummary): RecordingInfo {
  const base = `/api/calls/${call.id}/recording`;
  const mp3 = call.recordings.find((r) => r.channel === "stereo" && existsSync(r.path));
  if (mp3) return { format: "mp3", bytes: statSync(mp3.path).size, url: base, download: `${base}?download=1` };
  const pair = rawPair(call);
  if (pair) return { format: "raw", bytes: null, url: base, download: `${base}?download=1` };
  return { format: null, bytes: null, url: null, download: null };
}

/** Another appliance's files, as its rows list them (that appliance serves them; this one relays). */
function remoteRecordingInfo(call: CallSummary): RecordingInfo {
  const base = `/api/calls/${call.id}/recording`;
  const has = (channel: string): boolean => call.recordings.some((r) => r.channel === channel);
  const format = has("stereo") ? "mp3" : has("caller") && has("bot") ? "raw" : null;
  return format === null ? { format, bytes: null, url: null, download: null } : { format, bytes: null, url: base, download: `${base}?download=1` };
}

/** The first caller and bot files at the same rate, both on disk. */
export function rawPair(call: CallSummary): { caller: string; bot: string; sampleRate: number } | null {
  const caller = call.recordings.find((r) => r.channel === "caller" && existsSync(r.path));
  const bot = call.recordings.find((r) => r.channel === "bot" && r.sampleRate === caller?.sampleRate && existsSync(r.path));
  return caller && bot ? { caller: caller.path, bot: bot.path, sampleRate: caller.sampleRate } : null;
}

function encodeCursor(c: CallCursor): string {
  return `${c.startedAt}.${c.id}`;
}

function cursorParam(url: URL): CallCursor | null {
  const raw = url.searchParams.get("cursor");
  if (raw === null || raw === "") return null;
  const m = /^(\d+)\.(\d+)$/.exec(raw);
  if (!m) throw new BadQuery(`cursor ${JSON.stringify(raw.slice(0, 40))} is not one this API gave (the "next" of a page)`);
  return { startedAt: Number(m[1]), id: Number(m[2]) };
}
