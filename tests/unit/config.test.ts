import { describe, expect, test } from "bun:test";
import { configErrorOf as error } from "../support/config-error.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { parseEnvFile } from "../../src/config/envfile.ts";

function envFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "voicebot-cfg-")), "voicebot.env");
  writeFileSync(path, text);
  return path;
}


describe("loadConfig", () => {
  test("embedded defaults match DESIGN.md", () => {
    const c = loadConfig({}, {});
    expect(c.audiosocket).toEqual({ host: "0.0.0.0", port: 9090 });
    expect(c.audiostream).toEqual({ host: "127.0.0.1", port: 8085 });
    expect(c.http).toEqual({ host: "127.0.0.1", port: 9091 });
    expect(c.websocket).toEqual({ host: "127.0.0.1", port: 8086 });
    expect(c.websocketToken).toBeNull();
    expect(c.maxCalls).toBe(20);
    expect(c.language).toBe("fr-FR");
    expect([c.silenceWarningSeconds, c.silenceHangupSeconds, c.maxCallDurationSeconds]).toEqual([8, 15, 600]);
    expect(c.dataDir.endsWith("/data")).toBe(true);
    expect(c.openaiApiKey).toBeNull();
  });

  test("flags > VOICEBOT_* > seed names > env file > defaults", () => {
    const file = envFile("AUDIOSOCKET_PORT=7000\nMAX_CONCURRENT_CALLS=5\nHTTP_PORT=7001\nexport LANGUAGE='en-US' # comment\n");
    const env = { VOICEBOT_CONFIG: file, MAX_CONCURRENT_CALLS: "6", VOICEBOT_HTTP_PORT: "7002", HTTP_PORT: "7003" };
    const c = loadConfig({}, env);
    expect(c.configFile).toBe(file);
    expect(c.audiosocket.port).toBe(7000);
    expect(c.maxCalls).toBe(6);
    expect(c.http.port).toBe(7002);
    expect(c.language).toBe("en-US");
    const flagged = loadConfig({ audiosocket: "127.0.0.1:0", maxCalls: "9", http: "[::1]:8080" }, env);
    expect(flagged.audiosocket).toEqual({ host: "127.0.0.1", port: 0 });
    expect(flagged.maxCalls).toBe(9);
    expect(flagged.http).toEqual({ host: "::1", port: 8080 });
  });

  test("a bad value names the variable, its value, where it came from and what is allowed", () => {
    expect(error(() => loadConfig({}, { AUDIOSOCKET_PORT: "99999" })).message).toBe(
      'invalid configuration: AUDIOSOCKET_PORT="99999" (environment): must be a whole number from 0 to 65535',
    );
    const file = envFile("MAX_CONCURRENT_CALLS=lots\n");
    expect(error(() => loadConfig({ config: file }, {})).message).toBe(
      `invalid configuration: MAX_CONCURRENT_CALLS="lots" (${file}): must be a whole number from 1 to 10000`,
    );
    expect(error(() => loadConfig({ maxCalls: "0" }, {})).variable).toBe("--max-calls");
    expect(error(() => loadConfig({}, { LANGUAGE: "de-DE" })).allowed).toContain("fr-FR, en-US, pt-BR");
    expect(error(() => loadConfig({}, { SILENCE_WARNING_TIMEOUT: "-1" })).variable).toBe("SILENCE_WARNING_TIMEOUT");
    expect(error(() => loadConfig({}, { SILENCE_WARNING_TIMEOUT: "20" })).message).toContain("greater than SILENCE_WARNING_TIMEOUT");
    expect(error(() => loadConfig({}, { AUDIOSOCKET_ALLOW: "10.0.0.0/8, pbx" })).message).toContain("'pbx'");
    expect(error(() => loadConfig({}, { OPENAI_BASE_URL: "not a url" })).variable).toBe("OPENAI_BASE_URL");
    expect(error(() => loadConfig({}, { AUDIOSOCKET_HOST: "bad host!" })).variable).toBe("AUDIOSOCKET_HOST");
    expect(error(() => loadConfig({ config: "/nonexistent/voicebot.env" }, {})).variable).toBe("--config");
    expect(error(() => loadConfig({}, { LOG_LEVEL: "loud" })).allowed).toContain("debug, info, warn, error");
  });

  test("PBX_TOKEN: unset by default; needs ADMIN_TOKEN and must differ from it, never echoed", () => {
    expect(loadConfig({}, {}).pbxToken).toBeNull();
    expect(loadConfig({}, { ADMIN_TOKEN: "admin-secret", PBX_TOKEN: " pbx-secret " }).pbxToken).toBe("pbx-secret");
    const alone = error(() => loadConfig({}, { PBX_TOKEN: "pbx-secret" }));
    expect([alone.variable, alone.allowed]).toEqual(["PBX_TOKEN", "needs ADMIN_TOKEN set too (the admin API would otherwise be open to anyone)"]);
    const same = error(() => loadConfig({}, { ADMIN_TOKEN: "one-secret", PBX_TOKEN: "one-secret" }));
    expect(same.allowed).toContain("must differ from ADMIN_TOKEN");
    expect(`${alone.message} ${same.message}`).not.toMatch(/pbx-secret|one-secret/);
  });
});

