/**
 * The spoken side of a call in AI mode: speech recognition in, the model's replies out, and the
 * caller's right to interrupt. The session owns the playout, the dialog and the store rows; this
 * part turns transcripts into `callerSaid`, runs each `think` as a streamed Reply and each
 * `scribe` beside it, detects
 * barge-in, plays the filler when a reply is late, and hands the call to the keypad when the
 * recognizer is lost (recognizer-link.ts) or misses a turn's deadline.
 */
import type { CircuitBreaker } from "../ai/circuit-breaker.ts";
import type { LanguageModel } from "../ai/llm/types.ts";
import type { SpeechToText, SttEvent } from "../ai/stt/types.ts";
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { DialogAction, DialogEvent } from "../dialog/types.ts";
import type { Logger } from "../log.ts";
import type { PhraseCache } from "../media/phrase-cache.ts";
import type { Playout } from "../media/playout.ts";
import type { ResamplerPool } from "../media/resampler.ts";
import type { Vad, VadModule } from "../media/vad.ts";
import type { CallWriter } from "../store/store.ts";
import { BargeInDetector } from "./barge-in.ts";
import { EarlyFinalize } from "./early-finalize.ts";
import { FILLER_AFTER_MS, Fillers } from "./fillers.ts";
import { countFallback, countProviderError, type CallMetrics } from "./metrics.ts";
import { RecognizerLink } from "./recognizer-link.ts";
import type { Reply } from "./reply.ts";
import { startReplyTurn, type ReplyTurnState } from "./reply-turn.ts";
import { Scribes } from "./scribes.ts";
import { SttDeadline } from "./stt-deadline.ts";
import { SttGate } from "./stt-gate.ts";

export interface ConversationParts {
  stt: SpeechToText;
  /** The recognizer's circuit breaker: open = new calls start on the keypad at once. */
  sttBreaker: CircuitBreaker | null;
  llm: LanguageModel;
  vad: VadModule | null;
  language: string;
  keyterms: readonly string[];
  bargeInMinSpeechMs: number;
  /** The filler's delay after speech end, and between fillers; default 1000 ms (tests shorten it). */
  fillerDelayMs?: number;
}

/** What the conversation needs from its session. */
export interface ConversationHost {
  readonly callId: number;
  /** The call's UUID: the providers' warnings name it. */
  readonly id: string;
  readonly playout: Playout;
  readonly store: CallWriter;
  readonly phrases: PhraseCache;
  readonly metrics: CallMetrics;
  readonly log: Logger;
  /** The call's voice, and the pool that brings it to the call's rate. */
  readonly tts: TextToSpeech;
  readonly resampler: ResamplerPool;
  feed(event: DialogEvent): void;
  /** A caller turn or a bot reply started: the silence countdown must not run. */
  pauseSilence(): void;
  /** A reply was heard to its end: if nothing else is queued, the caller's silence counts again. */
  armSilence(): void;
  /** Audio became ready for a call sending silence: send its next frame at the next clock slot. */
  expedite(): void;
  /** Barge-in: drop what is queued here and what the PBX still holds. */
  stopPlayback(): void;
  /** The caller may be cutting in: pause the bot's audio (true) or let it go on (false). */
  holdPlayback(on: boolean): void;
  /** The PBX is still playing audio our clock has already sent (mod_audio_stream file mode). */
  readonly pbxStillPlaying: boolean;
}

type ThinkAction = Extract<DialogAction, { type: "think" }>;
type ScribeAction = Extract<DialogAction, { type: "scribe" }>;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The recognizer must answer (a final, even empty) within this of the caller's speech end, or it
 * is taken as failed and the call moves to the keypad: the caller hears the bot by then. No
 * reconnect first: the turn's words went to the stalled socket and are lost either way.
 */
export const STT_FINAL_DEADLINE_MS = 2500;
// Mode 3 (most aggressive): in modes 0–1 steady line noise counts as speech.
const VAD_MODE = 3;

export class Conversation {
  private readonly recognizer: RecognizerLink;
  private stopped = false;
  /** The interruptible flag of what was last played, for audio the PBX is still playing. */
  private lastInterruptible = false;
  private finals: string[] = [];
  /** Replies whose audio is not over: a tool continuation is asked for while the first still plays. */
  private readonly replies = new Map<Reply, ReplyTurnState>();
  /** The newest reply: the one the fillers wait for. */
  private latest: Reply | null = null;
  private readonly sttDeadline = new SttDeadline(STT_FINAL_DEADLINE_MS, (speechEndAt) => this.recognizerLate(speechEndAt));
  private readonly fillers: Fillers;
  private readonly scribes: Scribes;
  /** When the caller's last turn ended, for the reply it asks for (the turn's first-audio latency). */
  private lastSpeechEndAt: number | null = null;
  /** The last inbound frame loud enough to be speech: the caller's speech end, once they stop. */
  private lastLoudAt = 0;
  private readonly earlyFinalize = new EarlyFinalize();
  private vad: Vad | null = null;
  private bargeIn: BargeInDetector;
  /** The bot is paused for a tentative barge-in. */
  private held = false;
  private gate: SttGate;
  private rate: number;

