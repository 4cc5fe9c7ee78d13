/** What GET /api/health adds for the console's charts and provider checks; no import, so the page shares these types. */

/** One point of the last-hour charts (`history`). */
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

/** One probe of the last provider check (`providerChecks`, POST /api/health/providers). */
export interface ProviderCheckResult {
  /** "provider.deepgram" or "provider.google" (the recognizer), "provider.llm.groq", "provider.tts", "provider.budget". */
  id: string;
  status: "PASS" | "WARN" | "FAIL";
  detail: string;
  fix?: string;
  ms?: number;
}

export interface ProviderCheckRun {
  at: number;
  results: ProviderCheckResult[];
}
