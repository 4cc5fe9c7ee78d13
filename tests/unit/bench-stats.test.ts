import { describe, expect, test } from "bun:test";
import { arrivalOffsetMs, parseArrival } from "../../src/simulate/arrival.ts";
import { clockLateness, latenessBetween, serverLateness } from "../../src/simulate/clock-figures.ts";
import { cpuWaitBetween, CpuWaitWatch, parseSchedstat, readMainThreadSched } from "../../src/simulate/cpu-wait.ts";
import { hostCpuUse, readHostCpu } from "../../src/simulate/host-cpu.ts";
import { CallListener } from "../../src/simulate/listener.ts";
import { histogram } from "../../src/simulate/stats.ts";
import { CLOCK_BUCKETS_MS, PlayoutClock } from "../../src/media/playout-clock.ts";

describe("arrival schedules", () => {
  test("all at once, a ramp, a steady rate", () => {
    const offsets = (text: string, calls: number) => Array.from({ length: calls }, (_, i) => arrivalOffsetMs(parseArrival(text, 2000), i, calls));
    expect(offsets("all", 3)).toEqual([0, 0, 0]);
    expect(offsets("ramp", 4)).toEqual([0, 500, 1000, 1500]);
    expect(offsets("100/s", 3)).toEqual([0, 10, 20]);
    expect(offsets("2.5/s", 2)).toEqual([0, 400]);
    expect(parseArrival(undefined, 2000)).toEqual({ kind: "ramp", ms: 2000 });
  });

  test("a bad --arrival names the value and what is allowed", () => {
    for (const bad of ["0/s", "fast", "100", "-5/s", "100/min"]) {
      expect(() => parseArrival(bad, 2000)).toThrow(`--arrival "${bad}" is not allowed; use ramp, all, or a rate such as 100/s`);
    }
  });
});

describe("the longest gap between frames", () => {
  const frame = new Uint8Array(320);

  test("is the longest time between two consecutive arrivals, whatever the jitter around it", () => {
    const heard = new CallListener(0, null);
    for (const at of [100, 120, 140, 195, 215, 216, 240]) heard.onAudio(frame, 8000, at);
    const summary = heard.finish();
    expect(summary.longestGapMs).toBe(55);
    expect(summary.longestGapEndMs).toBe(195);
    expect(summary.jitterMs).toEqual([0, 0, 35, 0, 19, 4]);
  });

  test("is 0 with fewer than two frames", () => {
    const heard = new CallListener(0, null);
    expect(heard.finish().longestGapMs).toBe(0);
    heard.onAudio(frame, 8000, 50);
    expect(heard.finish().longestGapMs).toBe(0);
  });

  test("the calls are counted by their longest gap, per bucket", () => {
    expect(histogram([12, 20, 21, 45, 60, 61, 250], [20, 40, 60])).toEqual([
      { upToMs: 20, count: 2 }, { upToMs: 40, count: 1 }, { upToMs: 60, count: 2 }, { upToMs: null, count: 2 },
    ]);
    expect(histogram([], [20])).toEqual([{ upToMs: 20, count: 0 }, { upToMs: null, count: 0 }]);
  });
});

describe("clock lateness", () => {
  test("the server's, from its /metrics histogram, between two readings", () => {
    const metrics = (count: number, le10: number, le50: number) => [
      `voicebot_clock_tick_lateness_seconds_bucket{le="0.005"} 1`,
      `voicebot_clock_tick_lateness_seconds_bucket{le="0.01"} ${le10}`,
      `voicebot_clock_tick_lateness_seconds_bucket{le="0.02"} ${le10}`,
      `voicebot_clock_tick_lateness_seconds_bucket{le="0.05"} ${le50}`,
      `voicebot_clock_tick_lateness_seconds_count ${count}`,
    ].join("\n");
    const before = serverLateness(metrics(100, 95, 99));
    const after = serverLateness(metrics(300, 290, 297));
    expect(before).toEqual({ wakeups: 100, over10Ms: 5, over50Ms: 1 });
    expect(latenessBetween(before, after)).toEqual({ wakeups: 200, over10Ms: 5, over50Ms: 2 });
    expect(serverLateness("")).toBeNull();
  });

  test("the bench client's, from its own clock", () => {
    const clock = new PlayoutClock(() => undefined);
    const buckets = clock.stats.latenessBuckets;
    // bounds 1, 2, 5, 10, 20, 50, 100, +Inf
    [3, 1, 0, 2, 4, 5, 6, 7].forEach((n, i) => (buckets[i] = n));
    clock.stats.wakeups = 28;
    expect(CLOCK_BUCKETS_MS.length + 1).toBe(buckets.length);
    expect(clockLateness(clock.stats)).toEqual({ wakeups: 28, over10Ms: 4 + 5 + 6 + 7, over50Ms: 6 + 7 });
  });
});

test("host CPU: busy and stolen shares of every core between two /proc/stat readings", () => {
  const before = readHostCpu("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n");
  const after = readHostCpu("cpu  400 0 150 1200 10 0 0 90 0 0\n");
  expect(before).toEqual({ busy: 150, steal: 40, total: 1000 });
  expect(hostCpuUse(before, after)).toEqual({ busyPercent: 47.1, stealPercent: 5.9 });
  expect(hostCpuUse(null, after)).toBeNull();
  expect(readHostCpu("nothing here")).toBeNull();
});

describe("CPU wait of an event loop's thread", () => {
  test("from two schedstat readings: the time it was runnable but off the cores, of the wall-clock time between", () => {
    const before = parseSchedstat("5000000000 200000000 1200\n");
    const after = parseSchedstat("9000000000 1450000000 3400\n");
    expect(before).toEqual({ runMs: 5000, waitMs: 200 });
    expect(cpuWaitBetween(before, after, 10_000)).toEqual({ waitMs: 1250, waitPercent: 12.5 });
    expect(cpuWaitBetween(null, after, 10_000)).toBeNull();
    expect(parseSchedstat("not a schedstat")).toBeNull();
  });

  test("this process's own main thread, read from /proc, over a run and its first part", async () => {
    const own = readMainThreadSched(process.pid);
    expect(own?.runMs).toBeGreaterThan(0);
    const watch = new CpuWaitWatch(process.pid, 20);
    await Bun.sleep(60);
    const { run, head } = watch.stop();
    expect(run?.waitPercent).toBeGreaterThanOrEqual(0);
    expect(head?.waitPercent).toBeGreaterThanOrEqual(0);
    expect(new CpuWaitWatch(process.pid, 10_000).stop().head).toBeNull();
  });
});
