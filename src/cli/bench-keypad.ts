/**
 * What the benches of keypad calls share (the offline bench and the fleet): the caller's script,
 * how long a greeting may take, the environment that keeps a developer's keys out of the run, and
 * when a call counts as having gone the whole way.
 */
import type { CallResult, ScriptStep } from "../simulate/call-types.ts";

/** The SAV flow's resolved path: internet problem, the fix works. */
export const KEYPAD_SCRIPT: readonly ScriptStep[] = [{ dtmf: "1" }, { dtmf: "1" }];
export const KEYPAD_GREETING_TIMEOUT_MS = 3000;
/** Keys in the shell's environment must not turn an offline bench into a paid cloud run. */
export const NO_PROVIDER_KEYS: Readonly<Record<string, string>> = {
  VOICEBOT_DEEPGRAM_API_KEY: "", VOICEBOT_GROQ_API_KEY: "", VOICEBOT_OPENAI_API_KEY: "", VOICEBOT_ANTHROPIC_API_KEY: "",
};

/** Why a finished keypad call counts as failed, or null when it went the whole way. */
export function keypadFailureOf(r: CallResult): string | null {
  if (r.error !== null) return r.error;
  if (r.hungUpBy !== "server") return "the caller hung up";
  if (!r.serverSentHangup) return r.audiostream ? "the server ended the stream without uuid_kill" : r.websocket ? "the server closed the connection without HANGUP" : "the server closed the connection without 00 00 00";
  if ((r.websocket?.queuedAtHangupMs ?? 0) > 0) return `HANGUP came with ${r.websocket!.queuedAtHangupMs} ms of the goodbye still queued`;
  const lastDigit = r.actions.findLast((a) => "dtmf" in a);
  if (r.digitsSent !== "11" || lastDigit === undefined) return `the server hung up before the goodbye (digits sent: "${r.digitsSent}")`;
  if (!r.utterances.some((u) => u.startMs > lastDigit.atMs)) return "the server hung up without speaking after the last digit";
  return null;
}
