/** GET /api/tenants (settings as loaded, secrets never) and GET /api/health (/healthz's and /metrics' figures as JSON). */
import type { Tenant } from "../config/tenant.ts";
import type { MetricFamily } from "./prometheus.ts";
import type { ProviderCheckRun, TrendPoint } from "./health-shapes.ts";
import { json } from "./api-params.ts";

/** A field whose name says it holds a secret is shown as set or not, never its value. */
const SECRET_NAME = /key|token|secret|password|passwd|credential/i;

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_NAME.test(k) ? (v === null || v === "" ? null : "(set)") : redact(v)]));
}

export function tenantsView(tenants: readonly Tenant[], modes: Record<string, string>): Response {
  return json({ tenants: tenants.map((t) => redact({ ...t, modes })) });
}

/**
 * Each family as {help, type, samples}: the same numbers as /metrics; `history`: the last hour, for
 * charts; `providerChecks`: the last on-demand probe of the providers (null before the first).
 */
export function healthView(health: Record<string, unknown>, metrics: readonly MetricFamily[], history: readonly TrendPoint[], providerChecks: ProviderCheckRun | null): Response {
  return json({
    ...(redact(health) as Record<string, unknown>),
    history,
    providerChecks,
    metrics: Object.fromEntries(metrics.map((m) => [m.name, { help: m.help, type: m.type, samples: m.samples }])),
  });
}
