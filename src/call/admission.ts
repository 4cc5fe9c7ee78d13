import type { AdmitCall, CallLeg, CallLegEvents } from "../transports/types.ts";
import type { Dialog, DialogAction } from "../dialog/types.ts";
import type { AdmissionQueue } from "./admission-queue.ts";
import type { CallDirectory, CallInfo } from "./call-directory.ts";
import type { CallProfile } from "./call-profile.ts";
import { voiceAtRate } from "../ai/tts/types.ts";
import { callStartSegments } from "../media/phrase-audio.ts";
import type { HandOff } from "./hand-off.ts";
import { PendingCall } from "./pending-call.ts";
import type { Opening, PreRoll } from "./pre-roll.ts";
import { CallSession } from "./session.ts";
import type { SessionDeps } from "./session-deps.ts";

/**
 * All lines busy: one phrase, then hang up. A dialog of its own so the busy call goes through
 * the same session (row, pacing, clean end) as any other, minus the ticket and the recording.
 */
function busyDialog(): Dialog {
  let done = false;
  return {
    get state() {
      return "GOODBYE" as const;
    },
    opening: ["busy"],
    handle(event): DialogAction[] {
      if (event.type !== "start" || done) return [];
      done = true;
      return [
        { type: "say", utteranceId: 1, parts: [{ phrase: "busy" }], interruptible: false, awaitInput: false },
        { type: "hangup", reason: "busy" },
      ];
    },
  };
}

/**
 * How long a line stays kept for a registered call that has not arrived: the dialplan runs
 * AudioSocket() right after CURL() (its connect timeout is 2 s); longer only if the PBX is stuck.
 */
const RESERVATION_MS = 5000;

type PerCall = "onEnded" | "recordingsDir" | "caller" | "transfer" | "phrases" | "texts" | "tts" | "conversation" | "preRoll";

/** A call's registration (AudioSocket), tenant profile, hand-off and dialog. */
interface Chosen {
  registered: CallInfo | null;
  profile: CallProfile;
  transfer: SessionDeps["transfer"];
  dialog: Dialog;
}

export type AdmissionDeps = Omit<SessionDeps, PerCall> & {
  maxCalls: number;
  /** WHEN_FULL: `refuse` makes `refusingNew` true when full or stopping, so transports refuse at the door. */
  whenFull: "busy" | "refuse";
  recordingsDir: string;
  /** The profile of a tenant id (the default tenant's for an id it does not know). */
  profile: (tenant: string) => CallProfile;
  /** AudioSocket calls learn caller, DNIS and tenant from the dialplan's registration. */
  directory: CallDirectory;
  handOff: HandOff | null;
  /** Builds and starts new calls a slice at a time. */
  queue: AdmissionQueue;
};

/**
 * Admits each new leg as a call, or as a busy call above MAX_CONCURRENT_CALLS. The count and the
 * busy decision are made at once; the session is built and started by the admission queue.
 */
export class Admission {
  private readonly calls = new Set<PendingCall>();
  private readonly busy = new Set<PendingCall>();
  private drained: (() => void) | null = null;

  constructor(private readonly deps: AdmissionDeps) {}

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Stopping: live calls go on, new ones hear the all-lines-busy phrase (or are refused: WHEN_FULL=refuse). */
  private draining = false;

  /**
   * Lines kept for registered calls not arrived yet (uuid → until, performance.now()): two
   * registrations racing for the last line must not both get it, or the second call's AudioSocket
   * would be refused after the dialplan has committed to this appliance.
   */
  private readonly reserved = new Map<string, number>();

  private liveReservations(): number {
    const now = performance.now();
    for (const [uuid, until] of this.reserved) if (until <= now) this.reserved.delete(uuid);
    return this.reserved.size;
  }

  private full(keptLines: number): boolean {
    return this.deps.whenFull === "refuse" && (this.draining || this.calls.size + keptLines >= this.deps.maxCalls);
  }

  /** Each refusal counts once: the transports and the registration ask once per new call. */
  private refused(yes: boolean): boolean {
    if (yes) this.deps.metrics.callsRefusedFull++;
    return yes;
  }

  /** WHEN_FULL=refuse and no line left, kept ones included: a new WebSocket call is refused, the PBX tries its next appliance. */
  readonly refusingNew = (): boolean => this.refused(this.full(this.liveReservations()));

  /**
   * WHEN_FULL=refuse and every line taken by a live call: an AudioSocket connection is refused. Kept
   * lines do not count: the connection may be the registered call its line was kept for.
   */
  readonly refusingConnection = (): boolean => this.refused(this.full(0));