  constructor(
    private readonly host: ConversationHost,
    private readonly parts: ConversationParts,
    sampleRate: number,
  ) {
    this.rate = sampleRate;
    this.recognizer = new RecognizerLink(host, parts, (e) => this.onSttEvent(e), () => this.toKeypad("stt-lost"));
    this.scribes = new Scribes(host, parts.llm);
    this.fillers = new Fillers(host, parts.fillerDelayMs ?? FILLER_AFTER_MS, (u) => !this.stopped && this.latest?.utterance === u);
    this.bargeIn = this.newDetector(sampleRate);
    this.gate = new SttGate(sampleRate);
  }

  /** Opens the recognizer at the call's rate (first frame known), unless its circuit is open. */
  start(): void {
    if (this.parts.sttBreaker?.allow() === false) {
      this.host.log.warn("speech recognition skipped: its circuit is open; the call goes to the keypad", { provider: this.parts.stt.id });
      this.toKeypad("circuit-open");
      return;
    }
    this.recognizer.open(this.rate);
  }

  setSampleRate(rate: number): void {
    if (rate === this.rate) return;
    this.rate = rate;
    this.abortReplies();
    this.vad?.free();
    this.vad = null;
    this.bargeIn = this.newDetector(rate);
    this.gate = new SttGate(rate);
    this.recognizer.open(rate);
  }

  /** Per inbound 20 ms frame: to the recognizer, and to the barge-in detector. Allocation-free. */
  onCallerFrame(frame: Int16Array, loud: boolean): void {
    if (this.stopped) return;
    const botSpeaking = this.botSpeaking();
    this.gate.push(frame, botSpeaking, loud, this.recognizer.send);
    if (loud) this.lastLoudAt = Date.now();
    if (this.earlyFinalize.push(loud, botSpeaking)) this.recognizer.finalize();
    if (this.bargeIn.inbound(frame)) this.interrupt("voice");
    // After a barge-in the detector hears of the silence with the next bot frame: hold only a bot still speaking.
    else this.hold(this.bargeIn.tentative && this.botSpeaking());
  }

  private hold(on: boolean): void {
    if (on === this.held) return;
    this.held = on;
    this.host.holdPlayback(on);
  }

  /**
   * The caller's speech ended (local detector): ask the recognizer for its words now; they are due
   * by the deadline, and the filler covers the wait when no reply is on its way.
   */
  onCallerSpeechEnd(): void {
    if (this.stopped) return;
    this.recognizer.finalize();
    const speechEndAt = this.lastLoudAt || Date.now();
    if (this.sttDeadline.watch(speechEndAt) && this.latest === null) this.fillers.armAlone(speechEndAt, () => !this.stopped && this.sttDeadline.pending);
  }

  /** Per outbound frame, after it was sent. */
  onBotFrame(frame: Int16Array): void {
    if (this.stopped) return;
    const speaking = this.botSpeaking();
    this.bargeIn.botSpeaking(speaking);
    // A caller already talking when the bot starts holds it from its next frame.
    this.hold(this.bargeIn.tentative && speaking);
    this.bargeIn.outbound(frame);
    if (this.gate.needsKeepAlive()) this.recognizer.keepAlive();
  }

  think(action: ThinkAction): void {
    if (this.stopped) return;
    const speechEndAt = this.lastSpeechEndAt;
    this.lastSpeechEndAt = null;
    startReplyTurn(this.host, this.parts.llm, action, speechEndAt, (reply, state) => {
      this.replies.set(reply, state);
      this.latest = reply;
    }, (reply) => this.forget(reply));
  }

  /** The ticket's facts, written beside the reply just asked for. */
  scribe(action: ScribeAction): void {
    if (!this.stopped) this.scribes.ask(action);
  }

  /** Barge-in: the bot stops within a frame (faded), the reply and its downloads are cut. */
  interrupt(signal: "voice" | "transcript" | "speech-started"): void {
    if (!this.botSpeaking()) return;
    const at = Date.now();
    this.host.metrics.bargeIns++;
    this.host.log.info("barge-in", { signal });
    for (const { turnId } of this.replies.values()) if (turnId !== null) this.host.store.setTurnTimings(turnId, { bargeInAt: at });
    this.host.store.addEvent(this.host.callId, { kind: "barge-in", detail: signal, at });
    this.host.stopPlayback();
    this.held = false;
    this.abortReplies();
    this.bargeIn.reset();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.fillers.stop();
    this.scribes.stop();
    this.sttDeadline.stop();
    this.abortReplies();
    this.recognizer.stop();
    this.vad?.free();
    this.vad = null;
  }

  private forget(reply: Reply): void {
    this.replies.delete(reply);
    if (this.latest === reply) this.latest = null;
  }

