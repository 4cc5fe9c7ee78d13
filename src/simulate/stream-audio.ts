/**
 * A server's text frame as mod_audio_stream reads it (PROTOCOLS.md §2.3, fixtures section e): a
 * `streamAudio` message it accepts, one it refuses (with the module's own ERR line), or any other
 * text, which it passes on as a `mod_audio_stream::json` event. And the temp files it writes: their
 * names, and what FreeSWITCH's mod_sndfile would make of them when broadcast.
 */
import { decodeWav } from "./wav.ts";

export type ServerText =
  | {
      kind: "streamAudio";
      audioDataType: string;
      sampleRate: number;
      /** base64, checked. */
      audioData: string;
      /** The `data` object without `audioData`: the `::play` event's body, before `file` is added. */
      meta: Record<string, unknown>;
    }
  | { kind: "refused"; error: string }
  | { kind: "other" };

/** Types the community module's HEAD accepts, and the extension of the temp file each gets. */
const TYPES = new Set(["raw", "wav", "mp3", "ogg", "pcmu", "pcma"]);
const RAW_RATES = new Set([8000, 16000, 24000, 32000, 48000, 64000]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readServerText(text: string): ServerText {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { kind: "other" };
  }
  if (!isObject(message) || message.type !== "streamAudio" || !isObject(message.data)) return { kind: "other" };
  const { audioData, ...meta } = message.data;
  if (typeof audioData !== "string") return { kind: "refused", error: "processMessage - streamAudio missing audioData field" };
  const type = typeof meta.audioDataType === "string" ? meta.audioDataType : "";
  if (!TYPES.has(type)) return { kind: "refused", error: `unsupported audio type: ${type}` };
  // The module reads the rate as an integer: a string or a missing one is 0.
  const sampleRate = typeof meta.sampleRate === "number" && Number.isInteger(meta.sampleRate) ? meta.sampleRate : 0;
  if (type === "raw" && !RAW_RATES.has(sampleRate)) return { kind: "refused", error: `unsupported sample rate: ${sampleRate}` };
  if (!BASE64.test(audioData)) return { kind: "refused", error: "base64 decode error: Input is not valid base64-encoded data." };
  return { kind: "streamAudio", audioDataType: type, sampleRate, audioData, meta };
}

/** Where the community module writes message `n` of call `uuid` (`<temp>/<uuid>_<n>.tmp.<ext>`). */
export function tempFilePath(uuid: string, n: number, type: string, sampleRate: number): string {
  const ext = type === "raw" ? `r${sampleRate / 1000}` : type;
  return `/tmp/${uuid}_${n}.tmp.${ext}`;
}

/** What `uuid_broadcast` plays from a temp file, or why the caller would not hear the bot. */
export type BroadcastAudio = { samples: Int16Array; sampleRate: number } | { error: string };

/** How FreeSWITCH (mod_sndfile) reads the file the module wrote; `bytes` is the decoded audioData. */
export function broadcastAudio(path: string, type: string, sampleRate: number, bytes: Uint8Array): BroadcastAudio {
  if (type === "raw" && (sampleRate === 8000 || sampleRate === 16000)) {
    const samples = new Int16Array(bytes.length >> 1);
    new Uint8Array(samples.buffer).set(bytes.subarray(0, samples.length * 2));
    return { samples, sampleRate };
  }
  if (type === "raw" && (sampleRate === 24000 || sampleRate === 32000)) {
    return { error: `${path}: mod_sndfile reads .r${sampleRate / 1000} as ${sampleRate === 24000 ? 24 : 32}-bit PCM, so the caller hears noise (send raw at 8000 or 16000, or wav)` };
  }
  if (type === "wav") {
    try {
      return decodeWav(bytes, path);
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }
  const ext = path.slice(path.lastIndexOf(".") + 1);
  if (type === "mp3" || type === "ogg") return { error: `${path}: the simulator does not decode ${type} (FreeSWITCH needs mod_shout for mp3); send raw at 8000 or 16000, or wav` };
  return { error: `${path}: .${ext} is not a file type mod_sndfile plays, so the caller hears nothing (send raw at 8000 or 16000, or wav)` };
}