  /** The dialplan's registration: false = refused (full), else a line is kept for the call until it arrives. */
  reserve(uuid: string): boolean {
    if (this.deps.whenFull !== "refuse") return true;
    if (!this.reserved.has(uuid) && this.refused(this.full(this.liveReservations()))) return false;
    this.reserved.set(uuid, performance.now() + RESERVATION_MS);
    return true;
  }

  readonly admit: AdmitCall = (leg: CallLeg): CallLegEvents => {
    this.reserved.delete(leg.id);
    const isBusy = this.draining || this.calls.size >= this.deps.maxCalls;
    const set = isBusy ? this.busy : this.calls;
    if (isBusy) {
      this.deps.metrics.callsRejectedBusy++;
      this.deps.log.warn("all lines busy: call refused", { call: leg.id, peer: leg.peer, maxCalls: this.deps.maxCalls });
    }
    let pending: PendingCall | null = null;
    const gone = (): void => {
      if (pending !== null) set.delete(pending);
      if (this.drained && this.calls.size === 0 && this.busy.size === 0) this.drained();
    };
    // Who called and the dialog, chosen once: at the caller's first audio for the greeting, else at the session's build.
    let chosen: Chosen | null = null;
    const choose = (): Chosen => (chosen ??= this.choose(leg, isBusy));
    const opening = (rate: number): Opening | null => {
      const { profile, dialog } = choose();
      const keys = dialog.opening;
      const audio = keys === undefined ? null : profile.phrases.audioFor(keys, rate);
      return keys === undefined || audio === null ? null : { keys, audio: callStartSegments(audio, rate) };
    };
    const create = (preRoll: PreRoll | null): CallSession => {
      const { registered, profile, transfer, dialog } = choose();
      let cancelLate = (): void => {};
      const session = new CallSession(leg, dialog, {
        ...this.deps,
        phrases: profile.phrases,
        texts: profile.texts,
        // The voice at the call's own rate when it can produce it (Aura): no resampling.
        tts: voiceAtRate(profile.tts, leg.sampleRate),
        caller: { callerNumber: leg.callerNumber ?? registered?.callerNumber ?? null, dnis: leg.dnis ?? registered?.dnis ?? null, tenant: profile.tenant.id },
        transfer,
        preRoll,
        recordingsDir: isBusy ? null : this.deps.recordingsDir,
        conversation: isBusy ? null : profile.conversation,
        onEnded: () => {
          cancelLate();
          gone();
        },
      });
      if (leg.transport === "audiosocket" && registered === null) {
        cancelLate = this.deps.directory.awaitLate(leg.id, (info) => {
          session.log.info("the dialplan's registration came after the call", { caller: info.callerNumber ?? undefined });
          this.deps.store.setCallCaller(session.callId, info.callerNumber, info.dnis);
        });
      }
      return session;
    };
    pending = new PendingCall(leg, create, this.deps.queue, gone, { clock: this.deps.clock, metrics: this.deps.metrics, opening });
    set.add(pending);
    return pending;
  };

  private choose(leg: CallLeg, isBusy: boolean): Chosen {
    const registered = leg.transport === "audiosocket" ? this.deps.directory.take(leg.id) : null;
    const profile = this.deps.profile(registered?.tenant ?? leg.tenant);
    const target = profile.tenant.transferTarget;
    const handOff = this.deps.handOff;
    const transfer = !isBusy && target !== null && handOff?.available(leg.transport) ? { handOff, target } : null;
    return { registered, profile, transfer, dialog: isBusy ? busyDialog() : profile.newDialog(transfer !== null) };
  }

  /**
   * Stop taking calls and wait up to `ms` for the live ones to end by themselves (a service stop
   * that lets callers finish); true when none is left.
   */
  async drain(ms: number): Promise<boolean> {
    this.draining = true;
    if (this.calls.size === 0 && this.busy.size === 0) return true;
    const done = new Promise<boolean>((resolve) => {
      this.drained = () => resolve(true);
      setTimeout(() => resolve(false), ms).unref();
    });
    return done;
  }

  /** Hang up one live call (the console's button); false when no live call has that UUID. */
  hangup(callUuid: string): boolean {
    const id = callUuid.toLowerCase();
    for (const c of this.calls) {
      if (c.callUuid.toLowerCase() !== id) continue;
      c.hangUpFromConsole();
      return true;
    }
    return false;
  }

  /** Hang up every call (server stopping) and wait until each has ended. */
  async hangupAll(): Promise<void> {
    if (this.calls.size === 0 && this.busy.size === 0) return;
    const done = new Promise<void>((resolve) => (this.drained = resolve));
    for (const s of [...this.calls, ...this.busy]) s.hangupNow();
    await done;
  }
}
