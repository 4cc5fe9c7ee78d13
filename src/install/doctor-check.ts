/**
 * The shape of one `voicebot doctor` check. Each check file exports checks; doctor.ts runs them
 * all in parallel, each under its own time limit, and prints one line per result.
 */
import type { Config } from "../config/schema.ts";

export type CheckStatus = "PASS" | "WARN" | "FAIL";

export interface CheckResult {
  /** Stable id scripts match on (`--json`), e.g. "disk", "provider.deepgram", "call.audiosocket". */
  id: string;
  status: CheckStatus;
  /** What was found, one line: "Debian 12 (bookworm), x86_64". */
  detail: string;
  /** One line telling the admin what to do; required for WARN and FAIL. */
  fix?: string;
  /** How long the check took, when that is the point (latency checks). */
  ms?: number;
}

export interface DoctorContext {
  /** The validated config, or null when it does not load (the "config" check says why). */
  config: Config | null;
  /** The one-line ConfigError when the config does not load. */
  configError: string | null;
  /** "/" on a real host; a staging root in tests and under `install --root` (files are read under it). */
  root: string;
  /** The environment the checks may read (injectable in tests). */
  env: Record<string, string | undefined>;
  /** Aborted when the doctor's overall time limit passes; network checks must give up then. */
  signal: AbortSignal;
}

export interface Check {
  /** The id of its result (a check may return several results, each with its own id). */
  id: string;
  /** Milliseconds this check may take before it is reported as FAIL "timed out" (default 3000). */
  timeoutMs?: number;
  run(ctx: DoctorContext): Promise<CheckResult | CheckResult[]>;
}
