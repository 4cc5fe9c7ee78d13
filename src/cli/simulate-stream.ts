/**
 * The mod_audio_stream side of `simulate` and `bench`: their flags (--audiostream, --playback,
 * --esl-port, the stream rate) and the fake FreeSWITCH a simulated call's ESL traffic goes through.
 */
import { DEFAULT_TENANT_ID } from "../config/tenant.ts";
import { FakeFreeswitch } from "../simulate/fake-freeswitch.ts";
import type { Endpoint } from "../simulate/server-process.ts";
import { STREAM_RATES, isStreamId } from "../transports/audiostream-url.ts";
import { UsageError } from "./command.ts";

export type Playback = "stream" | "file";

/** What --audiostream named: a running voicebot's stream URL, or a path on the one the simulator starts. */
export interface StreamFlag {
  /** ws://HOST:PORT of a running voicebot; null = the server the simulator starts. */
  origin: string | null;
  /** Path and query, as given. */
  path: string;
  /** The CALL of /stream/TENANT/CALL: FreeSWITCH's channel uuid; null = none in the path. */
  callId: string | null;
  /** `?rate=` in the URL, if any. */
  rate: number | null;
}

/** How long a running voicebot may take to log in to the fake ESL (its reconnect backoff reaches 30 s). */
export const EXTERNAL_ESL_WAIT_MS = 40_000;
/** A voicebot the simulator just started logs in within its first reconnect steps. */
export const STARTED_ESL_WAIT_MS = 15_000;

export function parsePlayback(value: string | undefined): Playback {
  if (value === undefined) return "stream";
  if (value !== "stream" && value !== "file") throw new UsageError(`--playback "${value}" is not allowed; use stream (voxcom-us fork) or file (community module)`);
  return value;
}

export function parseEslPort(value: string | undefined): number | null {
  if (value === undefined) return null;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`--esl-port "${value}" is not allowed; give a TCP port from 1 to 65535 (voicebot's ESL_PORT)`);
  return port;
}

/** --rate for a stream: one mod_audio_stream accepts and voicebot runs, agreeing with the URL's ?rate=. */
export function parseStreamRate(value: string | undefined, urlRate: number | null): number {
  const rate = value === undefined ? urlRate ?? 16000 : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!STREAM_RATES.includes(rate)) throw new UsageError(`--rate "${value}" is not a mod_audio_stream rate voicebot runs; allowed: ${STREAM_RATES.join(", ")}`);
  if (urlRate !== null && urlRate !== rate) throw new UsageError(`--rate ${rate} disagrees with ?rate=${urlRate} in the --audiostream URL; give one`);
  return rate;
}

export function parseStreamFlag(value: string, startsServer: boolean): StreamFlag {
  const pathOnly = value.startsWith("/");
  if (pathOnly && !startsServer) {
    throw new UsageError(`--audiostream "${value}" is only a path: give ws://HOST:PORT${value} for a running voicebot (a bare path goes with --fake-providers)`);
  }
  if (!pathOnly && startsServer) {
    throw new UsageError(`--fake-providers starts its own voicebot: give --audiostream only the path, e.g. /stream/${DEFAULT_TENANT_ID}`);
  }
  let url: URL;
  try {
    url = new URL(pathOnly ? `ws://127.0.0.1${value}` : value);
  } catch {
    throw new UsageError(`--audiostream "${value}" is not a URL; give ws://HOST:PORT/stream/TENANT/CALL`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new UsageError(`--audiostream "${value}" is not ws:// or wss:// (mod_audio_stream refuses other schemes)`);
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const callId = segments[0] === "stream" && segments.length === 3 ? decodeURIComponent(segments[2] as string) : null;
  if (callId !== null && !isStreamId(callId)) throw new UsageError(`--audiostream call "${callId}" is not allowed: 1-128 of A-Z a-z 0-9 . _ - (FreeSWITCH's \${uuid})`);
  const rateText = url.searchParams.get("rate");
  const rate = rateText === null ? null : Number(rateText);
  if (rate !== null && !STREAM_RATES.includes(rate)) throw new UsageError(`--audiostream ?rate=${rateText} is not allowed; use ${STREAM_RATES.join(", ")}`);
  return { origin: pathOnly ? null : `${url.protocol}//${url.host}`, path: url.pathname + url.search, callId, rate };
}

/** The stream URL FreeSWITCH would open on `endpoint` for `path`. */
export function streamUrlAt(endpoint: Endpoint, path: string): string {
  return `ws://${endpoint.host}:${endpoint.port}${path}`;
}

/** The shipped dialplan's URL for call `uuid` of the default tenant. */
export function defaultStreamPath(uuid: string): string {
  return `/stream/${DEFAULT_TENANT_ID}/${uuid}`;
}

/** Starts the fake FreeSWITCH and the settings that point a voicebot serve at it in `playback` mode. */
export async function startFreeswitch(playback: Playback, port?: number): Promise<{ freeswitch: FakeFreeswitch; env: Record<string, string> }> {
  const freeswitch = await FakeFreeswitch.start({ port });
  return { freeswitch, env: { ...freeswitch.serverEnv(), VOICEBOT_AUDIOSTREAM_PLAYBACK: playback } };
}
