import type { Logger } from "../log.ts";
import type { CallLegEvents, LegCloseReason } from "./types.ts";

/**
 * The call hears that its leg closed exactly once, from either transport. A close can come while
 * admit() is still running (the call's own start-up hangs up): it is held, and delivered as soon
 * as the call's events exist.
 */
export class LegClose {
  private done = false;
  private held: { reason: LegCloseReason; detail: string | undefined } | null = null;
  private events: CallLegEvents | null = null;

  /** The call is admitted; a close that came first is delivered now. True when it did (the call is over). */
  admitted(events: CallLegEvents, log: Logger): boolean {
    this.events = events;
    const held = this.held;
    if (held === null) return false;
    this.held = null;
    deliver(events, held.reason, held.detail, log);
    return true;
  }

  close(reason: LegCloseReason, detail: string | undefined, log: Logger): void {
    if (this.done) return;
    this.done = true;
    if (this.events === null) this.held = { reason, detail };
    else deliver(this.events, reason, detail, log);
  }
}

function deliver(events: CallLegEvents, reason: LegCloseReason, detail: string | undefined, log: Logger): void {
  try {
    events.onClose(reason, detail);
  } catch (error) {
    log.error(`call close handler failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
