import type { LegCloseReason } from "../transports/types.ts";

export interface CallEnding {
  /** How the leg closed. */
  leg: LegCloseReason;
  /** The dialog's reason for hanging up (resolved, transferred, silence…), if it ended the call. */
  dialog: string | null;
  /** The PBX took the caller to a technician. */
  transferSent: boolean;
  /** A part of the call threw and the call was ended for it (CallSession.fail). */
  failed: boolean;
}

/**
 * The end reason stored for a call: the true one, whoever closed the leg. Once the PBX has the
 * caller the call was transferred, however the leg then closes; a hang-up of ours carries the
 * dialog's reason, unless a failure forced it; anything else is what closed the leg.
 */
export function endReasonOf(ending: CallEnding): string {
  if (ending.transferSent) return ending.dialog ?? ending.leg;
  if (ending.failed) return "internal-error";
  if (ending.leg === "server-hangup") return ending.dialog ?? ending.leg;
  return ending.leg;
}
