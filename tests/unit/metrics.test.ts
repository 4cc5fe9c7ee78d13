import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { LatencyHistogram } from "../../src/call/latency-histogram.ts";
import { countEnd, countFallback, countProviderError, countStart, newCallMetrics, providerEventsFor } from "../../src/call/metrics.ts";
import { renderPrometheus } from "../../src/admin/prometheus.ts";
import { metricFamilies } from "../../src/cli/serve-metrics.ts";
import { ProviderError, providerErrorKind } from "../../src/ai/provider-error.ts";
import { PlayoutClock } from "../../src/media/playout-clock.ts";
import { newTransportStats } from "../../src/transports/types.ts";

function scrape(): string {
  const calls = newCallMetrics();
  countStart(calls, "acme");
  countEnd(calls, "resolved", "acme");
  calls.turnLatency.firstAudio.observe(640);
  countProviderError(calls, "groq:llama", new ProviderError("groq:llama", "HTTP 429", 429, true));
  countFallback(calls, "groq:llama", "openai:gpt-4.1-mini", "slow-first-token");
  const clock = new PlayoutClock(() => undefined);
  const text = renderPrometheus(metricFamilies({
    activeCalls: 1, maxCalls: 20, calls, clock: clock.stats, transports: { audiosocket: newTransportStats() }, phrasesReady: true,
    llm: { switches: 1, retries: 0, failures: 0 }, control: { ami: true, esl: null },
    providers: {
      "deepgram:nova-3": { state: "open", failures: 3, openSince: 1_000, openUntil: 31_000, opens: 2 },
      "groq:llama": { state: "closed", failures: 0, openSince: null, openUntil: null, opens: 0 },
    },
  }));
  clock.stop();
  return text;
}

describe("turn latency histograms", () => {
  test("each observation lands in its bucket once; the sum is in seconds", () => {
    const h = new LatencyHistogram();
    for (const ms of [40, 50, 51, 999, 1000, 7000]) h.observe(ms);
    h.observe(Number.NaN);
    h.observe(-1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(6);
    expect(h.counts[0]).toBe(2);
    expect(h.counts[1]).toBe(1);
    expect(h.counts.at(-1)).toBe(1);
    expect(h.sumSeconds).toBeCloseTo(9.14, 5);
  });

  test("rendered as cumulative Prometheus buckets", () => {
    const text = scrape();
    expect(text).toContain('voicebot_turn_first_audio_seconds_bucket{le="0.5"} 0');
    expect(text).toContain('voicebot_turn_first_audio_seconds_bucket{le="0.75"} 1');
    expect(text).toContain('voicebot_turn_first_audio_seconds_bucket{le="+Inf"} 1');
    expect(text).toContain("voicebot_turn_first_audio_seconds_sum 0.64");
    expect(text).toContain("voicebot_turn_stt_seconds_count 0");
  });
});

describe("provider errors, fallbacks and calls by tenant", () => {
  test("errors are counted by provider and kind, fallbacks by from, to and reason", () => {
    const text = scrape();
    expect(text).toContain('voicebot_provider_errors_total{provider="groq:llama",kind="rate_limit"} 1');
    expect(text).toContain('voicebot_provider_fallbacks_total{from="groq:llama",to="openai:gpt-4.1-mini",reason="slow-first-token"} 1');
    expect(text).toContain('voicebot_tenant_calls_started_total{tenant="acme"} 1');
    expect(text).toContain('voicebot_tenant_calls_ended_total{tenant="acme",reason="resolved"} 1');
    expect(text).toContain('voicebot_calls_ended_total{reason="resolved"} 1');
  });

  test("each provider's circuit breaker: a gauge while open, a counter of opens", () => {
    const text = scrape();
    expect(text).toContain('voicebot_provider_circuit_open{provider="deepgram:nova-3"} 1');
    expect(text).toContain('voicebot_provider_circuit_open{provider="groq:llama"} 0');
    expect(text).toContain('voicebot_provider_circuit_opens_total{provider="deepgram:nova-3"} 2');
    expect(text).toContain("# TYPE voicebot_provider_circuit_opens_total counter");
  });

  test("error kinds", () => {
    expect(providerErrorKind(new ProviderError("x", "nope", 401, false))).toBe("auth");
    expect(providerErrorKind(new ProviderError("x", "slow", 503, true))).toBe("server");
    expect(providerErrorKind(new ProviderError("x", "no response within 3000 ms", null, true))).toBe("timeout");
    expect(providerErrorKind(new ProviderError("x", "bad", 400, false))).toBe("client");
    expect(providerErrorKind(new Error("ECONNREFUSED"))).toBe("network");
    const calls = newCallMetrics();
    providerEventsFor(calls).error("openai:tts", "timeout");
    expect(calls.providerErrors.get("openai:tts\u0000timeout")).toBe(1);
  });
});

describe("the Grafana dashboard", () => {
  test("is valid JSON for import, and every metric it queries exists in /metrics", () => {
    const dash = JSON.parse(readFileSync(new URL("../../install/grafana-dashboard.json", import.meta.url), "utf8")) as {
      schemaVersion: number; __inputs: { name: string }[]; panels: { type: string; targets?: { expr: string }[] }[];
    };
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dash.__inputs[0]?.name).toBe("DS_PROMETHEUS");
    const exposed = new Set([...scrape().matchAll(/^([a-z_]+)(?:\{| )/gm)].map((m) => m[1]));
    const used = dash.panels.flatMap((p) => p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\b(voicebot_[a-z_]+|process_[a-z_]+)/g)].map((m) => m[1]));
    expect(used.length).toBeGreaterThan(15);
    for (const name of used) expect(exposed.has(name)).toBe(true);
  });
});
