import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { complete, mergeAnswers, rederive, validateAnswers } from "../../src/install/answers.ts";
import { envDiff, renderEnvFile } from "../../src/install/env-render.ts";
import { parseEnvFile } from "../../src/config/envfile.ts";
import { applyFirewall, firewallRules, removeFirewall } from "../../src/install/firewall.ts";
import { renderNft } from "../../src/install/firewall-nft.ts";
import { createSystem } from "../../src/install/system-host.ts";
import { renderUnits } from "../../src/install/systemd.ts";
import { createStandins, type Standins } from "../support/standins.ts";
import { requireTool } from "../support/system-tools.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-root-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function standins(o: Parameters<typeof createStandins>[0] = {}): Standins {
  const s = createStandins(o);
  cleanups.push(() => s.cleanup());
  return s;
}

function configFrom(values: Record<string, string>) {
  const dir = tempRoot();
  const file = join(dir, "voicebot.env");
  writeFileSync(file, Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n"));
  return loadConfig({ config: file, dataDir: dir }, {});
}

describe("System", () => {
  test("writes atomically with the mode, and a second identical write changes nothing", () => {
    const root = tempRoot();
    const said: string[] = [];
    const sys = createSystem({ root, dryRun: false, say: (l) => said.push(l) });
    expect(sys.write("/etc/voicebot/a.env", "A=1\n", { mode: 0o640 })).toBe(true);
    expect(readFileSync(join(root, "etc/voicebot/a.env"), "utf8")).toBe("A=1\n");
    expect(statSync(join(root, "etc/voicebot/a.env")).mode & 0o777).toBe(0o640);
    expect(sys.write("/etc/voicebot/a.env", "A=1\n", { mode: 0o640 })).toBe(false);
    expect(sys.changes.filter((c) => c.kind === "write")).toHaveLength(1);
    expect(sys.write("/etc/voicebot/a.env", "A=1\n", { mode: 0o600 })).toBe(true);
    expect(existsSync(join(root, "etc/voicebot/a.env.voicebot-tmp"))).toBe(false);
  });

  test("dry-run writes and runs nothing, lists every change, and never shows a secret", () => {
    const root = tempRoot();
    const s = standins();
    const said: string[] = [];
    const sys = createSystem({ root, dryRun: true, say: (l) => said.push(l), env: s.env });
    sys.write("/etc/voicebot/voicebot.env", "OPENAI_API_KEY=sk-very-secret\n", { mode: 0o640, owner: "root", group: "voicebot" }, true);
    sys.mkdir("/var/lib/voicebot", { mode: 0o750 });
    sys.run(["useradd", "voicebot"]);
    expect(sys.run(["getent", "passwd", "voicebot"], { probe: true }).code).not.toBe(0);
    expect(existsSync(join(root, "etc"))).toBe(false);
    expect(s.calls()).toEqual([]);
    expect(said.join("\n")).toContain("would write /etc/voicebot/voicebot.env (0640 root:voicebot)");
    expect(said.join("\n")).toContain("would run: useradd voicebot");
    expect(said.join("\n")).not.toContain("sk-very-secret");
  });

  test("a missing command answers 127 instead of throwing", () => {
    const sys = createSystem({ root: tempRoot(), dryRun: false, say: () => undefined });
    expect(sys.run(["voicebot-no-such-command-here"], { probe: true }).code).toBe(127);
  });
});

describe("answers and the env file", () => {
  test("defaults, then the existing file, then the answers; tokens generated once; loopback allowed for the doctor", () => {
    const existing = new Map([["ADMIN_TOKEN", "keep-me"], ["COMPANY_NAME", "Old"], ["MY_OWN", "x"]]);
    const a = mergeAnswers([existing, new Map([["COMPANY_NAME", "ACME"], ["AUDIOSOCKET_ALLOW", "192.0.2.20"]])], () => "192.0.2.10");
    expect(a.get("ADMIN_TOKEN")).toBe("keep-me");
    expect(a.get("AUDIOSTREAM_TOKEN")?.length).toBeGreaterThan(30);
    expect(a.get("WEBSOCKET_TOKEN")?.length).toBeGreaterThan(30);
    expect(a.get("COMPANY_NAME")).toBe("ACME");
    expect(a.get("AUDIOSOCKET_ALLOW")).toBe("192.0.2.20,127.0.0.1");
    expect(a.get("PUBLIC_HOST")).toBe("192.0.2.10");
    expect(a.get("AUDIOSTREAM_HOST")).toBe("127.0.0.1");
    const text = renderEnvFile(a, "test");
    const back = parseEnvFile(text, "x");
    expect(Object.fromEntries(back)).toEqual(Object.fromEntries(a));
    expect(text).toContain("# Kept from the previous file\nMY_OWN=x");
    expect(validateAnswers(a, { dataDir: tempRoot(), tenantsFile: null }).companyName).toBe("ACME");
  });

  test("a PBX on another host gets its listener and the admin port on every address", () => {
    const fs = mergeAnswers([new Map([["PBX", "freeswitch"], ["AUDIOSOCKET_ALLOW", "192.0.2.30"]])], () => "192.0.2.10");
    expect(fs.get("AUDIOSTREAM_HOST")).toBe("0.0.0.0");
    expect(fs.get("HTTP_HOST")).toBe("0.0.0.0");
    const ast = mergeAnswers([new Map([["PBX", "asterisk"], ["AUDIOSOCKET_ALLOW", "192.0.2.20"]])], () => "192.0.2.10");
    expect([ast.get("HTTP_HOST"), ast.get("WEBSOCKET_HOST")]).toEqual(["0.0.0.0", "0.0.0.0"]);
    expect(fs.get("WEBSOCKET_HOST")).toBe("127.0.0.1");
    const local = mergeAnswers([new Map([["PBX", "asterisk"], ["AUDIOSOCKET_ALLOW", "127.0.0.1"]])], () => "192.0.2.10");
    expect(local.get("HTTP_HOST")).toBe("127.0.0.1");
    // A PBX on this host dials voicebot, and registers calls, over loopback.
    expect([local.get("PUBLIC_HOST"), local.get("AMI_HOST")]).toEqual(["127.0.0.1", "127.0.0.1"]);
    expect(mergeAnswers([new Map([["PBX", "asterisk"], ["AUDIOSOCKET_ALLOW", "192.0.2.20"], ["HTTP_HOST", "127.0.0.1"]])]).get("HTTP_HOST")).toBe("127.0.0.1");
  });

  test("AMI / ESL point at the PBX with a secret generated once; an empty host keeps them off; a typed PBX address re-derives what nobody set", () => {
    const ast = mergeAnswers([new Map([["PBX", "asterisk"], ["AUDIOSOCKET_ALLOW", "192.0.2.0/24,192.0.2.20"]])], () => "192.0.2.10");
    expect([ast.get("AMI_HOST"), ast.get("AMI_PORT"), ast.get("AMI_USER"), ast.has("ESL_HOST")]).toEqual(["192.0.2.20", "5038", "voicebot", false]);
    expect(ast.get("AMI_SECRET")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rerun = mergeAnswers([parseEnvFile(renderEnvFile(ast, "test"), "x")], () => "192.0.2.10");
    expect(rerun.get("AMI_SECRET")).toBe(ast.get("AMI_SECRET"));
    const fs = mergeAnswers([new Map([["PBX", "freeswitch"], ["AUDIOSOCKET_ALLOW", "192.0.2.30"], ["ESL_PASSWORD", "given"]])], () => "192.0.2.10");
    expect([fs.get("ESL_HOST"), fs.get("ESL_PORT"), fs.get("ESL_PASSWORD"), fs.has("AMI_HOST")]).toEqual(["192.0.2.30", "8021", "given", false]);
    const off = mergeAnswers([new Map([["PBX", "asterisk"], ["AUDIOSOCKET_ALLOW", "192.0.2.20"], ["AMI_HOST", ""]])], () => "192.0.2.10");
    expect([off.get("AMI_HOST"), off.has("AMI_SECRET")]).toEqual(["", false]);
    expect(parseEnvFile(renderEnvFile(off, "test"), "x").get("AMI_HOST")).toBe("");
    expect(validateAnswers(off, { dataDir: tempRoot(), tenantsFile: null }).ami).toBeNull();

    // Interactive: the defaults were derived before the admin typed the PBX's address.
    const layers = [new Map([["HTTP_PORT", "9091"]])];
    const before = mergeAnswers(layers, () => "192.0.2.10");
    expect([before.get("HTTP_HOST"), before.get("AMI_HOST")]).toEqual(["127.0.0.1", "127.0.0.1"]);
    const asked = new Map(before).set("AUDIOSOCKET_ALLOW", "203.0.113.10").set("AMI_HOST", "203.0.113.10");
    const after = complete(rederive(asked, before, layers), () => "192.0.2.10");
    expect([after.get("HTTP_HOST"), after.get("AMI_HOST"), after.get("AUDIOSOCKET_ALLOW")]).toEqual(["0.0.0.0", "203.0.113.10", "203.0.113.10,127.0.0.1"]);
    const kept = complete(rederive(new Map(before).set("AUDIOSOCKET_ALLOW", "203.0.113.10"), before, [new Map([["HTTP_HOST", "127.0.0.1"]])]), () => "192.0.2.10");
    expect(kept.get("HTTP_HOST")).toBe("127.0.0.1");
  });

  test("a bad answer is one line naming the variable, its value and what is allowed", () => {
    const a = mergeAnswers([new Map([["AUDIOSOCKET_PORT", "ninety"]])], () => "192.0.2.10");
    expect(() => validateAnswers(a, { dataDir: tempRoot(), tenantsFile: null })).toThrow(/AUDIOSOCKET_PORT="ninety".*whole number from 0 to 65535/);
  });

  test("the diff names secrets without showing them", () => {
    const lines = envDiff(new Map([["OPENAI_API_KEY", "sk-old"], ["LANGUAGE", "fr-FR"]]), new Map([["OPENAI_API_KEY", "sk-new"], ["LANGUAGE", "en-US"], ["GROQ_API_KEY", "gsk-1"]]));
    expect(lines).toEqual(["+ GROQ_API_KEY=(secret)", '~ LANGUAGE: "fr-FR" → "en-US"', "~ OPENAI_API_KEY: changed"]);
    expect(lines.join("\n")).not.toMatch(/sk-old|sk-new|gsk-1/);
  });
});

describe("firewall", () => {
  const base = { AUDIOSOCKET_ALLOW: "192.0.2.20,2001:db8::20,127.0.0.1" };

  test("rules: the call ports from the PBX only, nothing for loopback listeners, admin only when opened", () => {
    expect(firewallRules(configFrom({ ...base, PBX: "asterisk" }))).toEqual([
      { port: 9090, proto: "tcp", sources: ["192.0.2.20", "2001:db8::20"], label: "audiosocket" },
    ]);
    expect(firewallRules(configFrom({ ...base, PBX: "freeswitch", AUDIOSTREAM_HOST: "0.0.0.0" })).map((r) => r.label)).toEqual(["audiostream"]);
    expect(firewallRules(configFrom({ ...base, PBX: "both", HTTP_HOST: "0.0.0.0" })).map((r) => r.label)).toEqual(["audiosocket", "admin"]);
    expect(firewallRules(configFrom({ ...base, PBX: "asterisk", WEBSOCKET_HOST: "0.0.0.0" })).map((r) => r.label)).toEqual(["audiosocket", "websocket"]);
    expect(firewallRules(configFrom({ ...base, PBX: "freeswitch", WEBSOCKET_HOST: "0.0.0.0" })).map((r) => r.label)).toEqual([]);
    expect(firewallRules(configFrom({ ...base, PBX: "freeswitch", ASP_HOST: "0.0.0.0" }))).toEqual([
      { port: 8765, proto: "tcp", sources: ["192.0.2.20", "2001:db8::20"], label: "asp" },
    ]);
    expect(firewallRules(configFrom({ AUDIOSOCKET_ALLOW: "127.0.0.1", PBX: "asterisk" }))).toEqual([]);
    expect(firewallRules(configFrom({ PBX: "asterisk" }))[0]?.sources).toEqual([]);
  });

  test("ufw: exact commands, nothing added twice, old addresses deleted", () => {
    const s = standins({ ufw: "active" });
    const said: string[] = [];
    const sys = createSystem({ root: tempRoot(), dryRun: false, say: (l) => said.push(l), env: s.env });
    const rules = firewallRules(configFrom({ ...base, PBX: "asterisk" }));
    const state = applyFirewall(sys, rules, null);
    expect(state.backend).toBe("ufw");
    const allows = () => s.calls().filter((c) => c[0] === "ufw" && (c[1] === "allow" || c[1] === "delete"));
    expect(allows()).toEqual([
      ["ufw", "allow", "proto", "tcp", "from", "192.0.2.20", "to", "any", "port", "9090", "comment", "voicebot audiosocket"],
      ["ufw", "allow", "proto", "tcp", "from", "2001:db8::20", "to", "any", "port", "9090", "comment", "voicebot audiosocket"],
    ]);
    applyFirewall(sys, rules, state);
    expect(allows()).toHaveLength(2);
    const moved = firewallRules(configFrom({ AUDIOSOCKET_ALLOW: "192.0.2.21", PBX: "asterisk" }));
    const next = applyFirewall(sys, moved, state);
    expect(allows().slice(2)).toEqual([
      ["ufw", "delete", "allow", "proto", "tcp", "from", "192.0.2.20", "to", "any", "port", "9090", "comment", "voicebot audiosocket"],
      ["ufw", "delete", "allow", "proto", "tcp", "from", "2001:db8::20", "to", "any", "port", "9090", "comment", "voicebot audiosocket"],
      ["ufw", "allow", "proto", "tcp", "from", "192.0.2.21", "to", "any", "port", "9090", "comment", "voicebot audiosocket"],
    ]);
    removeFirewall(sys, next);
    expect(allows().at(-1)?.slice(0, 3)).toEqual(["ufw", "delete", "allow"]);
  });

  test("without an active ufw: our own nftables table, loaded with nft -f, replaced atomically", () => {
    const root = tempRoot();
    const s = standins({ ufw: "inactive" });
    const sys = createSystem({ root, dryRun: false, say: () => undefined, env: s.env });
    const rules = firewallRules(configFrom({ ...base, PBX: "both", AUDIOSTREAM_HOST: "0.0.0.0" }));
    const state = applyFirewall(sys, rules, null);
    expect(state.backend).toBe("nft");
    const file = readFileSync(join(root, "etc/voicebot/firewall.nft"), "utf8");
    expect(file).toBe(renderNft(rules));
    expect(file).toContain("table inet voicebot {}\ndelete table inet voicebot\ntable inet voicebot {");
    expect(file).toContain("elements = { 192.0.2.20 }");
    expect(file).toContain("elements = { 2001:db8::20 }");
    expect(file).toContain("ip saddr @audiosocket_v4 tcp dport 9090 accept");
    expect(file).toContain("tcp dport 8085 drop");
    expect(s.calls().filter((c) => c[0] === "nft")).toContainEqual(["nft", "-f", join(root, "etc/voicebot/firewall.nft")]);
  });
});

test("the real nft accepts the table (check mode: nothing is loaded)", () => {
  const nft = requireTool("nft");
  const dir = tempRoot();
  const file = join(dir, "firewall.nft");
  writeFileSync(file, renderNft(firewallRules(configFrom({ AUDIOSOCKET_ALLOW: "192.0.2.20,2001:db8::20", PBX: "both", AUDIOSTREAM_HOST: "0.0.0.0", HTTP_HOST: "0.0.0.0" }))));
  const r = Bun.spawnSync([nft, "-c", "-f", file], { stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});

describe("systemd units", () => {
  const o = { binary: "/bin/true", configFile: "/etc/voicebot/voicebot.env", dataDir: "/var/lib/voicebot", drainSec: 300 };

  test("the service is hardened, drains calls on stop, and reloads the nft table only when used", () => {
    const [service, recordings, timer] = renderUnits(o).map((u) => u.text);
    for (const line of ["NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/voicebot", "PrivateTmp=yes", "Restart=on-failure", "TimeoutStopSec=330", "User=voicebot", "CapabilityBoundingSet="]) {
      expect(service).toContain(line);
    }
    expect(service).toContain("ExecStart=/bin/true serve --config /etc/voicebot/voicebot.env --data-dir /var/lib/voicebot");
    expect(service).not.toContain("nft");
    expect(renderUnits({ ...o, nftFile: "/etc/voicebot/firewall.nft" })[0]?.text).toContain("ExecStartPre=+/usr/sbin/nft -f /etc/voicebot/firewall.nft");
    expect(recordings).toContain("recordings convert --delete-raw --older-than 1h");
    expect(timer).toContain("Persistent=true");
  });

  test("systemd-analyze verify accepts the units", () => {
    const analyze = requireTool("systemdAnalyze");
    const dir = tempRoot();
    mkdirSync(join(dir, "data"));
    writeFileSync(join(dir, "voicebot.env"), "");
    for (const unit of renderUnits({ ...o, configFile: join(dir, "voicebot.env"), dataDir: join(dir, "data") })) writeFileSync(join(dir, unit.name), unit.text);
    const r = Bun.spawnSync([analyze, "verify", ...renderUnits(o).map((u) => join(dir, u.name))], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });
});
