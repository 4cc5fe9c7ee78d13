import { afterAll, describe, expect, test } from "bun:test";
import { histogramSamples, renderPrometheus } from "../../src/admin/prometheus.ts";
import { startAdminServer } from "../../src/admin/server.ts";
import { newCallMetrics, countEnd } from "../../src/call/metrics.ts";
import { metricFamilies } from "../../src/cli/serve-metrics.ts";
import { rootLogger } from "../../src/log.ts";
import { PlayoutClock } from "../../src/media/playout-clock.ts";
import { newTransportStats } from "../../src/transports/types.ts";

describe("Prometheus text", () => {
  test("counters with escaped labels, gauges, cumulative histograms", () => {
    const text = renderPrometheus([
      { name: "a_total", help: "A.", type: "counter", samples: [{ labels: { reason: 'say "hi"\n' }, value: 3 }] },
      { name: "g", help: "G.", type: "gauge", samples: [{ value: Number.NaN }] },
      { name: "h_seconds", help: "H.", type: "histogram", samples: histogramSamples("h_seconds", [0.001, 0.01], [2, 3, 1], 0.05) },
    ]);
    expect(text).toBe([
      "# HELP a_total A.", "# TYPE a_total counter", 'a_total{reason="say \\"hi\\"\\n"} 3',
      "# HELP g G.", "# TYPE g gauge", "g 0",
      "# HELP h_seconds H.", "# TYPE h_seconds histogram",
      'h_seconds_bucket{le="0.001"} 2', 'h_seconds_bucket{le="0.01"} 5', 'h_seconds_bucket{le="+Inf"} 6',
      "h_seconds_sum 0.05", "h_seconds_count 6", "",
    ].join("\n"));
  });
});

describe("admin server", () => {
  const calls = newCallMetrics();
  countEnd(calls, "resolved", "default");
  countEnd(calls, "resolved", "default");
  const transport = newTransportStats();
  transport.connectionsRejected = 4;
  let ready = false;
  const admin = startAdminServer({
    host: "127.0.0.1", port: 0, log: rootLogger,
    health: () => ({ ready, body: { status: ready ? "ok" : "starting", activeCalls: 2 } }),
    metrics: () => metricFamilies({
      activeCalls: 2, maxCalls: 20, calls, clock: new PlayoutClock(() => undefined).stats,
      transports: { audiosocket: transport }, phrasesReady: true, llm: { switches: 1, retries: 2, failures: 0 },
      providers: {}, control: { ami: true, esl: null },
    }),
  });
  const base = `http://127.0.0.1:${admin.port}`;
  afterAll(() => admin.stop());

  test("/healthz: 503 until ready, then 200 with JSON", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    ready = true;
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", activeCalls: 2 });
  });

  test("/metrics: the contract's names, in Prometheus text", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain("voicebot_active_calls 2");
    expect(text).toContain('voicebot_calls_ended_total{reason="resolved"} 2');
    expect(text).toContain('voicebot_connections_rejected_total{transport="audiosocket"} 4');
    expect(text).toContain("voicebot_playout_underruns_total 0");
    expect(text).toContain('voicebot_clock_tick_lateness_seconds_bucket{le="+Inf"} 0');
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/^voicebot_recording_buffer_bytes \d+$/m);
    expect(text).toContain("voicebot_transfers_total 0");
    expect(text).toContain('voicebot_pbx_control_up{link="ami"} 1');
    expect(text).not.toContain('link="esl"');
  });

  test("unknown paths are 404, other methods 405", async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
