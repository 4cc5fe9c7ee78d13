/**
 * The caller's number as a PBX reports it, kept only when a technician could call it back.
 * PBXes fill the caller id when there is none: FreeSWITCH sends `0000000000` (its default),
 * SIP and Asterisk `anonymous`, `Anonymous`, `unknown`, `restricted`, `+` or an empty field.
 * Taken for a number, such a value made both dialogs skip asking for one. Every transport's
 * caller info goes through here where it is parsed, so past this edge a caller number is either
 * callable or null.
 */

/** The caller id `voicebot doctor` registers its synthetic calls with: they leave no ticket behind. */
export const PROBE_CALLER = "voicebot-doctor";
/**
 * The same marker on the doctor's call from Asterisk: AMI Originate passes the CallerID number
 * through ast_shrink_phone_number, which drops every "-" (main/manager.c, main/callerid.c).
 */
const PROBE_CALLER_SHRUNK = PROBE_CALLER.replace(/-/g, "");

/** What a caller id field may hold at all (digits and + * #, sometimes "anonymous" or a SIP user): printable, short. */
export const CALLER_ID_TEXT = /^[\p{L}\p{N}+*#@._ -]{1,64}$/u;

const CALLABLE = /^\+?[0-9][0-9 ().-]*$/;
// All zeros is no one's number: FreeSWITCH's "no caller id", however many digits it is set to.
const SOME_NONZERO_DIGIT = /[1-9]/;

/** The trimmed number, or null when it is none (see above); the doctor's marker passes, as PROBE_CALLER. */
export function callableNumber(callerId: string | null): string | null {
  const trimmed = callerId?.trim() ?? "";
  if (trimmed === PROBE_CALLER || trimmed === PROBE_CALLER_SHRUNK) return PROBE_CALLER;
  return CALLABLE.test(trimmed) && SOME_NONZERO_DIGIT.test(trimmed) ? trimmed : null;
}
