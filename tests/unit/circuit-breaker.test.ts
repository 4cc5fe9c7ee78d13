import { describe, expect, test } from "bun:test";
import { CircuitBreaker, ProviderBreakers } from "../../src/ai/circuit-breaker.ts";
import type { LogFields, Logger } from "../../src/log.ts";

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

function rig(failures = 3, cooldownMs = 30_000) {
  const clock = { now: 10_000 };
  const lines: { msg: string; fields: LogFields | undefined }[] = [];
  const log: Logger = {
    debug: () => undefined, info: () => undefined, error: () => undefined,
    warn: (msg, fields) => void lines.push({ msg, fields }),
    child: () => log,
  };
  const breaker = new CircuitBreaker("deepgram:nova-3", { failures, cooldownMs, log, now: () => clock.now });
  return { clock, lines, breaker };
}

describe("circuit breaker", () => {
  test("closed until N failures in a row; a success in between starts the count again", () => {
    const { breaker } = rig();
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe("closed");
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
  });

  test("open for the cool-down, then one trial at a time (half-open); the trial's failure re-opens it", () => {
    const { breaker, clock, lines } = rig();
    for (let i = 0; i < 3; i++) breaker.failure("HTTP 500");
    expect(breaker.snapshot()).toEqual({ state: "open", failures: 3, openSince: 10_000, openUntil: 40_000, opens: 1 });
    clock.now = 39_999;
    expect(breaker.allow()).toBe(false);
    clock.now = 40_000;
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false);
    breaker.failure("HTTP 500");
    expect(breaker.snapshot()).toEqual({ state: "open", failures: 4, openSince: 10_000, openUntil: 70_000, opens: 2 });
    expect(lines.map((l) => l.msg)).toEqual([
      "provider circuit opened: skipping the provider",
      "provider circuit half-open: one trial request",
      "provider circuit re-opened: the trial request failed",
    ]);
    expect(lines[0]?.fields).toMatchObject({ provider: "deepgram:nova-3", failures: 3, why: "HTTP 500" });
  });

  test("the trial's success closes it", () => {
    const { breaker, clock, lines } = rig(1, 1000);
    breaker.failure();
    clock.now += 1000;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.snapshot()).toEqual({ state: "closed", failures: 0, openSince: null, openUntil: null, opens: 1 });
    expect(lines.at(-1)).toMatchObject({ msg: "provider circuit closed: the provider answers again", fields: { provider: "deepgram:nova-3", openForMs: 1000 } });
  });

  test("a trial whose outcome never comes lets another through after a cool-down", () => {
    const { breaker, clock } = rig(1, 1000);
    breaker.failure();
    clock.now += 1000;
    expect(breaker.allow()).toBe(true);
    clock.now += 999;
    expect(breaker.allow()).toBe(false);
    clock.now += 1;
    expect(breaker.allow()).toBe(true);
  });

  test("bad settings are refused with a specific message", () => {
    expect(() => new CircuitBreaker("x", { failures: 0, cooldownMs: 1, log: quiet })).toThrow("failures 0 is invalid");
    expect(() => new CircuitBreaker("x", { failures: 1, cooldownMs: 0, log: quiet })).toThrow("cooldownMs 0 is invalid");
  });

  test("the registry hands out one breaker per provider and lists them all", () => {
    const set = new ProviderBreakers({ failures: 1, cooldownMs: 5000, log: quiet, now: () => 0 });
    expect(set.for("groq:x")).toBe(set.for("groq:x"));
    set.for("openai:tts").failure();
    expect(set.snapshot()).toEqual({
      "groq:x": { state: "closed", failures: 0, openSince: null, openUntil: null, opens: 0 },
      "openai:tts": { state: "open", failures: 1, openSince: 0, openUntil: 5000, opens: 1 },
    });
  });
});
