import type { PlayoutClock } from "../media/playout-clock.ts";
import type { CallLeg, CallLegEvents, LegCloseReason } from "../transports/types.ts";
import type { AdmissionQueue, QueuedJob } from "./admission-queue.ts";
import type { CallMetrics } from "./metrics.ts";
import { PreRoll, type Opening } from "./pre-roll.ts";
import type { CallClockTarget } from "./session-deps.ts";
import type { CallSession } from "./session.ts";

/** What a call's greeting needs before its session exists (pre-roll.ts). */
export interface GreetingDeps {
  clock: PlayoutClock<CallClockTarget>;
  metrics: CallMetrics;
  /** The dialog's opening at this rate from the phrase cache, or null (not cached: the session says it). */
  opening: (rate: number) => Opening | null;
}

/**
 * A leg the admission took, whose session is built and started by the admission queue (in a later
 * slice when many calls arrive together). Until then the caller's audio is not kept, and from the
 * caller's first audio the greeting plays already (pre-roll.ts) when the phrase cache has it;
 * otherwise the PBX hears nothing from us until the session speaks (Asterisk waits 2 s).
 *
 * Ending goes through the same queue: calls that started together end together (same script, same
 * prompts), and a thousand call ends (rows, tickets, recordings closed) done in one tick would stall
 * the calls still talking. The leg is closed at once, so nothing more is sent; the session hears of
 * it in a slice soon after. A leg that closes before its session was started still gets one, so its
 * row is written and ended; it never reaches the dialog.
 */
export class PendingCall implements CallLegEvents, CallClockTarget {
  private session: CallSession | null = null;
  private preRoll: PreRoll | null = null;
  private readonly job: QueuedJob;
  private failed = false;
  private closing = false;
  /** The caller's audio came before the session was built: the session begins in its slice. */
  private audioSeen = false;

  /** `onFailed` runs when the session could not be built: the call is over, with no session to say so. */
  constructor(
    private readonly leg: CallLeg,
    private readonly create: (preRoll: PreRoll | null) => CallSession,
    private readonly queue: AdmissionQueue,
    private readonly onFailed: () => void,
    private readonly greeting: GreetingDeps,
  ) {
    // Until its greeting plays, the call sends the PBX nothing: its start may then grow urgent.
    this.job = queue.enqueue(() => this.start(), () => this.preRoll === null);
  }

  /** The call's UUID (the leg's id), as stored. */
  get callUuid(): string {
    return this.leg.id;
  }

  onAudio(samples: Int16Array): void {
    if (this.session) {
      this.session.onAudio(samples);
      return;
    }
    if (!this.audioSeen) this.startGreeting();
    this.audioSeen = true;
  }

  /** The clock's tick while the greeting plays before the session (which then takes this slot). */
  onTick(): void {
    this.preRoll?.tick(this.leg, this.greeting.metrics);
  }

  private startGreeting(): void {
    if (this.failed || this.closing) return;
    const opening = this.greeting.opening(this.leg.sampleRate);
    if (opening === null) return;
    this.preRoll = new PreRoll(this.leg.sampleRate, opening, this);
    this.greeting.clock.add(this);
  }

  /** The greeting playing for the session-to-be is dropped (the call ends, or its rate changed). */
  private dropGreeting(): void {
    if (this.preRoll === null) return;
    this.preRoll = null;
    this.greeting.clock.remove(this);
  }

  onPlayedAudio(samples: Int16Array): void {
    this.session?.onPlayedAudio(samples);
  }

  /**
   * Digits go through the queue as well, in order and after the start: callers who heard the same
   * prompt press their keys together, and each digit moves the dialog (rows, the next prompt).
   */
  onDtmf(digit: string): void {
    if (this.failed || this.closing) return;
    this.queue.enqueue(() => this.session?.onDtmf(digit));
  }

  /** Before the session exists the leg's own rate is enough: the session starts at it. */
  onRateChange(sampleRate: number): void {
    if (this.session) this.session.onRateChange(sampleRate);
    // The session will say it again at the new rate, from its start.
    else this.dropGreeting();
  }

  onClose(reason: LegCloseReason, detail?: string): void {
    if (this.failed || this.closing) return;
    this.closing = true;
    this.job.cancel();
    if (this.session === null) this.dropGreeting();
    this.queue.enqueue(() => (this.session ?? this.build()).onClose(reason, detail));
  }

  /**
   * Ends the call from our side at once (server shutdown, or `error`: the greeting's tick threw),
   * started or not; a started dialog abandons its ticket.
   */
  hangupNow(error?: unknown): void {
    if (this.session) this.session.hangupNow(error);
    else this.leg.hangup(error === undefined ? undefined : "error");
  }

  /** The console's hang-up button: ended at once, started or not, stored as "console-hangup". */
  hangUpFromConsole(): void {
    if (this.session) this.session.hangUpFromConsole();
    else this.leg.hangup();
  }

  private start(): void {
    let session: CallSession;
    try {
      session = this.build();
    } catch (err) {
      this.leg.hangup();
      throw err;
    }
    if (this.audioSeen) session.begin();
  }

  /** The session; when it cannot be built the call is over, with no session to say so. */
  private build(): CallSession {
    try {
      this.session = this.create(this.preRoll);
      this.preRoll = null;
      return this.session;
    } catch (err) {
      this.failed = true;
      this.dropGreeting();
      this.onFailed();
      throw err;
    }
  }
}
