import type { CallLeg, CallLegEvents, LegCloseReason } from "../transports/types.ts";
import type { AdmissionQueue, QueuedJob } from "./admission-queue.ts";
import type { CallSession } from "./session.ts";

/**
 * A leg the admission took, whose session is built and started by the admission queue (in a later
 * slice when many calls arrive together). Until then the PBX hears nothing from us (Asterisk waits
 * 2 s for a first frame) and the caller's audio is not kept.
 *
 * Ending goes through the same queue: calls that started together end together (same script, same
 * prompts), and a thousand call ends (rows, tickets, recordings closed) done in one tick would stall
 * the calls still talking. The leg is closed at once, so nothing more is sent; the session hears of
 * it in a slice soon after. A leg that closes before its session was started still gets one, so its
 * row is written and ended; it never reaches the dialog.
 */
export class PendingCall implements CallLegEvents {
  private session: CallSession | null = null;
  private readonly job: QueuedJob;
  private failed = false;
  private closing = false;
  /** The caller's audio came before the session was built: the session begins in its slice. */
  private audioSeen = false;

  /** `onFailed` runs when the session could not be built: the call is over, with no session to say so. */
  constructor(
    private readonly leg: CallLeg,
    private readonly create: () => CallSession,
    private readonly queue: AdmissionQueue,
    private readonly onFailed: () => void,
  ) {
    this.job = queue.enqueue(() => this.start());
  }

  /** The call's UUID (the leg's id), as stored. */
  get callUuid(): string {
    return this.leg.id;
  }

  onAudio(samples: Int16Array): void {
    if (this.session) this.session.onAudio(samples);
    else this.audioSeen = true;
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
    this.session?.onRateChange(sampleRate);
  }

  onClose(reason: LegCloseReason, detail?: string): void {
    if (this.failed || this.closing) return;
    this.closing = true;
    this.job.cancel();
    this.queue.enqueue(() => (this.session ?? this.build()).onClose(reason, detail));
  }

  /** Ends the call from our side at once (server shutdown), started or not; a started dialog abandons its ticket. */
  hangupNow(): void {
    if (this.session) this.session.hangupNow();
    else this.leg.hangup();
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
      this.session = this.create();
      return this.session;
    } catch (err) {
      this.failed = true;
      this.onFailed();
      throw err;
    }
  }
}
