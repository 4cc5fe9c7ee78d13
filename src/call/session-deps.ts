/** What a call session is given: the service's shared parts, the call's settings and who called. */
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { PhraseId } from "../dialog/types.ts";
import type { Logger } from "../log.ts";
import type { PhraseCache } from "../media/phrase-cache.ts";
import type { ClockTarget, PlayoutClock } from "../media/playout-clock.ts";
import type { RecorderFlusher } from "../media/recorder.ts";
import type { ResamplerPool } from "../media/resampler.ts";
import type { CallWriter } from "../store/store.ts";
import type { ConversationParts } from "./conversation.ts";
import type { HandOff } from "./hand-off.ts";
import type { InbandMode } from "./inband-dtmf.ts";
import type { CallMetrics } from "./metrics.ts";
import type { PreRoll } from "./pre-roll.ts";
import type { CallSession } from "./session.ts";

/** What the shared clock ticks: a session, or a call whose greeting plays before its session is built. */
export interface CallClockTarget extends ClockTarget {
  /** A tick threw: the call ends (`error` says why). */
  hangupNow(error?: unknown): void;
}

/** Who called and for which company: from the leg, or the dialplan's registration (AudioSocket). */
export interface CallerInfo {
  callerNumber: string | null;
  dnis: string | null;
  tenant: string;
}

export interface SessionDeps {
  store: CallWriter;
  phrases: PhraseCache;
  texts: Readonly<Record<PhraseId, string>>;
  clock: PlayoutClock<CallClockTarget>;
  flusher: RecorderFlusher;
  /** Where recordings go; null = do not record this call (busy calls). */
  recordingsDir: string | null;
  silenceWarningMs: number;
  silenceHangupMs: number;
  maxDurationMs: number;
  metrics: CallMetrics;
  log: Logger;
  onEnded: (session: CallSession) => void;
  /** The call's voice for text that is not a cached phrase (the callback time, say). */
  tts: TextToSpeech;
  resampler: ResamplerPool;
  /** AI mode: recognizer, model and barge-in; null = keypad mode. */
  conversation: ConversationParts | null;
  caller: CallerInfo;
  /** DTMF_INBAND: listen for keypad tones in the caller's audio when the wire has no DTMF events (auto), always, or never. */
  dtmfInband: InbandMode;
  /** Where the dialog's `transfer` sends the caller; null = this call cannot be transferred. */
  transfer: { handOff: HandOff; target: string } | null;
  /** The greeting already playing (pre-roll.ts): its playout and clock slot become the session's. */
  preRoll: PreRoll | null;
}
