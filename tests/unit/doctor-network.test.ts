import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { audiosocketCall } from "../../src/install/doctor-call.ts";
import type { CheckResult } from "../../src/install/doctor-check.ts";
import { pbxControlCheck, providersCheck } from "../../src/install/doctor-providers.ts";
import { probeDeepgram, probeLlm, probeTts } from "../../src/install/provider-probe.ts";
import { encodeMessage, Kind, writeAudioMessage } from "../../src/transports/audiosocket-codec.ts";
import { startFakeAmi } from "../fakes/ami.ts";
import { createFakeChat } from "../fakes/chat.ts";
import { startFakeDeepgram } from "../fakes/deepgram.ts";
import { startFakeEsl } from "../fakes/esl.ts";
import { startFakeHttp } from "../fakes/http.ts";
import { createFakeSpeech } from "../fakes/speech.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const signal = () => AbortSignal.timeout(5000);

function configOf(values: Record<string, string>): Config {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-doctor-net-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "voicebot.env"), Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n"));
  return loadConfig({ config: join(dir, "voicebot.env"), dataDir: dir }, {});
}

function llmFakes(o: { models?: string[]; ttftMs?: number } = {}) {
  const chat = createFakeChat({ apiKey: "k", models: o.models, ttftMs: o.ttftMs });
  const speech = createFakeSpeech({ apiKey: "k" });
  const http = startFakeHttp([chat, speech]);
  cleanups.push(() => http.stop());
  return { chat, speech, http };
}

describe("provider probes against the local fakes", () => {
  test("LLM: first token measured; a missing model, a retired one, a refused key, a slow one", async () => {
    const { http } = llmFakes({ models: ["gpt-4.1-mini", "llama3-70b-8192", "llama-3.3-70b-versatile"] });
    const ok = await probeLlm({ provider: "openai", key: "k", baseUrl: `${http.url}/v1`, model: "gpt-4.1-mini", signal: signal() });
    expect(ok.status).toBe("PASS");
    expect(ok.ms).toBeGreaterThanOrEqual(0);
    const groq = await probeLlm({ provider: "groq", key: "k", baseUrl: http.url, model: "llama-3.3-70b-versatile", signal: signal() });
    expect(groq.status).toBe("PASS");
    const missing = await probeLlm({ provider: "openai", key: "k", baseUrl: `${http.url}/v1`, model: "gpt-9", signal: signal() });
    expect(missing.status).toBe("FAIL");
    expect(missing.detail).toContain("no such model");
    const retired = await probeLlm({ provider: "groq", key: "k", baseUrl: http.url, model: "llama3-70b-8192", signal: signal() });
    expect(retired.status).toBe("WARN");
    expect(retired.detail).toContain("retired");
    const refused = await probeLlm({ provider: "openai", key: "wrong", baseUrl: `${http.url}/v1`, model: "gpt-4.1-mini", signal: signal() });
    expect(refused.status).toBe("FAIL");
    expect(refused.detail).toContain("key refused (HTTP 401)");
    const slow = llmFakes({ ttftMs: 700 });
    const late = await probeLlm({ provider: "openai", key: "k", baseUrl: `${slow.http.url}/v1`, model: "gpt-4.1-mini", signal: signal() });
    expect(late.status).toBe("WARN");
    expect(late.detail).toContain("turn budget");
  });

  test("LLM that never answers gives up when the doctor's time is up", async () => {
    const { http, chat } = llmFakes();
    chat.failAll({ kind: "stallBeforeHeaders" });
    const r = await probeLlm({ provider: "openai", key: "k", baseUrl: `${http.url}/v1`, model: "gpt-4.1-mini", signal: AbortSignal.timeout(500) });
    expect(r.status).toBe("FAIL");
  });

  test("TTS: first byte measured; a refused key", async () => {
    const { http } = llmFakes();
    const ok = await probeTts({ key: "k", baseUrl: `${http.url}/v1`, model: "gpt-4o-mini-tts", voice: "nova", signal: signal() });
    expect(ok.status).toBe("PASS");
    expect(ok.detail).toContain("first audio byte");
    const refused = await probeTts({ key: "nope", baseUrl: `${http.url}/v1`, model: "gpt-4o-mini-tts", voice: "nova", signal: signal() });
    expect(refused.status).toBe("FAIL");
  });

  test("Deepgram: connect and first result; a refused key", async () => {
    const dg = startFakeDeepgram({ script: ["bonjour"] });
    cleanups.push(() => dg.stop());
    const ok = await probeDeepgram({ key: "fake-deepgram-key", baseUrl: dg.url, model: "nova-3", language: "fr-FR", signal: signal() });
    expect(ok.status).toBe("PASS");
    expect(ok.detail).toContain("first result");
    const refused = await probeDeepgram({ key: "wrong", baseUrl: dg.url, model: "nova-3", language: "fr-FR", signal: signal() });
    expect(refused.status).toBe("FAIL");
    expect(refused.detail).toContain("401");
  });

  test("the providers check: each part and the turn budget line", async () => {
    const { http } = llmFakes();
    const dg = startFakeDeepgram({ script: ["bonjour"] });
    cleanups.push(() => dg.stop());
    const config = configOf({
      DEEPGRAM_API_KEY: "fake-deepgram-key", DEEPGRAM_BASE_URL: dg.url, OPENAI_API_KEY: "k", OPENAI_BASE_URL: `${http.url}/v1`,
    });
    const r = await providersCheck.run({ config, configError: null, root: "/", env: {}, signal: signal() }) as CheckResult[];
    expect(r.map((x) => [x.id, x.status])).toEqual([
      ["provider.deepgram", "PASS"], ["provider.llm.openai", "PASS"], ["provider.tts", "PASS"], ["provider.budget", "PASS"],
    ]);
  });
});

