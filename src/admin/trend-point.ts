/** One point of the console's last-hour charts (GET /api/health `history`); no import, so the page shares it. */
export interface TrendPoint {
  at: number;
  activeCalls: number;
  /** Calls started during the interval. */
  callsStarted: number;
  /** Playout underruns during the interval. */
  underruns: number;
  /** Seconds; null when no turn ended in the interval. */
  firstAudioP50: number | null;
  firstAudioP95: number | null;
}
