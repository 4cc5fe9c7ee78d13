import { describe, expect, test } from "bun:test";
import { configErrorOf as failure } from "../support/config-error.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { loadTenants } from "../../src/config/tenants.ts";

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "voicebot-tenants-")), name);
  writeFileSync(path, text);
  return path;
}

function configWith(tenantsFile: string | null, env: Record<string, string> = {}) {
  return loadConfig({}, { COMPANY_NAME: "Fibra", TRANSFER_TARGET: "200@techs", ...env, ...(tenantsFile ? { TENANTS_FILE: tenantsFile } : {}) });
}


const TOML = `
[tenants.acme]
company_name = "ACME Fibre"
aliases = ["acme.example.com", "3f0c9a52-8d0e-4f7b-a0c5-2a1d5e6f7a8b"]
tts_voice = "alloy"
greeting = "Bonjour, ACME Fibre, service après-vente."
tech_hours = "mon-sat 08:00-20:00"
transfer_target = "300@acme-techs:2"

[tenants.acme.prompts]
goodbye = "Merci d'avoir appelé ACME."

[tenants.lisboa]
language = "pt-BR"
timezone = "Europe/Lisbon"

[tenants.default]
greeting = "Bonjour, service client Fibra."
`;

describe("tenants", () => {
  test("without a file there is only the default tenant, built from the env settings", () => {
    const t = loadTenants(configWith(null));
    expect(t.all.map((x) => x.id)).toEqual(["default"]);
    expect(t.default).toMatchObject({ companyName: "Fibra", language: "fr-FR", transferTarget: "200@techs", phrases: {} });
    expect(t.find("nope")).toBeNull();
  });

  test("a TOML file adds tenants, each falling back to the default's settings", () => {
    const t = loadTenants(configWith(file("tenants.toml", TOML)));
    expect(t.all.map((x) => x.id)).toEqual(["default", "acme", "lisboa"]);
    const acme = t.find("acme.example.com");
    expect(acme).toMatchObject({ id: "acme", companyName: "ACME Fibre", ttsVoice: "alloy", techHours: "mon-sat 08:00-20:00", transferTarget: "300@acme-techs:2", language: "fr-FR" });
    expect(acme?.phrases).toEqual({ welcome: "Bonjour, ACME Fibre, service après-vente.", welcomeAi: "Bonjour, ACME Fibre, service après-vente.", goodbye: "Merci d'avoir appelé ACME." });
    expect(t.find("3f0c9a52-8d0e-4f7b-a0c5-2a1d5e6f7a8b")?.id).toBe("acme");
    // Another company does not inherit the default's technician line or greeting.
    expect(t.find("lisboa")).toMatchObject({ language: "pt-BR", timezone: "Europe/Lisbon", transferTarget: null, companyName: "Fibra", phrases: {} });
    expect(t.default.phrases.welcome).toBe("Bonjour, service client Fibra.");
    expect(t.default.transferTarget).toBe("200@techs");
  });

  test("the same tenants as JSON", () => {
    const json = { tenants: { acme: { company_name: "ACME", prompts: { busy: "Toutes nos lignes sont occupées." } } } };
    const t = loadTenants(configWith(file("tenants.json", JSON.stringify(json))));
    expect(t.find("acme")?.phrases).toEqual({ busy: "Toutes nos lignes sont occupées." });
  });

  test.each([
    ["[tenants.acme]\nlanguage = \"xx-XX\"", "tenants.acme.language", "must be one of"],
    ["[tenants.acme]\ntech_hours = \"someday\"", "tenants.acme.tech_hours", ""],
    ["[tenants.acme]\ntimezone = \"Mars/Olympus\"", "tenants.acme.timezone", "IANA"],
    ["[tenants.acme]\ntransfer_target = \"200\"", "tenants.acme.transfer_target", "expected exten@context"],
    ["[tenants.acme]\nprompts = { hello = \"x\" }", "tenants.acme.prompts.hello", "is not a phrase id"],
    ["[tenants.acme]\ncolour = \"red\"", "tenants.acme.colour", "is not a tenant setting"],
    ["[tenants.acme]\naliases = [\"a b\"]", "tenants.acme.aliases", "list of ids"],
    ["[tenants.acme]\naliases = [\"x\"]\n[tenants.beta]\naliases = [\"x\"]", "tenants.beta.aliases", "already names tenant acme"],
    ["[tenants.\"bad id!\"]\ncompany_name = \"x\"", "tenants.bad id!", "tenant id"],
    ["tenants = 3", "tenants", "table of tenants"],
    ["[tenants.acme\n", "TENANTS_FILE", "not valid TOML"],
  ])("a bad entry stops start-up with one line naming it: %#", (text, variable, rule) => {
    const path = file("tenants.toml", text);
    const err = failure(() => loadTenants(configWith(path)));
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(rule);
    expect(err.message.split("\n")).toHaveLength(1);
  });

  test("TENANTS_FILE must exist, and the PBX settings are checked at the edge", () => {
    expect(failure(() => loadConfig({}, { TENANTS_FILE: "/nonexistent/tenants.toml" })).variable).toBe("TENANTS_FILE");
    expect(failure(() => loadConfig({}, { TRANSFER_TARGET: "200 @x" })).variable).toBe("TRANSFER_TARGET");
    expect(failure(() => loadConfig({}, { AUDIOSTREAM_PLAYBACK: "both" })).message).toContain("must be one of file, stream");
    expect(failure(() => loadConfig({}, { AUDIOSTREAM_RATE: "44100" })).message).toContain("8000, 16000, 24000, 32000, 48000");
    expect(failure(() => loadConfig({}, { AMI_HOST: "10.0.0.2" })).variable).toBe("AMI_USER");
    const c = loadConfig({}, { AMI_HOST: "10.0.0.2", AMI_USER: "voicebot", AMI_SECRET: "s3cret", ESL_HOST: "127.0.0.1", UNKNOWN_TENANT: "reject" });
    expect(c.ami).toEqual({ host: "10.0.0.2", port: 5038, username: "voicebot", secret: "s3cret" });
    expect(c.esl).toEqual({ host: "127.0.0.1", port: 8021, password: "ClueCon" });
    expect(c.unknownTenant).toBe("reject");
    expect(loadConfig({}, {})).toMatchObject({ ami: null, esl: null, audiostreamPlayback: "file", audiostreamRate: 16000, audiostreamMix: "mono", unknownTenant: "default", transferTarget: null });
  });
});