describe("PBX control", () => {
  test("AMI login and ESL auth: PASS with the right secret, FAIL with a wrong one", async () => {
    const ami = await startFakeAmi({ username: "voicebot", secret: "s3cret" });
    const esl = await startFakeEsl({ password: "ClueCon" });
    cleanups.push(() => ami.stop(), () => esl.stop());
    const good = configOf({ AMI_HOST: ami.host, AMI_PORT: String(ami.port), AMI_USER: "voicebot", AMI_SECRET: "s3cret", ESL_HOST: esl.host, ESL_PORT: String(esl.port), ESL_PASSWORD: "ClueCon" });
    const ok = await pbxControlCheck.run({ config: good, configError: null, root: "/", env: {}, signal: signal() }) as CheckResult[];
    expect(ok.map((x) => [x.id, x.status])).toEqual([["pbx.ami", "PASS"], ["pbx.esl", "PASS"]]);
    const bad = configOf({ AMI_HOST: ami.host, AMI_PORT: String(ami.port), AMI_USER: "voicebot", AMI_SECRET: "wrong", ESL_HOST: esl.host, ESL_PORT: String(esl.port), ESL_PASSWORD: "wrong" });
    const fails = await pbxControlCheck.run({ config: bad, configError: null, root: "/", env: {}, signal: signal() }) as CheckResult[];
    expect(fails.map((x) => [x.id, x.status])).toEqual([["pbx.ami", "FAIL"], ["pbx.esl", "FAIL"]]);
  });
});

/** An AudioSocket "service" of our own that misbehaves on purpose. */
function fakeService(o: { delayMs: number; framesPerTick: number; kind: number; frameSamples: number }) {
  const voice = new Int16Array(o.frameSamples).map((_, i) => Math.round(8000 * Math.sin(i / 3)));
  const frame = new Uint8Array(3 + o.frameSamples * 2);
  writeAudioMessage(frame, o.kind, voice);
  const timers = new Set<ReturnType<typeof setInterval>>();
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        setTimeout(() => {
          const t = setInterval(() => {
            for (let i = 0; i < o.framesPerTick; i++) socket.write(frame);
          }, 20);
          timers.add(t);
        }, o.delayMs);
      },
      data() {},
      close() {},
    },
  });
  cleanups.push(() => {
    for (const t of timers) clearInterval(t);
    server.stop(true);
  });
  return configOf({ AUDIOSOCKET_HOST: "127.0.0.1", AUDIOSOCKET_PORT: String(server.port), HTTP_PORT: "1" });
}

describe("the synthetic call's judgement", () => {
  test("real-time frames at the right rate, soon enough", async () => {
    const f = await audiosocketCall(fakeService({ delayMs: 0, framesPerTick: 1, kind: Kind.Slin8, frameSamples: 160 }), signal());
    expect(f.paced).toBe("real time");
    expect(f.rates).toEqual([8000]);
    expect(f.firstAudioMs).toBeLessThan(300);
  });

  test("too fast, wrong rate, and late are each caught", async () => {
    const fast = await audiosocketCall(fakeService({ delayMs: 0, framesPerTick: 2, kind: Kind.Slin8, frameSamples: 160 }), signal());
    expect(fast.paced).toBe("too fast");
    const wrong = await audiosocketCall(fakeService({ delayMs: 0, framesPerTick: 1, kind: Kind.Slin16, frameSamples: 320 }), signal());
    expect(wrong.rates).toEqual([16000]);
    const late = await audiosocketCall(fakeService({ delayMs: 600, framesPerTick: 1, kind: Kind.Slin8, frameSamples: 160 }), signal());
    expect(late.firstAudioMs).toBeGreaterThan(300);
  }, 20_000);

  test("a service that hangs up at once is reported, not waited on", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open(s) { s.write(encodeMessage(Kind.Hangup, new Uint8Array(0))); s.end(); }, data() {} } });
    cleanups.push(() => server.stop(true));
    const f = await audiosocketCall(configOf({ AUDIOSOCKET_HOST: "127.0.0.1", AUDIOSOCKET_PORT: String(server.port), HTTP_PORT: "1" }), signal());
    expect(f.firstAudioMs).toBeNull();
  });
});