  /**
   * The caller went on before the reply to their last words played (a pause that ended their turn
   * was not the end of it): that reply is dropped unheard, and the model answers both parts.
   */
  private dropUnheardReplies(at: number): void {
    for (const [reply, state] of this.replies) {
      if (state.turnId !== null || (this.host.playout.head === reply.utterance && this.host.playout.playing)) continue;
      this.host.playout.remove(reply.utterance);
      reply.abort();
      this.forget(reply);
      this.host.log.info("the caller went on before the reply was heard: it is dropped, the next one answers both", { reply: reply.id });
      this.host.store.addEvent(this.host.callId, { kind: "reply-dropped", detail: "the caller went on", at });
    }
  }

  private abortReplies(): void {
    for (const reply of this.replies.keys()) reply.abort();
    this.replies.clear();
    this.latest = null;
  }

  /** Whether the caller may cut the bot off now: it is playing something interruptible, here or still at the PBX. */
  private botSpeaking(): boolean {
    const { playout } = this.host;
    if (playout.playing) this.lastInterruptible = playout.head?.interruptible === true;
    return (playout.playing || this.host.pbxStillPlaying) && this.lastInterruptible;
  }

  private newDetector(rate: number): BargeInDetector {
    this.vad = this.parts.vad?.create(rate, VAD_MODE) ?? null;
    const onVadFailure = (error: unknown): void => {
      this.host.log.warn("voice activity detection failed: barge-in goes on with the energy gate alone", { error: describeError(error) });
      const broken = this.vad;
      this.vad = null;
      try {
        broken?.free();
      } catch {
        // A detector that threw may not free either; the call's end must not trip on it.
      }
    };
    return new BargeInDetector({ sampleRate: rate, minSpeechMs: this.parts.bargeInMinSpeechMs, vad: this.vad, onVadFailure });
  }

  /** Recognition is gone for this call: the rest is the keypad dialog, on the same ticket. */
  private toKeypad(reason: "stt-lost" | "stt-deadline" | "circuit-open"): void {
    this.host.metrics.sttLost++;
    countFallback(this.host.metrics, this.parts.stt.id, "keypad", reason);
    this.stop();
    // At start the dialog has not had its start event yet: the session feeds it right after start().
    if (reason === "circuit-open") queueMicrotask(() => this.host.feed({ type: "sttLost" }));
    else this.host.feed({ type: "sttLost" });
  }

  /** No final after the caller spoke: the recognizer failed this turn (a stalled stream looks just like this). */
  private recognizerLate(speechEndAt: number): void {
    if (this.stopped) return;
    const provider = this.parts.stt.id;
    const waitedMs = Date.now() - speechEndAt;
    const { deadlineMs } = this.sttDeadline;
    this.host.log.warn("speech recognition missed its deadline: no final after the caller spoke; continuing on the keypad", { provider, waitedMs, deadlineMs });
    this.host.metrics.sttDeadlineMisses++;
    countProviderError(this.host.metrics, provider, new Error(`no final result within ${deadlineMs} ms of speech end (timed out)`));
    this.parts.sttBreaker?.failure(`no final result within ${deadlineMs} ms of speech end`);
    this.toKeypad("stt-deadline");
  }

  private onSttEvent(event: SttEvent): void {
    if (this.stopped) return;
    if (event.type === "utteranceEnd" || (event.type === "transcript" && event.isFinal)) this.sttDeadline.answered();
    switch (event.type) {
      case "speechStarted":
        if (this.bargeIn.speechStarted()) this.interrupt("speech-started");
        return;
      case "utteranceEnd":
        if (this.finals.length > 0) this.closeTurn();
        return;
      case "transcript": {
        const text = event.text.trim();
        if (event.isFinal && text !== "") {
          this.finals.push(text);
          this.parts.sttBreaker?.success();
        }
        if (event.isFinal && (event.speechFinal || event.fromFinalize) && this.finals.length > 0) this.closeTurn();
        return;
      }
    }
  }

  /** The caller's turn is over: store it, cut the bot if it still talks, hand the words to the dialog. */
  private closeTurn(): void {
    const text = this.finals.join(" ");
    this.finals = [];
    const at = Date.now();
    const speechEndAt = this.lastLoudAt || at;
    if (this.botSpeaking() && text.split(/\s+/).length >= 2) this.interrupt("transcript");
    else this.dropUnheardReplies(at);
    const turnId = this.host.store.addTurn(this.host.callId, { speaker: "caller", text, startedAt: speechEndAt, endedAt: speechEndAt });
    this.host.store.setTurnTimings(turnId, { speechEndAt, sttFinalAt: at });
    this.host.metrics.turnLatency.stt.observe(at - speechEndAt);
    this.lastSpeechEndAt = speechEndAt;
    this.host.pauseSilence();
    this.host.feed({ type: "callerSaid", text, at });
    if (this.latest) this.fillers.arm(this.latest.utterance, speechEndAt);
  }
}
