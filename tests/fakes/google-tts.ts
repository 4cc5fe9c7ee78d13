/**
 * The Text-to-Speech half of the Google fake (tests/fakes/google.ts serves it): SynthesizeSpeech
 * answers LINEAR16 in a WAV (a 44-byte header plus, on request, a LIST chunk before the data, as
 * real WAV writers may add), StreamingSynthesize streams headerless PCM in 20–60 ms chunks at
 * `speed` times real time after `ttfbMs`. The audio is the same speech-like signal as the other
 * voice fakes (tests/fakes/speech.ts). Refuses what Google refuses: an unknown voice (NOT_FOUND), a
 * streaming request for a voice that does not stream or with another encoding (INVALID_ARGUMENT).
 * Faults on request: a gRPC status, a stall, a dropped stream.
 */
import { status as Status, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { renderSpeech, type SpeechFault } from "./speech.ts";
import { FaultPlan } from "./fault-plan.ts";
import { newSpeechFakeCounts, speechFakeControls, type SpeechFakeControls } from "./speech-controls.ts";

/** Voices the fake knows unless told otherwise: Chirp 3 HD ones stream, the others do not. */
export const DEFAULT_FAKE_GOOGLE_VOICES: readonly string[] = [
  "fr-FR-Chirp3-HD-Aoede", "en-US-Chirp3-HD-Aoede", "pt-BR-Chirp3-HD-Aoede", "fr-FR-Neural2-A", "en-US-Neural2-F",
];
const REQUESTS_KEPT = 1000;

/** A gRPC status code instead of HTTP; stalls and drops as the other fakes (afterBytes of audio first). */
export type GoogleFault = { kind: "status"; code: Status; message?: string } | Exclude<SpeechFault, { kind: "status" }>;

export interface GoogleSynthesisSeen {
  method: "SynthesizeSpeech" | "StreamingSynthesize";
  voice: string;
  languageCode: string;
  encoding: string;
  sampleRate: number;
  text: string;
}

export interface FakeGoogleTtsOptions {
  voices?: readonly string[];
  ttfbMs?: number;
  /** Audio seconds sent per second once it flows (default 8). */
  speed?: number;
  msPerChar?: number;
  /** SynthesizeSpeech's WAV gets a LIST chunk before its data chunk (default false). */
  listChunk?: boolean;
}

export interface FakeGoogleTts extends SpeechFakeControls<GoogleFault, GoogleSynthesisSeen> {
  readonly handlers: {
    synthesizeSpeech(call: ServerUnaryCall<SynthesizeRequest, unknown>, done: sendUnaryData<unknown>): void;
    streamingSynthesize(call: ServerDuplexStream<StreamingRequest, unknown>): void;
    listVoices(call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>): void;
  };
  /** Ends the timers of streams still running. */
  close(): void;
}

interface VoiceParams { name?: string; languageCode?: string }
interface SynthesizeRequest { input?: { text?: string }; voice?: VoiceParams; audioConfig?: { audioEncoding?: string; sampleRateHertz?: number } }
interface StreamingRequest {
  streamingConfig?: { voice?: VoiceParams; streamingAudioConfig?: { audioEncoding?: string; sampleRateHertz?: number } };
  input?: { text?: string };
}

export function createFakeGoogleTts(options: FakeGoogleTtsOptions = {}): FakeGoogleTts {
  const voices = new Set(options.voices ?? DEFAULT_FAKE_GOOGLE_VOICES);
  const speed = options.speed ?? 8;
  const msPerChar = options.msPerChar ?? 65;
  const faults = new FaultPlan<GoogleFault>();
  const requests: GoogleSynthesisSeen[] = [];
  const counts = newSpeechFakeCounts();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  const refusal = (code: Status, details: string): { code: Status; details: string } => {
    counts.rejected++;
    return { code, details };
  };
  const check = (voice: VoiceParams | undefined, rate: number | undefined, text: string | undefined): { code: Status; details: string } | null => {
    if (!voice?.name || !voices.has(voice.name)) return refusal(Status.NOT_FOUND, `Requested voice ${JSON.stringify(voice?.name ?? "")} does not exist.`);
    if (!voice.languageCode || !voice.name.startsWith(voice.languageCode)) return refusal(Status.INVALID_ARGUMENT, `Voice ${voice.name} does not speak ${JSON.stringify(voice.languageCode ?? "")}.`);
    if (!rate || rate < 8000 || rate > 48000) return refusal(Status.INVALID_ARGUMENT, `sample_rate_hertz ${String(rate)} is not supported.`);
    if (!text || text.trim() === "") return refusal(Status.INVALID_ARGUMENT, "Input text is empty.");
    if (new TextEncoder().encode(text).length > 5000) return refusal(Status.INVALID_ARGUMENT, "Input text is longer than 5000 bytes.");
    return null;
  };
  const record = (seen: GoogleSynthesisSeen): GoogleFault | null => {
    requests.push(seen);
    if (requests.length > REQUESTS_KEPT) requests.shift();
    const fault = faults.take(undefined);
    if (fault) counts.faulted++;
    return fault;
  };

  const fake: FakeGoogleTts = {
    ...speechFakeControls({ faults, requests, counts, ttfbMs: options.ttfbMs ?? 0, msPerChar }),
    handlers: {
      listVoices(_call, done) {
        done(null, { voices: [...voices].map((name) => ({ name, languageCodes: [name.split("-").slice(0, 2).join("-")], ssmlGender: "FEMALE", naturalSampleRateHertz: 24000 })) });
      },
      synthesizeSpeech(call, done) {
        counts.requests++;
        const r = call.request;
        const text = r.input?.text;
        const rate = r.audioConfig?.sampleRateHertz;
        const wrong = check(r.voice, rate, text) ?? (r.audioConfig?.audioEncoding === "LINEAR16" ? null : refusal(Status.INVALID_ARGUMENT, "this fake synthesizes LINEAR16 only"));
        if (wrong) return done(wrong);
        const fault = record({ method: "SynthesizeSpeech", voice: r.voice?.name ?? "", languageCode: r.voice?.languageCode ?? "", encoding: "LINEAR16", sampleRate: rate as number, text: text as string });
        if (fault?.kind === "status") return done({ code: fault.code, details: fault.message ?? `fake Google TTS: ${Status[fault.code]}` });
        if (fault) return; // A unary call has no partial answer: a stall or drop is silence until the client's deadline.
        const pcm = renderSpeech(text as string, msPerChar, rate as number);
        // A unary answer comes whole, after about the time the audio takes to render.
        later(fake.ttfbMs + (pcm.length / (rate as number) / speed) * 1000, () => {
          counts.completed++;
          done(null, { audioContent: Buffer.from(wav(pcm, rate as number, options.listChunk ?? false)) });
        });
      },
      streamingSynthesize(call) {
        counts.requests++;
        let config: NonNullable<StreamingRequest["streamingConfig"]> | null = null;
        let ended = false;
        call.on("cancelled", () => {
          if (!ended) counts.cancelled++;
          ended = true;
        });
        call.on("data", (message: StreamingRequest) => {
          if (ended) return;
          if (config === null) {
            if (!message.streamingConfig) return fail(refusal(Status.INVALID_ARGUMENT, "The first request must carry streaming_config."));
            config = message.streamingConfig;
            if (!config.voice?.name || !/-Chirp3-HD-/.test(config.voice.name)) {
              return fail(refusal(Status.INVALID_ARGUMENT, `Voice ${JSON.stringify(config.voice?.name ?? "")} does not support streaming synthesis.`));
            }
            if (config.streamingAudioConfig?.audioEncoding !== "PCM") return fail(refusal(Status.INVALID_ARGUMENT, "Streaming supports PCM, ALAW, MULAW and OGG_OPUS; this fake PCM only."));
            return;
          }
          const text = message.input?.text;
          const rate = config.streamingAudioConfig?.sampleRateHertz || 24000;
          const wrong = check(config.voice, rate, text);
          if (wrong) return fail(wrong);
          const fault = record({ method: "StreamingSynthesize", voice: config.voice?.name ?? "", languageCode: config.voice?.languageCode ?? "", encoding: "PCM", sampleRate: rate, text: text as string });
          if (fault?.kind === "status") return fail({ code: fault.code, details: fault.message ?? `fake Google TTS: ${Status[fault.code]}` });
          const pcm = renderSpeech(text as string, msPerChar, rate);
          stream(new Uint8Array(pcm.buffer), rate, fault);
        });
        const fail = (error: { code: Status; details: string }): void => {
          ended = true;
          call.emit("error", error);
        };
        const stream = (bytes: Uint8Array, rate: number, fault: GoogleFault | null): void => {
          const limit = fault === null ? bytes.length : Math.min(bytes.length, fault.kind === "status" ? 0 : fault.afterBytes ?? 0);
          let offset = 0;
          let index = 0;
          const next = (): void => {
            if (ended) return;
            if (offset >= limit && fault?.kind === "stall") return;
            if (offset >= limit && fault?.kind === "disconnect") return fail({ code: Status.UNAVAILABLE, details: "Connection reset by peer" });
            const chunkMs = 20 + ((index * 17) % 41);
            const end = Math.min(limit, offset + Math.round((chunkMs * rate) / 1000) * 2);
            call.write({ audioContent: Buffer.from(bytes.subarray(offset, end)) });
            offset = end;
            index++;
            if (offset >= bytes.length) {
              ended = true;
              counts.completed++;
              call.end();
              return;
            }
            later(chunkMs / speed, next);
          };
          later(fake.ttfbMs, next);
        };
      },
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
  return fake;
}

/** s16le mono PCM in a RIFF/WAVE file, optionally with a LIST chunk before the data. */
function wav(pcm: Int16Array, rate: number, listChunk: boolean): Uint8Array {
  const list = listChunk ? 26 : 0; // "LIST" + size + "INFOISFT" + size + "fake\0\0"
  const out = new Uint8Array(44 + list + pcm.byteLength);
  const view = new DataView(out.buffer);
  const ascii = (at: number, text: string): void => {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, out.length - 8, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  let at = 36;
  if (listChunk) {
    ascii(at, "LIST");
    view.setUint32(at + 4, 18, true);
    ascii(at + 8, "INFOISFT");
    view.setUint32(at + 16, 6, true);
    ascii(at + 20, "fake");
    at += list;
  }
  ascii(at, "data");
  view.setUint32(at + 4, pcm.byteLength, true);
  out.set(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), at + 8);
  return out;
}
