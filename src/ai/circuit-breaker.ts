/**
 * A circuit breaker per provider: after `failures` failures in a row (errors and missed deadlines
 * alike) the provider is skipped for `cooldownMs`, so the next calls go straight to the fallback
 * instead of each paying the timeout. Then one trial request is let through (half-open): its
 * success closes the breaker, its failure opens it again for another cool-down.
 *
 * Users ask `allow()` before a request and report its outcome with `success()` or `failure()`. A
 * trial whose outcome never comes (the caller hung up mid-request) does not wedge the breaker: after
 * another cool-down a new trial is let through.
 */
import type { Logger } from "../log.ts";
import { callFields } from "./call-context.ts";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures in a row so far (reset by a success). */
  failures: number;
  /** When the breaker last opened (ms since the epoch); null = never, or closed since. */
  openSince: number | null;
  /** Until when requests are skipped; null unless open. */
  openUntil: number | null;
  /** Times it opened since start-up. */
  opens: number;
}

export interface BreakerOptions {
  /** Failures in a row that open the breaker (PROVIDER_BREAKER_FAILURES, default 3). */
  failures: number;
  /** How long an open breaker skips the provider (PROVIDER_BREAKER_COOLDOWN, default 30 s). */
  cooldownMs: number;
  log: Logger;
  /** The clock; tests pass their own. */
  now?: () => number;
}

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt: number | null = null;
  private until: number | null = null;
  /** Half-open: when the trial request was let through; null = none in flight. */
  private trialAt: number | null = null;
  private opened = 0;
  private readonly now: () => number;

  constructor(
    readonly provider: string,
    private readonly options: BreakerOptions,
  ) {
    if (!Number.isInteger(options.failures) || options.failures < 1) {
      throw new Error(`circuit breaker ${provider}: failures ${options.failures} is invalid; an integer ≥ 1 is allowed`);
    }
    if (!Number.isFinite(options.cooldownMs) || options.cooldownMs <= 0) {
      throw new Error(`circuit breaker ${provider}: cooldownMs ${options.cooldownMs} is invalid; a number of milliseconds > 0 is allowed`);
    }
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.until === null) return "closed";
    return this.now() < this.until ? "open" : "half-open";
  }

  /** Whether a request may go to the provider now. In half-open, only one trial at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open") return false;
    const now = this.now();
    if (this.trialAt !== null && now - this.trialAt < this.options.cooldownMs) return false;
    this.trialAt = now;
    this.options.log.warn("provider circuit half-open: one trial request", { ...callFields(), provider: this.provider });
    return true;
  }

  success(): void {
    this.consecutive = 0;
    if (this.until === null) return;
    this.options.log.warn("provider circuit closed: the provider answers again", {
      ...callFields(), provider: this.provider, openForMs: this.openedAt === null ? undefined : this.now() - this.openedAt,
    });
    this.until = null;
    this.openedAt = null;
    this.trialAt = null;
  }

  /** `why` goes to the log line when this failure opens the breaker. */
  failure(why?: string): void {
    this.consecutive++;
    const halfOpen = this.until !== null && this.state === "half-open";
    if (!halfOpen && (this.until !== null || this.consecutive < this.options.failures)) return;
    const now = this.now();
    this.opened++;
    this.openedAt ??= now;
    this.until = now + this.options.cooldownMs;
    this.trialAt = null;
    this.options.log.warn(halfOpen ? "provider circuit re-opened: the trial request failed" : "provider circuit opened: skipping the provider", {
      ...callFields(), provider: this.provider, failures: this.consecutive, cooldownMs: this.options.cooldownMs, why,
    });
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    return {
      state,
      failures: this.consecutive,
      openSince: this.openedAt,
      openUntil: state === "open" ? this.until : null,
      opens: this.opened,
    };
  }
}

/** Every provider's breaker, made on first use and listed for /healthz, /metrics and doctor. */
export class ProviderBreakers {
  private readonly byProvider = new Map<string, CircuitBreaker>();

  constructor(private readonly options: BreakerOptions) {}

  /** The breaker of `provider` (e.g. "groq:llama-3.3-70b-versatile"), the same object every time. */
  for(provider: string): CircuitBreaker {
    let breaker = this.byProvider.get(provider);
    if (!breaker) {
      breaker = new CircuitBreaker(provider, this.options);
      this.byProvider.set(provider, breaker);
    }
    return breaker;
  }

  snapshot(): Record<string, BreakerSnapshot> {
    return Object.fromEntries([...this.byProvider].map(([provider, breaker]) => [provider, breaker.snapshot()]));
  }
}
