/**
 * How the PBX control clients (ESL, AMI) wait between connection attempts. A PBX back after a
 * restart must be found within a second: calls wait for it (FreeSWITCH file playback and DTMF go
 * through ESL). A PBX that refuses us (password, ACL) is only fixed by its admin, and a login
 * retried every second fills its log (and fail2ban's asterisk filter bans on it), so refusals back
 * off further.
 */
export interface ReconnectPolicy {
  /** The first wait; each failed attempt doubles it up to the cap. */
  initialMs: number;
  /** The cap after a connection failure or loss. */
  maxMs: number;
  /** The cap after the PBX refused us. */
  refusedMaxMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 250, maxMs: 1000, refusedMaxMs: 30_000 };

/**
 * The wait before retry number `attempt` (0 for the first): the doubled step, capped, times a
 * jitter of half to all of it, so that the cap is the longest wait.
 */
export function reconnectDelayMs(policy: ReconnectPolicy, attempt: number, refused: boolean, random = Math.random()): number {
  const cap = refused ? Math.max(policy.refusedMaxMs, policy.maxMs) : policy.maxMs;
  const step = Math.min(cap, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(step * (0.5 + random * 0.5));
}
