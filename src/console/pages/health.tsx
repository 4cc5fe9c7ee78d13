/**
 * Tenants and health: each tenant's settings as loaded (secrets only as "(set)"), each part's mode,
 * the listeners and PBX links, the providers' circuits and latencies, and the last hour of the
 * figures /metrics has as small charts. Refreshed every 10 s, as the server samples them.
 */
import { useEffect, useMemo } from "preact/hooks";
import { formatDuration, formatNumber, t, type Key } from "../i18n.ts";
import { percentile, total } from "../parts/histogram.ts";
import { ProviderCheck } from "../parts/provider-check.tsx";
import { TrendChart, type Series } from "../parts/trend-chart.tsx";
import { useApi } from "../parts/use-api.ts";
import type { Health, TenantView } from "../types.ts";

const REFRESH_MS = 10_000;
const STAGES: [string, Key][] = [
  ["voicebot_turn_stt_seconds", "health.stt"],
  ["voicebot_turn_llm_first_token_seconds", "health.llm"],
  ["voicebot_turn_tts_first_byte_seconds", "health.tts"],
  ["voicebot_turn_first_audio_seconds", "health.firstAudio"],
];
const COUNTERS: [string, Key][] = [
  ["voicebot_calls_started_total", "health.callsStarted"],
  ["voicebot_calls_rejected_busy_total", "health.busy"],
  ["voicebot_tickets_opened_total", "health.tickets"],
  ["voicebot_transfers_total", "health.transfers"],
  ["voicebot_barge_ins_total", "health.bargeIns"],
  ["voicebot_playout_underruns_total", "health.underruns"],
  ["voicebot_protocol_errors_total", "health.protocolErrors"],
  ["voicebot_provider_errors_total", "health.providerErrors"],
];
const SHOWN_SETTINGS = ["companyName", "language", "ttsVoice", "transferTarget", "techHours", "timezone", "aliases"];

function ms(seconds: number | null): string {
  return seconds === null ? "—" : `≤ ${formatNumber(seconds * 1000)} ms`;
}

function setting(value: unknown): string {
  const shown = Array.isArray(value) ? value.join(", ") : String(value ?? "");
  return shown === "" ? "—" : shown;
}

function linkState(v: boolean | null | undefined): string {
  return v === null || v === undefined ? t("health.notConfigured") : v ? t("health.up") : t("health.down");
}

