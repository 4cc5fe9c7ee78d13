/**
 * The console's "check the providers now": the doctor's provider probes (a short recognition, a
 * one-token completion per model, a first byte of speech) run on demand from the health view, with
 * their latency. Each run costs a few provider requests, so a run within 30 s of the last gives
 * the last one back, and two clicks at once share one run.
 */
import { json } from "./api-params.ts";
import type { ProviderCheckResult, ProviderCheckRun } from "./health-shapes.ts";

export type ProbeProviders = (signal: AbortSignal) => Promise<ProviderCheckResult[]>;

const REUSE_MS = 30_000;
const TIMEOUT_MS = 10_000;

export class ProviderChecks {
  private lastRun: ProviderCheckRun | null = null;
  private running: Promise<ProviderCheckRun> | null = null;

  constructor(private readonly probe: ProbeProviders, private readonly now: () => number = Date.now) {}

  get last(): ProviderCheckRun | null {
    return this.lastRun;
  }

  /** POST /api/health/providers. */
  async check(): Promise<Response> {
    if (this.lastRun !== null && this.now() - this.lastRun.at < REUSE_MS) return json({ ...this.lastRun, reused: true });
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return json(await this.running);
  }

  private async run(): Promise<ProviderCheckRun> {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    let results: ProviderCheckResult[];
    try {
      results = await this.probe(signal);
    } catch (err) {
      const detail = signal.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : err instanceof Error ? err.message : String(err);
      results = [{ id: "provider", status: "FAIL", detail, fix: "run `voicebot doctor` on the server for the details" }];
    }
    this.lastRun = { at: this.now(), results };
    return this.lastRun;
  }
}
