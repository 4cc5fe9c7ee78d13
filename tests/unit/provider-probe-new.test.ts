import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { CheckResult } from "../../src/install/doctor-check.ts";
import { providersCheck } from "../../src/install/doctor-providers.ts";
import { probeAura, probeLlm } from "../../src/install/provider-probe.ts";
import { createFakeAnthropic } from "../fakes/anthropic.ts";
import { startFakeDeepgram } from "../fakes/deepgram.ts";
import { createFakeDeepgramSpeak } from "../fakes/deepgram-speak.ts";
import { startFakeHttp } from "../fakes/http.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const signal = () => AbortSignal.timeout(5000);

function configOf(values: Record<string, string>): Config {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-probe-new-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "voicebot.env"), Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n"));
  return loadConfig({ config: join(dir, "voicebot.env"), dataDir: dir }, {});
}

function claudeFake(o: { ttftMs?: number } = {}) {
  const fake = createFakeAnthropic({ apiKey: "k", ttftMs: o.ttftMs });
  const http = startFakeHttp([fake]);
  cleanups.push(() => http.stop());
  return { fake, http };
}

describe("Claude probe against the fake Messages API", () => {
  test("first token measured; a model the key does not list, a refused key, a slow first token", async () => {
    const { http } = claudeFake();
    const ok = await probeLlm({ provider: "anthropic", key: "k", baseUrl: http.url, model: "claude-haiku-5-5", signal: signal() });
    expect(ok.status).toBe("PASS");
    expect(ok.detail).toContain("anthropic claude-haiku-5-5: first token in");
    const missing = await probeLlm({ provider: "anthropic", key: "k", baseUrl: http.url, model: "claude-9", signal: signal() });
    expect(missing).toMatchObject({ status: "FAIL", fix: expect.stringContaining("set ANTHROPIC_MODEL to one the provider lists, e.g. claude-haiku-5-5") });
    expect(missing.detail).toContain("no such model");
    const refused = await probeLlm({ provider: "anthropic", key: "wrong", baseUrl: http.url, model: "claude-haiku-5-5", signal: signal() });
    expect(refused.detail).toContain("key refused (HTTP 401)");
    expect(refused.fix).toContain("ANTHROPIC_API_KEY");
    const slow = claudeFake({ ttftMs: 700 });
    const late = await probeLlm({ provider: "anthropic", key: "k", baseUrl: slow.http.url, model: "claude-haiku-5-5", signal: signal() });
    expect(late.status).toBe("WARN");
    expect(late.detail).toContain("turn budget");
  });

  test("the providers check probes Claude as the model and counts it in the turn budget", async () => {
    const { http } = claudeFake();
    const dg = startFakeDeepgram({ script: ["bonjour"] });
    cleanups.push(() => dg.stop());
    const config = configOf({ DEEPGRAM_API_KEY: "fake-deepgram-key", DEEPGRAM_BASE_URL: dg.url, ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: http.url });
    const r = await providersCheck.run({ config, configError: null, root: "/", env: {}, signal: signal() }) as CheckResult[];
    expect(r.map((x) => [x.id, x.status])).toEqual([["provider.deepgram", "PASS"], ["provider.llm.anthropic", "PASS"], ["provider.tts", "PASS"]]);
  });
});

describe("Aura probe against the fake speak endpoint", () => {
  function auraFake(o: { ttfbMs?: number } = {}) {
    const speak = createFakeDeepgramSpeak({ ttfbMs: o.ttfbMs, speed: 50 });
    const dg = startFakeDeepgram({ script: ["bonjour"], routes: [speak] });
    cleanups.push(() => dg.stop());
    return { speak, dg };
  }

  test("first byte measured at 8 kHz; a voice Aura does not have, a refused key, a slow first byte", async () => {
    const { speak, dg } = auraFake();
    const ok = await probeAura({ key: "fake-deepgram-key", baseUrl: dg.url, voice: "aura-2-agathe-fr", signal: signal() });
    expect(ok.status).toBe("PASS");
    expect(ok.detail).toContain("deepgram aura-2-agathe-fr: first audio byte in");
    expect(speak.requests[0]?.sampleRate).toBe(8000);
    const missing = await probeAura({ key: "fake-deepgram-key", baseUrl: dg.url, voice: "aura-2-nobody-fr", signal: signal() });
    expect(missing.status).toBe("FAIL");
    expect(missing.detail).toContain("no such Aura voice");
    expect(missing.fix).toContain("DEEPGRAM_TTS_VOICE");
    const refused = await probeAura({ key: "wrong", baseUrl: dg.url, voice: "aura-2-agathe-fr", signal: signal() });
    expect(refused.detail).toContain("key refused (HTTP 401)");
    expect(refused.fix).toContain("DEEPGRAM_API_KEY");
    const slow = auraFake({ ttfbMs: 500 });
    const late = await probeAura({ key: "fake-deepgram-key", baseUrl: slow.dg.url, voice: "aura-2-agathe-fr", signal: signal() });
    expect(late.status).toBe("WARN");
    expect(late.detail).toContain("turn budget");
  });

  test("the providers check: one Deepgram key for ears and voice, Claude as the mind, the whole turn in the budget", async () => {
    const { dg } = auraFake();
    const { http } = claudeFake();
    const config = configOf({
      DEEPGRAM_API_KEY: "fake-deepgram-key", DEEPGRAM_BASE_URL: dg.url, TTS_PROVIDER: "deepgram", ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: http.url,
    });
    const r = await providersCheck.run({ config, configError: null, root: "/", env: {}, signal: signal() }) as CheckResult[];
    expect(r.map((x) => [x.id, x.status])).toEqual([
      ["provider.deepgram", "PASS"], ["provider.llm.anthropic", "PASS"], ["provider.tts", "PASS"], ["provider.budget", "PASS"],
    ]);
    expect(r.find((x) => x.id === "provider.tts")?.detail).toContain("deepgram aura-2-agathe-fr");
  });
});
