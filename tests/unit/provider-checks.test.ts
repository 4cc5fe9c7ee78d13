import { describe, expect, test } from "bun:test";
import { ProviderChecks, type ProbeProviders } from "../../src/admin/provider-checks.ts";
import type { ProviderCheckRun } from "../../src/admin/health-shapes.ts";

const PASS = [{ id: "provider.deepgram", status: "PASS" as const, detail: "nova-3 answered", ms: 210 }];

async function body(res: Response): Promise<ProviderCheckRun & { reused?: boolean }> {
  return (await res.json()) as ProviderCheckRun & { reused?: boolean };
}

describe("the console's on-demand provider check", () => {
  test("two clicks at once share one run; a click within 30 s gets the last run back", async () => {
    let now = 1_000_000;
    let runs = 0;
    let release = (): void => {};
    const probe: ProbeProviders = () => {
      runs++;
      return new Promise((resolve) => (release = () => resolve(PASS)));
    };
    const checks = new ProviderChecks(probe, () => now);
    expect(checks.last).toBeNull();
    const first = checks.check();
    const second = checks.check();
    await Bun.sleep(0);
    release();
    expect(await body(await first)).toEqual({ at: now, results: PASS });
    expect(await body(await second)).toEqual({ at: now, results: PASS });
    now += 29_000;
    expect(await body(await checks.check())).toEqual({ at: 1_000_000, results: PASS, reused: true });
    expect(runs).toBe(1);
    now += 2_000;
    const third = checks.check();
    await Bun.sleep(0);
    release();
    expect((await body(await third)).at).toBe(now);
    expect(runs).toBe(2);
  });

  test("a probe that throws is one FAIL line, kept as the last run", async () => {
    const checks = new ProviderChecks(async () => {
      throw new Error("getaddrinfo ENOTFOUND api.deepgram.com");
    });
    const run = await body(await checks.check());
    expect(run.results).toEqual([{ id: "provider", status: "FAIL", detail: "getaddrinfo ENOTFOUND api.deepgram.com", fix: "run `voicebot doctor` on the server for the details" }]);
    expect(checks.last?.results[0]?.status).toBe("FAIL");
  });
});
