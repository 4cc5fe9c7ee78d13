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
