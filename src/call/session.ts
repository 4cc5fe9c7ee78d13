import type { ClockTarget } from "../media/playout-clock.ts";
import { Playout } from "../media/playout.ts";
import type { PhraseCache } from "../media/phrase-cache.ts";
import { Recorder } from "../media/recorder.ts";
import type { CallWriter } from "../store/store.ts";
import type { CallLeg, CallLegEvents, LegCloseReason } from "../transports/types.ts";
import type { Dialog, DialogAction, DialogEvent } from "../dialog/types.ts";
import type { Logger } from "../log.ts";
import { CallerAudio } from "./caller-audio.ts";
import { InbandDtmf } from "./inband-dtmf.ts";
import { endReasonOf } from "./end-reason.ts";
import { guarded } from "./guarded.ts";
import { countEnd, countStart, type CallMetrics } from "./metrics.ts";
import { SilenceTimers } from "./silence-timers.ts";
import { Conversation, type ConversationHost } from "./conversation.ts";
import { BotSpeech, type SpeechHost } from "./bot-speech.ts";
import type { TextToSpeech } from "../ai/tts/types.ts";
import type { ResamplerPool } from "../media/resampler.ts";
import { HandOver } from "./hand-off.ts";
import { PROBE_CALLER } from "../transports/caller-id.ts";
import type { SessionDeps } from "./session-deps.ts";

/** Frames of silence after the last word before hanging up, so the PBX plays that word out. */
const HANGUP_TAIL_TICKS = 5;
/** A PBX that paces playback itself gets up to this many frames per tick (1 s): it never waits on us. */
const AHEAD_FRAMES_PER_TICK = 50;
/** Before a transfer the PBX needs no tail to finish the word: it plays frames as they come. */
const TRANSFER_TAIL_TICKS = 1;
/** If the goodbye cannot be played (e.g. audio never ready), hang up anyway after this. */
const HANGUP_GRACE_MS = 30_000;

/**
 * One call from its first frame to its row's last update. The only place that knows all the
 * parts: it feeds the dialog, plays what the dialog says on the shared clock, runs the timers,
 * records both directions and keeps the call's rows in the store.
 */
