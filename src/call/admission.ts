import type { AdmitCall, CallLeg, CallLegEvents } from "../transports/types.ts";
import type { Dialog, DialogAction } from "../dialog/types.ts";
import { CallSession, type SessionDeps } from "./session.ts";

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

export type AdmissionDeps = Omit<SessionDeps, "onEnded" | "recordingsDir"> & {
  maxCalls: number;
  recordingsDir: string;
  /** The dialog of an admitted call: AI or keypad, per the configured mode. */
  newDialog: () => Dialog;
};

/** Admits each new leg as a call, or as a busy call above MAX_CONCURRENT_CALLS. */
export class Admission {
  private readonly calls = new Set<CallSession>();
  private readonly busy = new Set<CallSession>();
  private drained: (() => void) | null = null;

  constructor(private readonly deps: AdmissionDeps) {}

  get activeCalls(): number {
    return this.calls.size;
  }

  readonly admit: AdmitCall = (leg: CallLeg): CallLegEvents => {
    const isBusy = this.calls.size >= this.deps.maxCalls;
    const set = isBusy ? this.busy : this.calls;
    if (isBusy) {
      this.deps.metrics.callsRejectedBusy++;
      this.deps.log.warn("all lines busy: call refused", { call: leg.id, peer: leg.peer, maxCalls: this.deps.maxCalls });
    }
    const session = new CallSession(leg, isBusy ? busyDialog() : this.deps.newDialog(), {
      ...this.deps,
      recordingsDir: isBusy ? null : this.deps.recordingsDir,
      conversation: isBusy ? null : this.deps.conversation,
      onEnded: (s) => {
        set.delete(s);
        if (this.drained && this.calls.size === 0 && this.busy.size === 0) this.drained();
      },
    });
    set.add(session);
    return session;
  };

  /** Hang up every call (server stopping) and wait until each has ended. */
  async hangupAll(): Promise<void> {
    if (this.calls.size === 0 && this.busy.size === 0) return;
    const done = new Promise<void>((resolve) => (this.drained = resolve));
    for (const s of [...this.calls, ...this.busy]) s.hangupNow();
    await done;
  }
}
