/** The providers from this host: keys, models, and each stage's latency against the 1 s turn budget. */
import { checkAmiLogin } from "../transports/ami.ts";
import { checkEslAuth } from "../transports/esl-auth.ts";
import { LLM_PROVIDERS, type Config, type LlmProviderName } from "../config/schema.ts";
import type { Check, CheckResult } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";
import { BUDGET_MS, probeAura, probeDeepgram, probeLlm, probeTts, type ProbeResult } from "./provider-probe.ts";
import { probeGoogleStt, probeGoogleTts } from "./provider-probe-google.ts";

function toResult(id: string, p: ProbeResult): CheckResult {
  const r: CheckResult = { id, status: p.status, detail: p.detail };
  if (p.fix) r.fix = p.fix;
  if (p.ms !== null) r.ms = p.ms;
  return r;
}

export function llmSettings(c: Config, provider: LlmProviderName): { key: string | null; model: string; baseUrl: string | null } {
  switch (provider) {
    case "groq":
      return { key: c.groqApiKey, model: c.groqModel, baseUrl: c.groqBaseUrl };
    case "openai":
      return { key: c.openaiApiKey, model: c.openaiModel, baseUrl: c.openaiBaseUrl };
    case "anthropic":
      return { key: c.anthropicApiKey, model: c.anthropicModel, baseUrl: c.anthropicBaseUrl };
  }
}

function offlineVoiceWhy(c: Config): string {
  if (c.ttsProvider === "deepgram") return "TTS_PROVIDER=deepgram without DEEPGRAM_API_KEY";
  if (c.ttsProvider === "openai") return "no OPENAI_API_KEY";
  if (c.ttsProvider === "google") return "TTS_PROVIDER=google without GOOGLE_APPLICATION_CREDENTIALS";
  return "TTS_PROVIDER=offline, or no OPENAI_API_KEY";
}

export const providersCheck: Check = {
  id: "provider",
  timeoutMs: 8000,
  async run(ctx) {
    const c = ctx.config;
    if (!c) return fail("provider", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    const signal = ctx.signal;
    const stt = c.sttProvider === "google" && c.googleCredentials
      ? probeGoogleStt({ credentials: c.googleCredentials, endpoint: c.googleSpeechEndpoint, model: c.googleSttModel, language: c.language, signal }).then((p) => toResult("provider.google", p))
      : c.sttProvider === "deepgram" && c.deepgramApiKey
      ? probeDeepgram({ key: c.deepgramApiKey, baseUrl: c.deepgramBaseUrl, model: c.deepgramModel, language: c.language, signal }).then((p) => toResult("provider.deepgram", p))
      : Promise.resolve(pass("provider.deepgram", c.sttProvider === null && c.deepgramApiKey ? "STT_PROVIDER=offline: callers answer on the keypad" : "no DEEPGRAM_API_KEY: offline, callers answer on the keypad"));
    const llms = LLM_PROVIDERS.flatMap((provider) => {
      const { key, model, baseUrl } = llmSettings(c, provider);
      if (!key) return [];
      return [probeLlm({ provider, key, baseUrl, model, signal }).then((p) => ({ provider, result: toResult(`provider.llm.${provider}`, p) }))];
    });
    const tts = c.ttsProvider === "google" && c.googleCredentials
      ? probeGoogleTts({ credentials: c.googleCredentials, endpoint: c.googleTtsEndpoint, voice: c.ttsVoice, signal }).then((p) => toResult("provider.tts", p))
      : c.ttsProvider === "deepgram" && c.deepgramApiKey
      ? probeAura({ key: c.deepgramApiKey, baseUrl: c.deepgramBaseUrl, voice: c.ttsVoice, signal }).then((p) => toResult("provider.tts", p))
      : c.ttsProvider === "openai" && c.openaiApiKey
        ? probeTts({ key: c.openaiApiKey, baseUrl: c.openaiBaseUrl, model: c.ttsModel, voice: c.ttsVoice, signal }).then((p) => toResult("provider.tts", p))
        : Promise.resolve(pass("provider.tts", `${offlineVoiceWhy(c)}: offline, the embedded eSpeak-NG voice speaks`));
    const [sttResult, llmResults, ttsResult] = await Promise.all([stt, Promise.all(llms), tts]);
    const results: CheckResult[] = [sttResult];
    if (llmResults.length === 0) results.push(pass("provider.llm", "no GROQ_API_KEY, OPENAI_API_KEY or ANTHROPIC_API_KEY: offline, the scripted SAV dialog runs the call"));
    else results.push(...llmResults.map((l) => l.result));
    results.push(ttsResult);

    const primary = llmResults.find((l) => l.provider === c.llmProvider)?.result;
    const stages = [sttResult, primary, ttsResult].filter((r): r is CheckResult => r !== undefined && r.ms !== undefined);
    if (c.sttProvider !== null && primary && stages.length === 3) {
      const total = stages.reduce((sum, r) => sum + (r.ms ?? 0), 0);
      const detail = `recognition + first token + first byte = ${Math.round(total)} ms of the ${BUDGET_MS.turn} ms turn budget`;
      results.push(total <= BUDGET_MS.turn
        ? pass("provider.budget", detail)
        : warn("provider.budget", detail, "callers will hear the filler phrase often: check this host's latency to the providers (a nearer region, a faster model)"));
    }
    return results;
  },
};

export const pbxControlCheck: Check = {
  id: "pbx-control",
  timeoutMs: 5000,
  async run(ctx) {
    const c = ctx.config;
    if (!c) return fail("pbx-control", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    const results: CheckResult[] = [];
    if (c.ami) {
      const r = await checkAmiLogin({ ...c.ami, timeoutMs: 3000 });
      results.push(r.ok ? pass("pbx.ami", r.message, r.ms) : fail("pbx.ami", r.message, "on the PBX, run /etc/voicebot/pbx/asterisk/apply-on-pbx.sh as root (it installs voicebot's AMI user with AMI_SECRET and turns AMI on); else check AMI_HOST/AMI_PORT/AMI_USER/AMI_SECRET against manager.conf and the PBX's firewall"));
    } else if (c.pbx !== "freeswitch") {
      results.push(pass("pbx.ami", "AMI not configured: transfers go through the dialplan's /api/calls/{uuid}/next"));
    }
    if (c.esl) {
      const r = await checkEslAuth({ ...c.esl, timeoutMs: 3000 });
      results.push(r.ok ? pass("pbx.esl", r.message, r.ms) : fail("pbx.esl", r.message, "on the PBX, run /etc/voicebot/pbx/freeswitch/apply-on-pbx.sh as root (it installs event_socket.conf.xml with ESL_PASSWORD and the ACL); else check ESL_HOST/ESL_PORT/ESL_PASSWORD against event_socket.conf.xml and the PBX's firewall"));
    } else if (c.pbx !== "asterisk") {
      results.push(warn("pbx.esl", "ESL not configured: FreeSWITCH calls get no keypad digits, file playback or transfers", "set ESL_HOST (and ESL_PASSWORD) in /etc/voicebot/voicebot.env"));
    }
    return results;
  },
};