export class CallSession implements CallLegEvents, ClockTarget, ConversationHost, SpeechHost {
  readonly callId: number;
  readonly log: Logger;
  readonly id: string;
  readonly playout: Playout;
  readonly store: CallWriter;
  readonly phrases: PhraseCache;
  readonly metrics: CallMetrics;
  readonly tts: TextToSpeech;
  readonly resampler: ResamplerPool;
  private readonly conversation: Conversation | null;
  private readonly silence: SilenceTimers;
  private readonly callerAudio: CallerAudio;
  private readonly inband: InbandDtmf | null;
  private recorder: Recorder | null = null;
  private ticketId: number | null = null;
  private started = false;
  private closed = false;
  private hangupReason: string | null = null;
  private failure: string | null = null; // why a part failed and the call had to end (hangupNow(error))
  private readonly timerFailed = (error: unknown): void => this.hangupNow(error);
  private readonly closeFailed = (error: unknown): void => this.log.error("the dialog failed at hang-up; the call closes anyway", { error: String(error) });
  private hangupTail = 0;
  private readonly transfer: HandOver;
  private readonly speech: BotSpeech;
  /** Clock slots (5 ms) this call's frames run ahead of real time since an expedite. */
  private leadSlots = 0;
  /** Stops the call's TTS downloads when it ends. */
  private readonly abort = new AbortController();
  private readonly maxTimer: ReturnType<typeof setTimeout>;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly leg: CallLeg, private readonly dialog: Dialog, private readonly deps: SessionDeps) {
    this.id = leg.id;
    ({ store: this.store, phrases: this.phrases, metrics: this.metrics, tts: this.tts, resampler: this.resampler } = deps);
    this.log = deps.log.child("call", { call: leg.id });
    this.playout = deps.preRoll?.playout ?? new Playout(leg.sampleRate);
    this.conversation = deps.conversation ? new Conversation(this, deps.conversation, leg.sampleRate) : null;
    this.silence = new SilenceTimers(deps.silenceWarningMs, deps.silenceHangupMs,
      guarded(() => this.feed({ type: "silenceWarning" }), this.timerFailed), guarded(() => this.feed({ type: "silenceTimeout" }), this.timerFailed));
    this.callerAudio = new CallerAudio(leg.sampleRate, this.conversation, this.silence, () => this.waitingForCaller());
    this.inband = deps.dtmfInband === "off" ? null : new InbandDtmf(deps.dtmfInband, leg, (digit) => this.keypad(digit, true));
    const now = Date.now();
    this.callId = deps.store.insertCall({
      uuid: leg.id, transport: leg.transport, tenant: deps.caller.tenant, caller: deps.caller.callerNumber,
      dnis: deps.caller.dnis, peer: leg.peer, sampleRate: leg.sampleRate, startedAt: now,
    });
    deps.store.setCallAnswered(this.callId, now);
    if (leg.metadata !== null) deps.store.addEvent(this.callId, { kind: "metadata", detail: leg.metadata.slice(0, 4000), at: now });
    countStart(deps.metrics, deps.caller.tenant);
    this.transfer = new HandOver(deps.transfer, { leg, log: this.log, metrics: deps.metrics,
      record: (detail) => deps.store.addEvent(this.callId, { kind: "transfer-sent", detail, at: Date.now() }) });
    this.speech = new BotSpeech(this, deps);
    this.maxTimer = setTimeout(guarded(() => this.feed({ type: "maxDuration" }), this.timerFailed), deps.maxDurationMs);
    if (deps.preRoll) deps.clock.replace(deps.preRoll.clockTarget, this);
    else deps.clock.add(this);
    this.log.info("call started", { peer: leg.peer, rate: leg.sampleRate, tenant: deps.caller.tenant, caller: deps.caller.callerNumber ?? undefined });
  }

  expedite(): void {
    if (this.leadSlots === 0 && !this.closed) this.leadSlots = this.deps.clock.expedite(this);
  }

  pauseSilence(): void {
    this.silence.pause();
  }

  get ended(): boolean {
    return this.closed;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  awaitCaller(patienceMs: number): void {
    // File mode: the PBX plays behind us; the caller's turn starts once it has played the prompt out.
    if (this.waitingForCaller()) this.silence.arm(patienceMs + this.leg.playbackPendingMs);
  }

  get pbxStillPlaying(): boolean {
    return this.leg.playbackPendingMs > 0;
  }

  stopPlayback(): void {
    this.playout.flush();
    this.leg.flushPlayback();
    this.recorder?.dropUnplayed();
  }

  holdPlayback(on: boolean): void {
    this.playout.hold(on);
  }

  /** A reply or prompt finished and nothing else is queued: the caller's turn, timers on. */
  armSilence(): void {
    if (this.waitingForCaller()) this.silence.arm();
  }

  feed(event: DialogEvent): void {
    if (this.closed) return;
    this.run(this.dialog.handle(event));
  }

  /** Per 20 ms tick: exactly one frame out, speech or silence. */
  onTick(): void {
    if (this.closed) return;
    if (!this.started && this.callerAudio.heard) this.begin();
    this.recorder?.tick();
    // A PBX that queues audio (file mode): whole frames once ready, silence once quiet (ends a chunk).
    if (this.leg.playsAhead) this.playout.drainReady(AHEAD_FRAMES_PER_TICK, this.sendFrame);
    if (!this.leg.playsAhead || !this.playout.busy) {
      const frame = this.playout.nextFrame();
      if (this.playout.starved && this.leg.playbackPendingMs === 0) this.metrics.playoutUnderruns++;
      if (!this.send(frame)) return;
      if (this.leadSlots > 0 && !this.playout.busy) {
        // Quiet again: give back the lead the expedite took, as one slightly longer gap of silence.
        this.deps.clock.delay(this, this.leadSlots);
        this.leadSlots = 0;
      }
      if (!this.leg.reportsPlayedAudio) this.conversation?.onBotFrame(frame);
    }
    if (this.hangupReason === null || this.playout.busy || this.transfer.state === "sent") return;
    this.hangupTail++;
    if (this.transfer.state === "pending") {
      if (this.hangupTail >= TRANSFER_TAIL_TICKS) this.handOver();
    } else if (this.hangupTail >= HANGUP_TAIL_TICKS) {
      this.leg.hangup(this.hangupReason);
    }
  }

  /** Ticks the clock gave up after the event loop was blocked: the recording keeps the call's time. */
  onSkipped(periods: number): void {
    this.recorder?.skipped(periods);
  }

  private send(frame: Int16Array): boolean {
    if (!this.leg.sendAudio(frame)) return false;
    this.metrics.framesSent++;
    this.recorder?.bot(frame);
    return true;
  }

  /** For drainReady. Each tick calls send() itself: a call through this closure touches two more objects. */
  private readonly sendFrame = (frame: Int16Array): boolean => this.send(frame);

  /** mod_audio_stream stereo: what FreeSWITCH really played, in step with the caller's audio. */
  onPlayedAudio(samples: Int16Array): void {
    this.conversation?.onBotFrame(samples);
  }

  onAudio(samples: Int16Array): void {
    this.recorder?.caller(samples);
    this.inband?.push(samples);
    this.callerAudio.push(samples);
  }

  onDtmf(digit: string): void {
    if (this.inband === null || this.inband.fromWire(digit)) this.keypad(digit, false);
  }

  /** One key press, from the wire or heard in the audio. */
  private keypad(digit: string, inband: boolean): void {
    this.deps.metrics.dtmfReceived++;
    if (inband) {
      this.deps.metrics.dtmfInband++;
      this.log.info("keypad digit heard in the audio (in-band DTMF)", { digit });
    }
    this.silence.reset();
    this.feed({ type: "dtmf", digit, at: Date.now() });
    if (this.waitingForCaller()) this.silence.arm();
  }

  onRateChange(sampleRate: number): void {
    this.log.info("sample rate", { rate: sampleRate });
    this.deps.store.setCallSampleRate(this.callId, sampleRate);
    this.callerAudio.setSampleRate(sampleRate);
    this.inband?.setSampleRate(sampleRate);
    this.conversation?.setSampleRate(sampleRate);
    if (this.recorder) {
      this.recorder.setSampleRate(sampleRate);
      this.deps.store.setCallRecordings(this.callId, this.recorder.files);
    }
    this.speech.retune(sampleRate);
  }

  onClose(reason: LegCloseReason, detail?: string): void {
    if (this.closed) return;
    const event: DialogEvent = reason === "caller-hangup" ? { type: "callerHangup" } : { type: "callerHangup", cause: reason };
    if (this.hangupReason === null && reason !== "server-hangup") guarded(() => this.feed(event), this.closeFailed)();
    this.closed = true;
    this.callerAudio.stop();
    this.conversation?.stop();
    this.abort.abort(new DOMException("call ended", "AbortError"));
    this.deps.clock.remove(this);
    this.silence.stop();
    clearTimeout(this.maxTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.playout.flush();
    const endReason = endReasonOf({ leg: reason, dialog: this.hangupReason, transferSent: this.transfer.state === "sent", failed: this.failure !== null });
    this.deps.store.endCall(this.callId, { endedAt: Date.now(), reason: endReason, detail: detail ?? this.failure });
    countEnd(this.deps.metrics, endReason, this.deps.caller.tenant);
    this.log.info("call ended", { reason: endReason, detail });
    const recorder = this.recorder;
    this.recorder = null;
    if (recorder) {
      this.deps.flusher.remove(recorder);
      recorder.close().then(
        () => this.deps.store.setCallRecordings(this.callId, recorder.files),
        (err: unknown) => this.log.warn("recording not closed cleanly", { error: String(err) }),
      );
    }
    this.deps.onEnded(this);
  }

  /**
   * Ends the call from our side at once: server shutdown (the dialog abandons an open ticket first),
   * or `error` from a part it cannot go on without (playout, a timer).
   */
  hangupNow(error?: unknown): void {
    if (error === undefined) {
      this.endFromOurSide("shutdown");
      return;
    }
    this.failure ??= error instanceof Error ? error.message : String(error);
    this.log.error("a part of the call failed; ending the call", { error: error instanceof Error ? error.stack ?? error.message : String(error) });
    this.leg.hangup("error");
  }

  /** The console's hang-up button: as a shutdown does, but stored as "console-hangup". */
  hangUpFromConsole(): void {
    this.endFromOurSide("console-hangup");
  }

  private endFromOurSide(reason: string): void {
    if (this.hangupReason === null) {
      this.feed({ type: "serverHangup" });
      this.hangupReason ??= reason;
    }
    this.leg.hangup(this.hangupReason ?? undefined);
  }

  /**
   * The call reaches its dialog: after the caller's first valid audio (PBXes send audio at once; it
   * gives the rate), so a UUID then junk never gets here. The admission queue runs it in its slice
   * when that audio came before the call's turn; otherwise the first tick after it does. Once.
   */
  begin(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (this.deps.recordingsDir !== null) {
      this.recorder = Recorder.open({ dir: this.deps.recordingsDir, callUuid: this.leg.id, sampleRate: this.leg.sampleRate, startedAt: Date.now(), log: this.log, botPlaysLater: this.leg.playsAhead });
      this.deps.flusher.add(this.recorder);
      this.deps.store.setCallRecordings(this.callId, this.recorder.files);
    }
    this.conversation?.start();
    this.feed({ type: "start", callerNumber: this.deps.caller.callerNumber });
  }

  private waitingForCaller(): boolean {
    return !this.closed && this.hangupReason === null && !this.playout.busy;
  }

  private run(actions: DialogAction[]): void {
    for (const action of actions) this.perform(action);
  }

  private perform(action: DialogAction): void {
    const store = this.deps.store;
    const at = Date.now();
    switch (action.type) {
      case "say":
        if (this.closed) return;
        this.speech.say(action);
        return;
      case "think":
        this.conversation?.think(action);
        return;
      case "scribe":
        this.conversation?.scribe(action);
        return;
      case "transfer":
        store.addEvent(this.callId, { kind: "transfer", detail: action.reason, at });
        this.perform({ type: "hangup", reason: "transferred" });
        this.transfer.request(); // without a hand-off there is no transfer: the call just ends
        return;
      case "stopSpeaking":
        this.stopPlayback();
        return;
      case "openTicket": // the doctor's test call leaves no ticket behind
        this.ticketId = this.deps.caller.callerNumber === PROBE_CALLER ? null : store.openTicket(this.callId, { at });
        if (this.ticketId !== null) this.deps.metrics.ticketsOpened++;
        this.feed({ type: "ticketOpened", ticketNumber: this.ticketId ?? 0 });
        return;
      case "updateTicket": {
        if (this.ticketId === null) return;
        const { type: _type, ...fields } = action;
        store.updateTicket(this.ticketId, { ...fields, at });
        return;
      }
      case "record":
        store.addEvent(this.callId, { kind: action.kind, detail: action.detail, at });
        if (action.kind === "dtmf") store.addTurn(this.callId, { speaker: "caller", text: action.detail, startedAt: at, endedAt: at });
        return;
      case "hangup":
        this.hangupReason = action.reason;
        this.silence.stop();
        this.graceTimer = setTimeout(() => this.leg.hangup(action.reason), HANGUP_GRACE_MS);
        return;
    }
  }

  /** The goodbye has been played: the PBX takes the caller to the technician, or the dialog hears why not. */
  private handOver(): void {
    // Once the PBX has the caller, nothing here may hang them up (FreeSWITCH: uuid_kill).
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.transfer.send(this.leg.playbackPendingMs).then((failure) => {
      if (this.transfer.handedOver) this.deps.clock.remove(this); // the PBX has the caller: no more frames
      if (failure === null || this.closed) return;
      this.hangupReason = null;
      this.hangupTail = 0;
      this.feed({ type: "transferFailed", reason: failure });
    });
  }
}