export function HealthPage() {
  const health = useApi<Health>("/api/health");
  const tenants = useApi<{ tenants: TenantView[] }>("/api/tenants");
  useEffect(() => {
    const timer = setInterval(health.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [health.reload]);
  const h = health.data;
  const points = h?.history ?? [];
  const charts = useMemo(() => {
    const times = points.map((p) => p.at);
    const line = (label: string, color: string, values: (number | null)[]): Series => ({ label, color, values });
    return {
      times,
      active: [line(t("health.active"), "#2f6fde", points.map((p) => p.activeCalls))],
      started: [line(t("health.callsStarted"), "#2a9d62", points.map((p) => p.callsStarted))],
      latency: [
        line("p50", "#2f6fde", points.map((p) => (p.firstAudioP50 === null ? null : p.firstAudioP50 * 1000))),
        line("p95", "#d9822b", points.map((p) => (p.firstAudioP95 === null ? null : p.firstAudioP95 * 1000))),
      ],
      underruns: [line(t("health.underruns"), "#c23b3b", points.map((p) => p.underruns))],
    };
  }, [points]);
  if (health.error !== null) return <p class="error" role="alert">{health.error}</p>;
  if (h === null) return <p class="loading">{t("loading")}</p>;
  const circuits = Object.entries((h.providers ?? {}) as Record<string, { state: string; failures: number; opens: number }>);
  return (
    <section class="health" data-health>
      <h1>{t("nav.health")} <span class={`tag ${h.status === "ok" ? "status-resolved" : "status-escalated"}`}>{h.status}</span></h1>
      <div class="columns">
        <dl class="facts card">
          <div><dt>{t("health.version")}</dt><dd>{h.version}</dd></div>
          <div><dt>{t("health.uptime")}</dt><dd>{formatDuration((h.uptimeSeconds ?? 0) * 1000)}</dd></div>
          <div><dt>{t("health.active")}</dt><dd data-active-calls>{h.activeCalls} / {h.maxCalls}</dd></div>
          {Object.entries(h.listeners ?? {}).map(([name, where]) => <div key={name}><dt>{name}</dt><dd>{String(where)}</dd></div>)}
          <div><dt>AMI</dt><dd>{linkState(h.control?.ami)}</dd></div>
          <div><dt>ESL</dt><dd>{linkState(h.control?.esl)}</dd></div>
          {Object.entries(h.modes ?? {}).map(([part, mode]) => <div key={part}><dt>{part.toUpperCase()}</dt><dd>{mode}</dd></div>)}
        </dl>
        <div class="card">
          <h2>{t("health.providers")}</h2>
          <ProviderCheck last={h.providerChecks ?? null} />
          <table class="list compact">
            <thead><tr><th>{t("health.stage")}</th><th>p50</th><th>p95</th></tr></thead>
            <tbody>
              {STAGES.map(([name, key]) => (
                <tr key={name}><td>{t(key)}</td><td>{ms(percentile(h.metrics[name], 0.5))}</td><td>{ms(percentile(h.metrics[name], 0.95))}</td></tr>
              ))}
            </tbody>
          </table>
          {circuits.length > 0 && (
            <table class="list compact">
              <thead><tr><th>{t("health.provider")}</th><th>{t("health.circuit")}</th><th>{t("health.failures")}</th><th>{t("health.opens")}</th></tr></thead>
              <tbody>
                {circuits.map(([id, c]) => <tr key={id}><td>{id}</td><td>{c.state}</td><td>{c.failures}</td><td>{c.opens}</td></tr>)}
              </tbody>
            </table>
          )}
          <table class="list compact" data-counters>
            <tbody>
              {COUNTERS.map(([name, key]) => <tr key={name}><td>{t(key)}</td><td>{formatNumber(total(h.metrics[name]))}</td></tr>)}
            </tbody>
          </table>
        </div>
      </div>
      <h2>{t("health.lastHour")}</h2>
      {points.length < 2 && <p class="muted">{t("health.gathering")}</p>}
      <div class="charts" data-charts>
        <TrendChart title={t("health.active")} times={charts.times} series={charts.active} counts />
        <TrendChart title={t("health.startedPer10s")} times={charts.times} series={charts.started} counts />
        <TrendChart title={t("health.firstAudio")} times={charts.times} series={charts.latency} unit=" ms" floor={1000} />
        <TrendChart title={t("health.underruns")} times={charts.times} series={charts.underruns} counts />
      </div>
      <h2>{t("health.tenants")}</h2>
      {tenants.error !== null && <p class="error">{tenants.error}</p>}
      <div class="tenants">
        {(tenants.data?.tenants ?? []).map((tn) => (
          <article class="card" key={tn.id} data-tenant={tn.id}>
            <h3>{tn.id}</h3>
            <dl class="facts">
              {SHOWN_SETTINGS.filter((k) => tn[k] !== undefined).map((k) => (
                <div key={k}><dt>{k}</dt><dd>{setting(tn[k])}</dd></div>
              ))}
              {Object.entries(tn.modes).map(([part, mode]) => <div key={part}><dt>{part.toUpperCase()}</dt><dd>{mode}</dd></div>)}
            </dl>
            <details>
              <summary>{t("health.allSettings")}</summary>
              <pre>{JSON.stringify(tn, null, 2)}</pre>
            </details>
          </article>
        ))}
      </div>
    </section>
  );
}
