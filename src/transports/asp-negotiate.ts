/**
 * ASP negotiation: what we announce in protocol.capabilities and how session.start / session.update
 * are answered. The media server's client never adapts its audio to what we answer (it keeps its own
 * AUDIO_SAMPLE_RATE), so an audio setting we cannot take is refused (`rejected`), never swapped for
 * another; the spec's `accepted_with_changes` is kept for what the client may safely ignore: VAD
 * values clamped into range, and a frame duration we re-frame anyway.
 */
import { ERR, protocolError, type ProtocolError } from "./asp-protocol.ts";

export const ASP_VERSION = "1.0.0";
export const ASP_RATES = [8000, 16000, 24000, 48000] as const;
const ENCODINGS = ["pcm_s16le"];
const FRAME_DURATIONS = [10, 20, 30];

export interface AudioSettings {
  sample_rate: number;
  encoding: string;
  channels: number;
  frame_duration_ms: number;
}

export interface VadSettings {
  enabled: boolean;
  silence_threshold_ms: number;
  min_speech_ms: number;
  threshold: number;
  ring_buffer_frames: number;
  speech_ratio: number;
  prefix_padding_ms: number;
}

export interface Adjustment {
  field: string;
  requested: unknown;
  applied: unknown;
  reason: string;
}

export interface Negotiated {
  audio: AudioSettings;
  vad: VadSettings;
  adjustments: Adjustment[];
}

export type Negotiation =
  | { status: "accepted" | "accepted_with_changes"; negotiated: Negotiated }
  | { status: "rejected"; errors: ProtocolError[] };

/** The spec's ranges (shared/asp_protocol/config.py); `integer` values are rounded like its int(). */
const VAD_RANGES: ReadonlyArray<{ key: keyof Omit<VadSettings, "enabled">; min: number; max: number; integer: boolean }> = [
  { key: "silence_threshold_ms", min: 100, max: 2000, integer: true },
  { key: "min_speech_ms", min: 100, max: 1000, integer: true },
  { key: "threshold", min: 0, max: 1, integer: false },
  { key: "ring_buffer_frames", min: 3, max: 10, integer: true },
  { key: "speech_ratio", min: 0.2, max: 0.8, integer: false },
  { key: "prefix_padding_ms", min: 0, max: 500, integer: true },
];

export const DEFAULT_VAD: VadSettings = {
  enabled: true, silence_threshold_ms: 500, min_speech_ms: 250, threshold: 0.5, ring_buffer_frames: 5, speech_ratio: 0.4, prefix_padding_ms: 300,
};

/** The message sent as soon as a client connects. */
export function capabilitiesMessage(maxSessionSeconds: number): string {
  return JSON.stringify({
    type: "protocol.capabilities",
    version: ASP_VERSION,
    server_id: "voicebot",
    capabilities: {
      version: ASP_VERSION,
      supported_sample_rates: [...ASP_RATES],
      supported_encodings: ENCODINGS,
      supported_frame_durations: FRAME_DURATIONS,
      vad_configurable: true,
      vad_parameters: VAD_RANGES.map((r) => r.key),
      max_session_duration_seconds: maxSessionSeconds,
      features: ["barge_in", "streaming_tts", "sentence_pipeline"],
    },
    timestamp: new Date().toISOString(),
  });
}

function shown(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).slice(0, 40);
}

