import { providerErrorKind, type ProviderEvents } from "../ai/provider-error.ts";
import { LatencyHistogram } from "./latency-histogram.ts";

/** The stages of a turn, each a histogram: what the caller waits for, piece by piece. */
export interface TurnLatency {
  /** The caller's last word → the recognizer's final text. */
  stt: LatencyHistogram;
  /** The reply asked of the model → its first token. */
  llmFirstToken: LatencyHistogram;
  /** A sentence sent to the voice → its first audio. */
  ttsFirstByte: LatencyHistogram;
  /** The caller's last word → the reply's first frame on the wire: the whole turn. */
  firstAudio: LatencyHistogram;
}

/** Counters the call layer keeps; the admin server renders them (it never reaches into calls). */
export interface CallMetrics {
  callsStarted: number;
  callsRejectedBusy: number;
  /** New calls refused at the door (WHEN_FULL=refuse, full or stopping): registrations, WebSocket upgrades, AudioSocket connections. */
  callsRefusedFull: number;
  callsEnded: Map<string, number>;
  /** Calls started and ended per tenant: keys "tenant" and "tenant\u0000reason". */
  callsStartedByTenant: Map<string, number>;
  callsEndedByTenant: Map<string, number>;
  turnLatency: TurnLatency;
  /** Provider failures: key "provider\u0000kind". */
  providerErrors: Map<string, number>;
  /** Parts moved elsewhere: key "from\u0000to\u0000reason". */
  fallbacks: Map<string, number>;
  /** Frames a playing utterance had to fill with silence because its audio was not ready. */
  playoutUnderruns: number;
  framesSent: number;
  dtmfReceived: number;
  /** Of those, digits heard as tones in the caller's audio (in-band DTMF). */
  dtmfInband: number;
  ticketsOpened: number;
  /** AI mode: replies asked of the model, those that failed, and barge-ins. */
  replies: number;
  replyFailures: number;
  /** Scribes asked (one per caller turn), and those that failed or missed their deadline. */
  scribes: number;
  scribeFailures: number;
  bargeIns: number;
  /** Filler phrases played because a reply was late. */
  fillers: number;
  sttReconnects: number;
  /** Calls moved to the keypad because recognition could not be restored or missed a turn's deadline. */
  sttLost: number;
  /** Caller turns the recognizer gave no final for within STT_FINAL_DEADLINE_MS. */
  sttDeadlineMisses: number;
  /** Callers handed to a technician by the PBX, and hand-offs the PBX refused or could not take. */
  transfers: number;
  transferFailures: number;
}

export function newCallMetrics(): CallMetrics {
  return {
    callsStarted: 0,
    callsRejectedBusy: 0,
    callsRefusedFull: 0,
    callsEnded: new Map(),
    callsStartedByTenant: new Map(),
    callsEndedByTenant: new Map(),
    turnLatency: { stt: new LatencyHistogram(), llmFirstToken: new LatencyHistogram(), ttsFirstByte: new LatencyHistogram(), firstAudio: new LatencyHistogram() },
    providerErrors: new Map(),
    fallbacks: new Map(),
    playoutUnderruns: 0,
    framesSent: 0,
    dtmfReceived: 0,
    dtmfInband: 0,
    ticketsOpened: 0,
    replies: 0,
    replyFailures: 0,
    scribes: 0,
    scribeFailures: 0,
    bargeIns: 0,
    fillers: 0,
    sttReconnects: 0,
    sttLost: 0,
    sttDeadlineMisses: 0,
    transfers: 0,
    transferFailures: 0,
  };
}

/** The separator of composite label keys: it cannot appear in a tenant id, provider id or reason. */
export const KEY_SEPARATOR = "\u0000";

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export function countStart(metrics: CallMetrics, tenant: string): void {
  metrics.callsStarted++;
  bump(metrics.callsStartedByTenant, tenant);
}

export function countEnd(metrics: CallMetrics, reason: string, tenant: string): void {
  bump(metrics.callsEnded, reason);
  bump(metrics.callsEndedByTenant, tenant + KEY_SEPARATOR + reason);
}

export function countProviderError(metrics: CallMetrics, provider: string, error: unknown): void {
  bump(metrics.providerErrors, provider + KEY_SEPARATOR + providerErrorKind(error));
}

export function countFallback(metrics: CallMetrics, from: string, to: string, reason: string): void {
  bump(metrics.fallbacks, from + KEY_SEPARATOR + to + KEY_SEPARATOR + reason);
}

/** The AI layer's failures and fallbacks, counted here. */
export function providerEventsFor(metrics: CallMetrics): ProviderEvents {
  return {
    error: (provider, kind) => bump(metrics.providerErrors, provider + KEY_SEPARATOR + kind),
    fallback: (from, to, reason) => countFallback(metrics, from, to, reason),
  };
}