describe("parseEnvFile", () => {
  test("comments, export, quotes", () => {
    const m = parseEnvFile('# x\n\nexport A=1\nB="two words"\nC=\'lit#eral\'\nD=plain # note\nE="a\\nb"\n', "f");
    expect(Object.fromEntries(m)).toEqual({ A: "1", B: "two words", C: "lit#eral", D: "plain", E: "a\nb" });
  });

  test("providers: Claude and Deepgram's voice by setting or by key, today's defaults kept, the fallback chosen", () => {
    const none = loadConfig({}, {});
    expect([none.llmProvider, none.llmFallback, none.ttsProvider, none.anthropicModel, none.ttsVoice]).toEqual([null, null, null, "claude-haiku-5-5", "nova"]);
    expect(loadConfig({}, { GROQ_API_KEY: "g", OPENAI_API_KEY: "o", ANTHROPIC_API_KEY: "a" })).toMatchObject({ llmProvider: "groq", llmFallback: "openai", ttsProvider: "openai" });
    expect(loadConfig({}, { ANTHROPIC_API_KEY: "a" })).toMatchObject({ llmProvider: "anthropic", llmFallback: null, ttsProvider: null });
    expect(loadConfig({}, { GROQ_API_KEY: "g", ANTHROPIC_API_KEY: "a" })).toMatchObject({ llmProvider: "groq", llmFallback: "anthropic" });
    expect(loadConfig({}, { GROQ_API_KEY: "g", OPENAI_API_KEY: "o", ANTHROPIC_API_KEY: "a", LLM_PROVIDER: "Anthropic" })).toMatchObject({ llmProvider: "anthropic", llmFallback: "groq" });
    expect(loadConfig({}, { GROQ_API_KEY: "g", OPENAI_API_KEY: "o", ANTHROPIC_API_KEY: "a", LLM_FALLBACK: "anthropic" }).llmFallback).toBe("anthropic");
    expect(loadConfig({}, { GROQ_API_KEY: "g", OPENAI_API_KEY: "o", LLM_FALLBACK: "none" }).llmFallback).toBeNull();
    expect(loadConfig({}, { ANTHROPIC_API_KEY: "a", ANTHROPIC_MODEL: "claude-sonnet-5-5", ANTHROPIC_BASE_URL: "http://127.0.0.1:9/" })).toMatchObject({ anthropicModel: "claude-sonnet-5-5", anthropicBaseUrl: "http://127.0.0.1:9/" });
    expect(error(() => loadConfig({}, { GROQ_API_KEY: "g", LLM_FALLBACK: "anthropic" })).message).toBe('invalid configuration: LLM_FALLBACK="anthropic" (environment): needs ANTHROPIC_API_KEY, which is not set');
    expect(error(() => loadConfig({}, { GROQ_API_KEY: "g", LLM_FALLBACK: "groq" })).allowed).toContain("must differ from LLM_PROVIDER (groq)");
    expect(error(() => loadConfig({}, { LLM_FALLBACK: "gemini" })).variable).toBe("LLM_FALLBACK");
    expect(error(() => loadConfig({}, { ANTHROPIC_MODEL: "claude 5" })).variable).toBe("ANTHROPIC_MODEL");
    const aura = loadConfig({}, { OPENAI_API_KEY: "o", TTS_PROVIDER: "deepgram", OPENAI_TTS_VOICE: "alloy" });
    expect([aura.ttsProvider, aura.ttsVoice]).toEqual(["deepgram", "aura-2-agathe-fr"]);
    expect(loadConfig({}, { TTS_PROVIDER: "deepgram", LANGUAGE: "en-US" }).ttsVoice).toBe("aura-2-thalia-en");
    expect(loadConfig({}, { TTS_PROVIDER: "deepgram", DEEPGRAM_TTS_VOICE: "aura-2-hector-fr" }).ttsVoice).toBe("aura-2-hector-fr");
    expect(loadConfig({}, { OPENAI_API_KEY: "o", TTS_PROVIDER: "offline" }).ttsProvider).toBeNull();
    expect(error(() => loadConfig({}, { TTS_PROVIDER: "deepgram", LANGUAGE: "pt-BR" })).allowed).toContain("Deepgram Aura has no pt-BR voice");
    expect(error(() => loadConfig({}, { TTS_PROVIDER: "polly" })).message).toBe('invalid configuration: TTS_PROVIDER="polly" (environment): must be one of openai, deepgram, google, offline');
  });

  test("a line that is not KEY=VALUE is an error naming the file and line", () => {
    expect(() => parseEnvFile("A=1\nthis is not\n", "/etc/voicebot/voicebot.env")).toThrow("/etc/voicebot/voicebot.env:2");
  });

  test("cloud settings: defaults that exist today, the provider with a key, and one line per bad value", () => {
    const c = loadConfig({}, {});
    expect([c.deepgramModel, c.groqModel, c.openaiModel, c.ttsModel, c.ttsVoice]).toEqual(["nova-3", "llama-3.3-70b-versatile", "gpt-4.1-mini", "gpt-4o-mini-tts", "nova"]);
    expect([c.llmProvider, c.llmTtftTimeoutMs, c.apiRetryAttempts, c.bargeInMinSpeechMs, c.resampler]).toEqual([null, 1500, 2, 200, "speex"]);
    expect([c.techHours, c.timezone]).toEqual(["mon-fri 09:00-18:00", "Europe/Paris"]);
    expect([c.ttsFirstByteTimeoutMs, c.providerBreakerFailures, c.providerBreakerCooldownMs]).toEqual([1000, 3, 30_000]);
    const tuned = loadConfig({}, { TTS_FIRST_BYTE_TIMEOUT: "0.5", PROVIDER_BREAKER_FAILURES: "5", PROVIDER_BREAKER_COOLDOWN: "60" });
    expect([tuned.ttsFirstByteTimeoutMs, tuned.providerBreakerFailures, tuned.providerBreakerCooldownMs]).toEqual([500, 5, 60_000]);
    expect(error(() => loadConfig({}, { PROVIDER_BREAKER_FAILURES: "0" })).message).toBe('invalid configuration: PROVIDER_BREAKER_FAILURES="0" (environment): must be a whole number from 1 to 100');
    expect(error(() => loadConfig({}, { PROVIDER_BREAKER_COOLDOWN: "soon" })).variable).toBe("PROVIDER_BREAKER_COOLDOWN");
    expect(error(() => loadConfig({}, { TTS_FIRST_BYTE_TIMEOUT: "-1" })).variable).toBe("TTS_FIRST_BYTE_TIMEOUT");
    expect(loadConfig({}, { OPENAI_API_KEY: "k" }).llmProvider).toBe("openai");
    expect(loadConfig({}, { OPENAI_API_KEY: "k", GROQ_API_KEY: "g" }).llmProvider).toBe("groq");
    expect(loadConfig({}, { OPENAI_API_KEY: "k", GROQ_API_KEY: "g", LLM_PROVIDER: "OpenAI" }).llmProvider).toBe("openai");
    expect(loadConfig({}, { COMPANY_NAME: "Acme Box", DEEPGRAM_KEYTERMS: "fibre, , livebox" }).keyterms).toEqual(["Acme Box", "fibre", "livebox"]);
    expect(loadConfig({ websocket: "0.0.0.0:9100" }, { WEBSOCKET_PORT: "9200", WEBSOCKET_TOKEN: " t0k:en " })).toMatchObject({ websocket: { host: "0.0.0.0", port: 9100 }, websocketToken: "t0k:en" });
    expect(error(() => loadConfig({}, { WEBSOCKET_PORT: "http" })).message).toBe('invalid configuration: WEBSOCKET_PORT="http" (environment): must be a whole number from 0 to 65535');
    expect(error(() => loadConfig({}, { WEBSOCKET_TOKEN: "a b" })).message).toBe(`invalid configuration: WEBSOCKET_TOKEN="a b" (environment): must be 1-200 printable ASCII characters without spaces or ';'`);
    expect(error(() => loadConfig({}, { WEBSOCKET_TOKEN: "a;b" })).message).toContain("without spaces or ';'");
    expect(error(() => loadConfig({}, { LLM_PROVIDER: "mistral" })).message).toBe('invalid configuration: LLM_PROVIDER="mistral" (environment): must be one of groq, openai, anthropic');
    expect(error(() => loadConfig({}, { LLM_TTFT_TIMEOUT: "0" })).variable).toBe("LLM_TTFT_TIMEOUT");
    expect(error(() => loadConfig({}, { API_RETRY_ATTEMPTS: "11" })).allowed).toBe("must be a whole number from 0 to 10");
    expect(error(() => loadConfig({}, { TZ: "Mars/Olympus" })).allowed).toContain("IANA time zone");
    expect(error(() => loadConfig({}, { TECH_HOURS: "weekdays 9-18" })).variable).toBe("TECH_HOURS");
    expect(error(() => loadConfig({}, { GROQ_MODEL: "llama 3" })).variable).toBe("GROQ_MODEL");
    expect(error(() => loadConfig({}, { RESAMPLER: "ffmpeg" })).allowed).toBe("must be speex or libsamplerate");
    expect(error(() => loadConfig({}, { BARGE_IN_MIN_SPEECH: "5" })).variable).toBe("BARGE_IN_MIN_SPEECH");
  });
});
