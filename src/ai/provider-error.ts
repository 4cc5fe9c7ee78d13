/** What every provider failure carries: who failed, how, and whether a retry may help. */
export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    readonly provider: string,
    message: string,
    /** HTTP status when there was one. */
    readonly status: number | null,
    /** A retry may succeed (timeouts, stalls, 408/409/429/5xx, broken streams); 400/401/403/404 will not. */
    readonly retryable: boolean,
  ) {
    super(`${provider}: ${message}`);
  }
}

/** 408, 409, 429 and 5xx may pass on a retry; other statuses (400, 401, 403, 404, 422) will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export type ProviderErrorKind = "auth" | "rate_limit" | "timeout" | "server" | "client" | "network";

/** What went wrong, coarsely enough to count: auth and rate limits need the admin, the rest is weather. */
export function providerErrorKind(error: unknown): ProviderErrorKind {
  const status = error instanceof ProviderError ? error.status : null;
  const message = error instanceof Error ? error.message : String(error);
  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "rate_limit";
  if (status === 408 || /timed out|timeout|stalled|no response within|no audio for|no first token/i.test(message)) return "timeout";
  if (status !== null && status >= 500) return "server";
  if (status !== null) return "client";
  return "network";
}

/** Where the AI layer reports each provider failure and each fallback; serve counts them for /metrics. */
export interface ProviderEvents {
  error(provider: string, kind: ProviderErrorKind): void;
  fallback(from: string, to: string, reason: string): void;
}