function negotiateAudio(requested: Record<string, unknown> | null, errors: ProtocolError[], adjustments: Adjustment[]): AudioSettings {
  const req = requested ?? {};
  const rate = req.sample_rate ?? 8000;
  if (typeof rate !== "number" || !(ASP_RATES as readonly number[]).includes(rate)) {
    errors.push(protocolError(ERR.unsupportedSampleRate, `Sample rate ${shown(rate)} not supported`, { requested: rate, supported: [...ASP_RATES] }));
  }
  const encoding = req.encoding ?? "pcm_s16le";
  if (typeof encoding !== "string" || !ENCODINGS.includes(encoding)) {
    errors.push(protocolError(ERR.unsupportedEncoding, `Audio encoding ${shown(encoding)} not supported`, { requested: encoding, supported: ENCODINGS }));
  }
  const channels = req.channels ?? 1;
  if (channels !== 1) errors.push(protocolError(ERR.audioProcessing, `${shown(channels)} channels not supported: mono only`, { requested: channels, supported: [1] }));
  const width = req.sample_width ?? 2;
  if (width !== 2) errors.push(protocolError(ERR.audioProcessing, `sample_width ${shown(width)} not supported: 16-bit only`, { requested: width, supported: [2] }));
  let frame = req.frame_duration_ms ?? 20;
  if (typeof frame !== "number" || !FRAME_DURATIONS.includes(frame)) {
    adjustments.push({ field: "audio.frame_duration_ms", requested: frame, applied: 20, reason: "Requested frame duration not supported, using: 20ms" });
    frame = 20;
  }
  return { sample_rate: typeof rate === "number" ? rate : 8000, encoding: "pcm_s16le", channels: 1, frame_duration_ms: frame as number };
}

/** `base` with the requested VAD values applied, each checked and clamped into the spec's range. */
function negotiateVad(requested: Record<string, unknown> | null, base: VadSettings, errors: ProtocolError[], adjustments: Adjustment[]): VadSettings {
  const vad: VadSettings = { ...base };
  if (requested === null) return vad;
  if (requested.enabled !== undefined) {
    if (typeof requested.enabled === "boolean") vad.enabled = requested.enabled;
    else errors.push(protocolError(ERR.invalidVadParameter, `Invalid VAD parameter: enabled=${shown(requested.enabled)}, valid range: true or false`, { parameter: "enabled", value: requested.enabled }));
  }
  for (const { key, min, max, integer } of VAD_RANGES) {
    const value = requested[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      errors.push(protocolError(ERR.invalidVadParameter, `Invalid VAD parameter: ${key}=${shown(value)}, valid range: ${min}-${max}`, { parameter: key, value, valid_range: `${min}-${max}` }));
      continue;
    }
    const clamped = Math.min(max, Math.max(min, value));
    if (clamped !== value) {
      adjustments.push({ field: `vad.${key}`, requested: value, applied: clamped, reason: `Value ${value < min ? "below minimum" : "above maximum"} (${value < min ? min : max})` });
    }
    vad[key] = integer ? Math.round(clamped) : clamped;
  }
  return vad;
}

function verdict(audio: AudioSettings, vad: VadSettings, errors: ProtocolError[], adjustments: Adjustment[]): Negotiation {
  if (errors.length > 0) return { status: "rejected", errors };
  return { status: adjustments.length > 0 ? "accepted_with_changes" : "accepted", negotiated: { audio, vad, adjustments } };
}

/** session.start: the audio must be one we take as is; VAD values are clamped. */
export function negotiateStart(audio: Record<string, unknown> | null, vad: Record<string, unknown> | null): Negotiation {
  const errors: ProtocolError[] = [];
  const adjustments: Adjustment[] = [];
  const audioSettings = negotiateAudio(audio, errors, adjustments);
  const vadSettings = negotiateVad(vad, DEFAULT_VAD, errors, adjustments);
  return verdict(audioSettings, vadSettings, errors, adjustments);
}

/** session.update: only VAD may change (the spec); the values given are applied over the current ones. */
export function negotiateUpdate(current: Negotiated, audio: Record<string, unknown> | null, vad: Record<string, unknown> | null): Negotiation {
  const errors: ProtocolError[] = [];
  const adjustments: Adjustment[] = [];
  if (audio !== null) {
    const changed = Object.entries(audio).filter(([key, value]) => (current.audio as unknown as Record<string, unknown>)[key] !== value);
    if (changed.length > 0) {
      errors.push(protocolError(ERR.sessionUpdateNotAllowed, `Audio cannot change during a session (${changed.map(([k]) => k).join(", ")}): start a new session`, { fields: changed.map(([k]) => k) }));
    }
  }
  const vadSettings = negotiateVad(vad, current.vad, errors, adjustments);
  return verdict(current.audio, vadSettings, errors, adjustments);
}
