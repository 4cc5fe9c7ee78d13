import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { voiceIdFor } from "../../src/ai/tts/select.ts";
import { FAKE_GOOGLE_CREDENTIALS } from "../fakes/google.ts";

const dir = mkdtempSync(join(tmpdir(), "voicebot-google-config-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const good = file("sa.json", FAKE_GOOGLE_CREDENTIALS);

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({}, env);
  } catch (error) {
    expect((error as Error).name).toBe("ConfigError");
    expect((error as Error).message).not.toContain("\n");
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("Google settings", () => {
  test("STT_PROVIDER and TTS_PROVIDER google with a service-account file; voice by LANGUAGE, model settable", () => {
    const c = loadConfig({}, { GOOGLE_APPLICATION_CREDENTIALS: good, STT_PROVIDER: "google", TTS_PROVIDER: "google", LANGUAGE: "pt-BR", GOOGLE_STT_MODEL: "latest_short", GOOGLE_SPEECH_ENDPOINT: "127.0.0.1:50051", GOOGLE_TTS_ENDPOINT: "eu-texttospeech.googleapis.com" });
    expect([c.sttProvider, c.ttsProvider, c.ttsVoice, c.googleSttModel, c.googleSpeechEndpoint, c.googleTtsEndpoint]).toEqual(["google", "google", "pt-BR-Chirp3-HD-Aoede", "latest_short", "127.0.0.1:50051", "eu-texttospeech.googleapis.com"]);
    expect(c.googleCredentials?.clientEmail).toBe("voicebot@voicebot-fake.iam.gserviceaccount.com");
    expect(voiceIdFor(c)).toBe("google:pt-BR-Chirp3-HD-Aoede");
    const fr = loadConfig({}, { GOOGLE_APPLICATION_CREDENTIALS: good, TTS_PROVIDER: "google", GOOGLE_TTS_VOICE: "fr-FR-Neural2-A" });
    expect([fr.ttsVoice, fr.sttProvider, fr.googleSttModel]).toEqual(["fr-FR-Neural2-A", null, "telephony"]);
    expect(loadConfig({}, { DEEPGRAM_API_KEY: "k" }).sttProvider).toBe("deepgram");
    expect(loadConfig({}, { DEEPGRAM_API_KEY: "k", STT_PROVIDER: "offline" }).sttProvider).toBeNull();
  });

  test("a missing, unreadable or incomplete credentials file stops start-up with one line naming it", () => {
    expect(refusal({ STT_PROVIDER: "google" })).toContain("needs GOOGLE_APPLICATION_CREDENTIALS");
    expect(refusal({ TTS_PROVIDER: "google" })).toContain("needs GOOGLE_APPLICATION_CREDENTIALS");
    expect(refusal({ GOOGLE_APPLICATION_CREDENTIALS: join(dir, "nope.json") })).toContain("readable service-account JSON file (ENOENT)");
    expect(refusal({ GOOGLE_APPLICATION_CREDENTIALS: file("bad.json", "{not json") })).toContain("this one is not JSON");
    expect(refusal({ GOOGLE_APPLICATION_CREDENTIALS: file("nokey.json", JSON.stringify({ client_email: "a@b.c" })) })).toContain("with private_key");
    expect(refusal({ STT_PROVIDER: "deepgram" })).toContain("needs DEEPGRAM_API_KEY");
    expect(refusal({ STT_PROVIDER: "whisper" })).toContain("must be one of deepgram, google, offline");
    expect(refusal({ GOOGLE_APPLICATION_CREDENTIALS: good, GOOGLE_SPEECH_ENDPOINT: "https://x" })).toContain("must be host or host:port, e.g. eu-speech.googleapis.com");
    expect(refusal({ GOOGLE_APPLICATION_CREDENTIALS: good, GOOGLE_TTS_ENDPOINT: "x:99999" })).toContain("must be host or host:port, e.g. eu-texttospeech.googleapis.com");
  });
});
