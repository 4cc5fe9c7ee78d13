/** The running service's /healthz, as doctor, install and upgrade read it. */
import type { Config } from "../config/schema.ts";

export interface Health {
  status: string;
  version?: string;
  activeCalls?: number;
  listeners?: { audiosocket?: string; audiostream?: string; websocket?: string; asp?: string };
  modes?: Record<string, string>;
  /** Each provider's circuit breaker (ms since the epoch for the times). */
  providers?: Record<string, { state: string; failures: number; openSince: number | null; openUntil: number | null }>;
  /** The store's state; with PostgreSQL, its write queue. */
  store?: { backend: string; state: string; queued?: number; journaled?: number; dropped?: number; degradedSince?: number | null; lastError?: string | null };
}

/** Where a local client reaches a listener: a wildcard bind answers on loopback. */
export function localHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "::1";
  return host;
}

export function adminUrl(config: Config, path: string): string {
  const host = localHost(config.http.host);
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.http.port}${path}`;
}

/** The body of a 200 /healthz, or null when nothing (or not voicebot) answers. */
export async function fetchHealth(config: Config, signal: AbortSignal): Promise<Health | null> {
  try {
    const res = await fetch(adminUrl(config, "/healthz"), { signal: AbortSignal.any([signal, AbortSignal.timeout(1500)]) });
    if (res.status !== 200) return null;
    const body = (await res.json()) as Partial<Health>;
    return typeof body.status === "string" ? (body as Health) : null;
  } catch {
    return null;
  }
}

/** Polls /healthz until it answers 200 or `timeoutMs` passes. */
export async function waitForHealth(config: Config, timeoutMs: number): Promise<Health | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const h = await fetchHealth(config, AbortSignal.timeout(Math.max(100, deadline - Date.now())));
    if (h) return h;
    await Bun.sleep(250);
  }
  return null;
}
