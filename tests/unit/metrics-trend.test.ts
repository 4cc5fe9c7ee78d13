import { describe, expect, test } from "bun:test";
import { MetricsTrend, quantile } from "../../src/admin/metrics-trend.ts";
import { histogramSamples, type MetricFamily } from "../../src/admin/prometheus.ts";

const BOUNDS = [0.25, 0.5, 1, 2];

function families(active: number, started: number, underruns: number, counts: number[]): MetricFamily[] {
  return [
    { name: "voicebot_active_calls", help: "", type: "gauge", samples: [{ value: active }] },
    { name: "voicebot_calls_started_total", help: "", type: "counter", samples: [{ value: started }] },
    { name: "voicebot_playout_underruns_total", help: "", type: "counter", samples: [{ labels: { transport: "audiosocket" }, value: underruns }, { labels: { transport: "audiostream" }, value: 1 }] },
    { name: "voicebot_turn_first_audio_seconds", help: "", type: "histogram", samples: histogramSamples("voicebot_turn_first_audio_seconds", BOUNDS, counts, 0) },
  ];
}

describe("the console's last hour of figures", () => {
  test("each point holds the interval's own calls, underruns and first-audio percentiles", () => {
    let now = families(0, 0, 0, [0, 0, 0, 0, 0]);
    const trend = new MetricsTrend(() => now, 3_600_000);
    now = families(3, 4, 2, [0, 8, 1, 1, 0]);
    trend.sample(1000);
    now = families(1, 4, 2, [0, 8, 1, 1, 0]);
    trend.sample(2000);
    trend.stop();
    expect(trend.history).toEqual([
      { at: 1000, activeCalls: 3, callsStarted: 4, underruns: 2, firstAudioP50: 0.5, firstAudioP95: 2 },
      { at: 2000, activeCalls: 1, callsStarted: 0, underruns: 0, firstAudioP50: null, firstAudioP95: null },
    ]);
  });

  test("turns past the last bound count at the largest finite one", () => {
    const before = [{ le: 1, count: 0 }, { le: Number.POSITIVE_INFINITY, count: 0 }];
    const after = [{ le: 1, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 10 }];
    expect(quantile(after, before, 0.95)).toBe(1);
    expect(quantile(after, before, 0.05)).toBe(1);
  });

  test("it keeps the last hour only", () => {
    const trend = new MetricsTrend(() => families(0, 0, 0, [0, 0, 0, 0, 0]), 3_600_000);
    for (let i = 0; i < 400; i++) trend.sample(i);
    trend.stop();
    expect(trend.history).toHaveLength(360);
    expect(trend.history[0]?.at).toBe(40);
  });
});
