import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeAnswers } from "../../src/install/answers.ts";
import { askAnswers, InstallCancelled, type KeyKind } from "../../src/install/prompts.ts";
import { terminal } from "../support/prompt-terminal.ts";

describe("the interactive questions", () => {
  test("Enter keeps every default; a typed key is checked live and never drawn", async () => {
    // PBX, addresses, host, AMI address, Deepgram key (typed), Groq, OpenAI, Anthropic, Google's file, the voice
    // (Aura or eSpeak), company, language, hours, transfer, ports, the store.
    const t = terminal(["\r", "\r", "\r", "\r", "dg-typed-key\r", "\r", "\r", "\r", "\r", "\r", "ACME\r", "\r", "\r", "\r", "\r", "\r"]);
    const checked: [KeyKind, string][] = [];
    const answers = await askAnswers(mergeAnswers([new Map([["AUDIOSOCKET_ALLOW", "192.0.2.20"]])], () => "192.0.2.10"), {
      input: t.input, output: t.output,
      checkKey: async (kind, key) => {
        checked.push([kind, key]);
        return { ok: true, detail: "first result in 210 ms" };
      },
    });
    t.stop();
    expect(checked).toEqual([["deepgram", "dg-typed-key"]]);
    expect(answers.get("DEEPGRAM_API_KEY")).toBe("dg-typed-key");
    expect(answers.get("COMPANY_NAME")).toBe("ACME");
    expect(answers.get("PBX")).toBe("asterisk");
    expect(answers.get("TECH_HOURS")).toBe("mon-fri 09:00-18:00");
    expect(answers.get("AMI_HOST")).toBe("192.0.2.20");
    // One Deepgram key: its Aura voice is offered first, and taken with Enter.
    expect(answers.get("TTS_PROVIDER")).toBe("deepgram");
    expect(answers.has("LLM_PROVIDER")).toBe(false);
    expect(t.drawn()).toContain("deepgram key OK: first result in 210 ms");
    expect(t.drawn()).not.toContain("dg-typed-key");
  }, 20_000);

  test("a refused key is dropped unless the admin keeps it", async () => {
    const t = terminal(["\r", "\r", "\r", "\r", "bad-key\r", "\r", "\r", "\r", "\r", "\r", "\r", "\r", "\r", "\r", "\r", "\r"]);
    const answers = await askAnswers(mergeAnswers([new Map([["AUDIOSOCKET_ALLOW", "192.0.2.20"]])], () => "192.0.2.10"), {
      input: t.input, output: t.output, checkKey: async () => ({ ok: false, detail: "key refused (HTTP 401)" }),
    });
    t.stop();
    expect(answers.get("DEEPGRAM_API_KEY")).toBe("");
    expect(t.drawn()).toContain("refused: key refused (HTTP 401)");
  }, 20_000);

  test("with two models keyed the admin picks the one that leads; the voice is asked among the keyed ones", async () => {
    // PBX, addresses, host, AMI, Deepgram, Groq (typed), OpenAI, Anthropic (typed), Google's file, model: down to Claude,
    // voice: offline (down past Aura), company, language, hours, transfer, ports, the store.
    const t = terminal(["\r", "\r", "\r", "\r", "dg\r", "gsk\r", "\r", "sk-ant\r", "\r", "\x1b[B\r", "\x1b[B\r", "\r", "\r", "\r", "\r", "\r", "\r"]);
    const checked: KeyKind[] = [];
    const answers = await askAnswers(mergeAnswers([new Map([["AUDIOSOCKET_ALLOW", "192.0.2.20"], ["LLM_PROVIDER", "openai"]])], () => "192.0.2.10"), {
      input: t.input, output: t.output,
      checkKey: async (kind) => {
        checked.push(kind);
        return { ok: true, detail: "first token in 300 ms" };
      },
    });
    t.stop();
    expect(checked).toEqual(["deepgram", "groq", "anthropic"]);
    expect([answers.get("GROQ_API_KEY"), answers.get("ANTHROPIC_API_KEY")]).toEqual(["gsk", "sk-ant"]);
    // LLM_PROVIDER=openai had no key: the choice starts on the first keyed model, Groq.
    expect(answers.get("LLM_PROVIDER")).toBe("anthropic");
    expect(answers.get("TTS_PROVIDER")).toBe("offline");
    expect(t.drawn()).toContain("Which language model leads?");
  }, 20_000);

  test("Google's service-account file: a wrong one is refused at the prompt, a good one checked live; then its ears and voice are offered", async () => {
    const dir = mkdtempSync(join(tmpdir(), "voicebot-google-key-"));
    const key = join(dir, "sa.json");
    writeFileSync(key, JSON.stringify({ type: "service_account", client_email: "vb@acme.iam.gserviceaccount.com", private_key: "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n" }));
    const notJson = join(dir, "notes.txt");
    writeFileSync(notJson, "not a key");
    // PBX, addresses, host, AMI, Deepgram, Groq, OpenAI, Anthropic, Google's file (a wrong one, then the right one),
    // ears: Google (no Deepgram key: first), voice: Google (first), company, language, hours, transfer, ports, the store.
    const t = terminal(["\r", "\r", "\r", "\r", "\r", "\r", "\r", "\r", `${notJson}\r`, "\x15", `${key}\r`, "\r", "\r", "\r", "\r", "\r", "\r", "\r", "\r"]);
    const checked: [KeyKind, string][] = [];
    try {
      const answers = await askAnswers(mergeAnswers([new Map([["AUDIOSOCKET_ALLOW", "192.0.2.20"]])], () => "192.0.2.10"), {
        input: t.input, output: t.output,
        checkKey: async (kind, value) => {
          checked.push([kind, value]);
          return { ok: true, detail: "first result in 280 ms" };
        },
      });
      expect(checked).toEqual([["google", key]]);
      expect(t.drawn()).toContain("notes.txt: must be a service-account JSON file");
      expect([answers.get("GOOGLE_APPLICATION_CREDENTIALS"), answers.get("STT_PROVIDER"), answers.get("TTS_PROVIDER")]).toEqual([key, "google", "google"]);
    } finally {
      t.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  test("Ctrl-C stops before anything is decided", async () => {
    const t = terminal(["\x03"]);
    await expect(askAnswers(mergeAnswers([], () => "192.0.2.10"), { input: t.input, output: t.output, checkKey: async () => ({ ok: true, detail: "" }) })).rejects.toBeInstanceOf(InstallCancelled);
    t.stop();
  }, 20_000);
});
