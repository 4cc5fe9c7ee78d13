import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseEnvFile } from "../../src/config/envfile.ts";
import { install, InstallError, type InstallOptions } from "../../src/install/install.ts";
import { createSystem } from "../../src/install/system-host.ts";
import { uninstall } from "../../src/install/uninstall.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";
import { createStandins, type Standins } from "../support/standins.ts";

// Each install ends with doctor, whose AMI login to the (unreachable) PBX address waits out its 3 s.
setDefaultTimeout(30_000);

const pg = pgClusterForFile();
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Stage {
  root: string;
  s: Standins;
  said: string[];
  answers: string;
  options(extra?: Partial<InstallOptions>): InstallOptions;
}

function stage(o: { systemd?: boolean; ufw?: "active" | "inactive" | "absent"; answers?: string } = {}): Stage {
  const root = mkdtempSync(join(tmpdir(), "voicebot-install-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
  if (o.systemd !== false) mkdirSync(join(root, "run/systemd/system"), { recursive: true });
  const s = createStandins({ ufw: o.ufw ?? "inactive" });
  cleanups.push(() => s.cleanup());
  const answers = join(root, "..", `${relative(tmpdir(), root)}.answers`);
  writeFileSync(answers, o.answers ?? "PBX=asterisk\nAUDIOSOCKET_ALLOW=192.0.2.20\nCOMPANY_NAME=ACME Fibre\nTRANSFER_TARGET=200@from-internal\n");
  cleanups.push(() => rmSync(answers, { force: true }));
  const binary = join(root, "..", `${relative(tmpdir(), root)}.bin`);
  writeFileSync(binary, "#!/bin/sh\necho voicebot\n", { mode: 0o755 });
  cleanups.push(() => rmSync(binary, { force: true }));
  const said: string[] = [];
  return {
    root, s, said, answers,
    options: (extra = {}) => ({
      root, dryRun: false, yes: true, answersFile: answers, binary, start: false, buildCache: null, force: false,
      env: s.env, say: (l) => said.push(l), detectHost: () => "192.0.2.10", ...extra,
    }),
  };
}

/** Every path under root with its mode and content, to prove a run changed nothing. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      out[relative(root, path)] = st.isDirectory() ? `dir ${st.mode & 0o777}` : `${st.mode & 0o777} ${readFileSync(path, "utf8")}`;
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

describe("voicebot install into a staging root", () => {
  test("first install: user, files with their modes, units, firewall, PBX config, manifest", async () => {
    const t = stage();
    const report = await install(t.options());
    const file = (p: string) => join(t.root, p);
    expect(report.createdUser).toBe(true);
    expect(t.s.calls().filter((c) => c[0] === "useradd")).toHaveLength(1);
    expect(statSync(file("etc/voicebot/voicebot.env")).mode & 0o777).toBe(0o640);
    expect(statSync(file("etc/voicebot")).mode & 0o777).toBe(0o750);
    expect(statSync(file("usr/local/bin/voicebot")).mode & 0o777).toBe(0o755);
    const env = readFileSync(file("etc/voicebot/voicebot.env"), "utf8");
    expect(env).toContain("COMPANY_NAME=\"ACME Fibre\"");
    expect(env).toMatch(/ADMIN_TOKEN=[A-Za-z0-9_-]{40,}/);
    expect(env).toMatch(/PBX_TOKEN=[A-Za-z0-9_-]{40,}/);
    // The dialplan Asterisk reads carries the PBX token, never the admin one.
    const adminToken = /ADMIN_TOKEN=(\S+)/.exec(env)?.[1] ?? "";
    const pbxToken = /PBX_TOKEN=(\S+)/.exec(env)?.[1] ?? "";
    const dialplan = readFileSync(file("etc/voicebot/pbx/asterisk/extensions_voicebot.conf"), "utf8");
    expect(dialplan).toContain(`?token=${pbxToken}`);
    expect(dialplan).not.toContain(adminToken);
    expect(existsSync(file("etc/voicebot/tenants.toml"))).toBe(true);
    expect(existsSync(file("etc/systemd/system/voicebot.service"))).toBe(true);
    expect(readFileSync(file("etc/systemd/system/voicebot.service"), "utf8")).toContain("ExecStartPre=+/usr/sbin/nft -f /etc/voicebot/firewall.nft");
    expect(readFileSync(file("etc/voicebot/firewall.nft"), "utf8")).toContain("elements = { 192.0.2.20 }");
    expect(existsSync(file("etc/voicebot/pbx/asterisk/extensions_voicebot.conf"))).toBe(true);
    expect(statSync(file("etc/voicebot/pbx/asterisk/apply-on-pbx.sh")).mode & 0o777).toBe(0o700);
    expect(report.pbxSteps[0]).toStartWith("asterisk: Copy asterisk/apply-on-pbx.sh to the PBX host and run it as root");
    expect(report.pbxSteps.join("\n")).toContain("extensions_voicebot.conf");
    const manifest = JSON.parse(readFileSync(file("etc/voicebot/install.json"), "utf8")) as { files: string[]; createdUser: boolean; firewall: { backend: string } };
    expect(manifest.createdUser).toBe(true);
    expect(manifest.firewall.backend).toBe("nft");
    expect(manifest.files).toContain("/etc/systemd/system/voicebot.service");
    expect(report.modes.tts).toBe("offline: eSpeak-NG");
    expect(report.doctor.find((r) => r.id === "config")?.status).toBe("PASS");
  });

  test("answers file, PBXes on another host: one generated AMI secret and ESL password, written on both sides; the admin port open to the PBXes only", async () => {
    const t = stage({ answers: "PBX=both\nAUDIOSOCKET_ALLOW=203.0.113.10,203.0.113.11\n" });
    const report = await install(t.options());
    const file = (p: string) => readFileSync(join(t.root, p), "utf8");
    const env = parseEnvFile(file("etc/voicebot/voicebot.env"), "voicebot.env");
    expect([env.get("AMI_HOST"), env.get("ESL_HOST"), env.get("HTTP_HOST"), env.get("PUBLIC_HOST")]).toEqual(["203.0.113.10", "203.0.113.10", "0.0.0.0", "192.0.2.10"]);
    expect(file("etc/voicebot/pbx/asterisk/manager_voicebot.conf")).toContain(`\nsecret = ${env.get("AMI_SECRET")}\n`);
    expect(file("etc/voicebot/pbx/freeswitch/event_socket.conf.xml")).toContain(`<param name="password" value="${env.get("ESL_PASSWORD")}"/>`);
    for (const kind of ["asterisk", "freeswitch"]) {
      expect(file(`etc/voicebot/pbx/${kind}/apply-on-pbx.sh`)).not.toContain("CHANGE-ME");
      expect(report.pbxFiles).toContain(`/etc/voicebot/pbx/${kind}/apply-on-pbx.sh`);
    }
    expect(report.pbxHost).toBe("203.0.113.10");
    expect(file("etc/voicebot/firewall.nft")).toContain(`# admin: only from 203.0.113.10, 203.0.113.11\n`);
  });

  test("a Google service-account file named anywhere is kept beside voicebot.env, readable by the service; a re-run keeps it; uninstall removes it", async () => {
    const key = join(tmpdir(), `voicebot-sa-${process.pid}.json`);
    writeFileSync(key, JSON.stringify({ type: "service_account", client_email: "vb@acme.iam.gserviceaccount.com", private_key: "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n" }), { mode: 0o600 });
    cleanups.push(() => rmSync(key, { force: true }));
    // Google's recognizer on a closed local port: doctor's probe fails at once, and never leaves this host.
    const t = stage({ answers: `PBX=asterisk\nAUDIOSOCKET_ALLOW=192.0.2.20\nGOOGLE_APPLICATION_CREDENTIALS=${key}\nSTT_PROVIDER=google\nGOOGLE_SPEECH_ENDPOINT=127.0.0.1:9\n` });
    await install(t.options());
    const copy = join(t.root, "etc/voicebot/google-service-account.json");
    expect(readFileSync(copy, "utf8")).toBe(readFileSync(key, "utf8"));
    expect(statSync(copy).mode & 0o777).toBe(0o640);
    const env = () => parseEnvFile(readFileSync(join(t.root, "etc/voicebot/voicebot.env"), "utf8"), "voicebot.env");
    expect(env().get("GOOGLE_APPLICATION_CREDENTIALS")).toBe("/etc/voicebot/google-service-account.json");
    expect(env().get("STT_PROVIDER")).toBe("google");
    const again = await install(t.options({ answersFile: null }));
    expect(again.envChanges).toEqual([]);
    expect(again.modes.stt).toContain("google");
    uninstall(createSystem({ root: t.root, dryRun: false, say: () => undefined, env: t.s.env }), { purge: false });
    expect(existsSync(copy)).toBe(false);
  });

  test("re-running changes nothing: no new user, no firewall rule twice, secrets kept, no diff", async () => {
    const t = stage({ ufw: "active" });
    await install(t.options());
    const token = /ADMIN_TOKEN=(\S+)/.exec(readFileSync(join(t.root, "etc/voicebot/voicebot.env"), "utf8"))?.[1];
    const pbxToken = /PBX_TOKEN=(\S+)/.exec(readFileSync(join(t.root, "etc/voicebot/voicebot.env"), "utf8"))?.[1];
    const before = snapshot(t.root);
    const callsBefore = t.s.calls().length;
    const again = await install(t.options());
    expect(again.createdUser).toBe(false);
    expect(again.envChanges).toEqual([]);
    expect(t.said).toContain("voicebot.env: no change");
    const newCalls = t.s.calls().slice(callsBefore);
    expect(newCalls.filter((c) => c[0] === "useradd" || (c[0] === "ufw" && c[1] === "allow"))).toEqual([]);
    const after = snapshot(t.root);
    delete before["etc/voicebot/install.json"];
    delete after["etc/voicebot/install.json"];
    expect(after).toEqual(before);
    expect(readFileSync(join(t.root, "etc/voicebot/voicebot.env"), "utf8")).toContain(`ADMIN_TOKEN=${token}`);
    expect(readFileSync(join(t.root, "etc/voicebot/voicebot.env"), "utf8")).toContain(`PBX_TOKEN=${pbxToken}`);
  });

  test("a changed answer is shown as a diff that masks secrets", async () => {
    const t = stage();
    await install(t.options());
    writeFileSync(t.answers, "PBX=asterisk\nAUDIOSOCKET_ALLOW=192.0.2.21\nOPENAI_API_KEY=sk-brand-new\n");
    const report = await install(t.options({ start: false }));
    expect(report.envChanges).toContain("~ AUDIOSOCKET_ALLOW: \"192.0.2.20,127.0.0.1\" → \"192.0.2.21,127.0.0.1\"");
    expect(report.envChanges).toContain("~ OPENAI_API_KEY: changed");
    expect(t.said.join("\n")).not.toContain("sk-brand-new");
  });

  test("--dry-run lists every file and command and changes nothing", async () => {
    const t = stage();
    const before = snapshot(t.root);
    const report = await install(t.options({ dryRun: true, start: true }));
    expect(snapshot(t.root)).toEqual(before);
    expect(t.s.calls().filter((c) => c[0] === "useradd" || (c[0] === "nft" && c[1] === "-f") || (c[0] === "systemctl" && c[1] === "enable"))).toEqual([]);
    const listed = t.said.join("\n");
    for (const p of ["/etc/voicebot/voicebot.env", "/usr/local/bin/voicebot", "/etc/systemd/system/voicebot.service", "/etc/voicebot/firewall.nft"]) expect(listed).toContain(`would write ${p}`.replace("would write /usr/local/bin/voicebot", "would copy"));
    expect(listed).toContain("would run: useradd --system");
    expect(listed).toContain("would run: systemctl enable --now voicebot.service voicebot-recordings.timer");
    expect(report.dryRun).toBe(true);
  });

  test("without systemd as PID 1 it says so and enables nothing", async () => {
    const t = stage({ systemd: false });
    const report = await install(t.options({ start: true }));
    expect(report.systemd).toBe(false);
    expect(t.said.join("\n")).toContain("systemd is not running as PID 1 here");
    expect(t.said.join("\n")).toContain("serve --config /etc/voicebot/voicebot.env");
    expect(t.s.calls().filter((c) => c[0] === "systemctl")).toEqual([]);
  });

  test("a bad answer stops install before anything is written", async () => {
    const t = stage({ answers: "PBX=asterisk\nAUDIOSOCKET_PORT=ninety\n" });
    const before = snapshot(t.root);
    await expect(install(t.options())).rejects.toThrow(/AUDIOSOCKET_PORT="ninety"/);
    expect(snapshot(t.root)).toEqual(before);
  });

  test("a PostgreSQL STORE_URL is written (0640, like the keys) only once this host reached it with those credentials", async () => {
    const url = await pg.database();
    const t = stage({ answers: `PBX=asterisk\nAUDIOSOCKET_ALLOW=192.0.2.20\nSTORE_URL=${url}?sslmode=disable\nNODE_ID=vb-paris-1\n` });
    await install(t.options());
    const path = join(t.root, "etc/voicebot/voicebot.env");
    const env = parseEnvFile(readFileSync(path, "utf8"), "voicebot.env");
    expect([env.get("STORE_URL"), env.get("NODE_ID")]).toEqual([`${url}?sslmode=disable`, "vb-paris-1"]);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    const said = t.said.join("\n");
    expect(said).toMatch(/STORE_URL: postgres:\/\/voicebot:\*\*\*@127\.0\.0\.1:\d+\/test_\d+\?sslmode=disable: connected, empty/);
    expect(said).not.toContain("voicebot-test-password");
  });

  test("a PostgreSQL STORE_URL that refuses the password stops install before anything is written, without showing it", async () => {
    const url = (await pg.database()).replace(/:[^:@/]+@/, ":wrong-pass@");
    const t = stage({ answers: `PBX=asterisk\nAUDIOSOCKET_ALLOW=192.0.2.20\nSTORE_URL=${url}\n` });
    const before = snapshot(t.root);
    const err = await install(t.options()).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect(err?.message).toContain("refused the user or password");
    expect(err?.message).not.toContain("wrong-pass");
    expect(snapshot(t.root)).toEqual(before);
  });

  test("as a normal user on the real root it refuses at once", async () => {
    if (process.getuid?.() === 0) return;
    const t = stage();
    await expect(install(t.options({ root: "/" }))).rejects.toBeInstanceOf(InstallError);
  });

  test("uninstall removes what install wrote and keeps the data; --purge removes the data and the user", async () => {
    const t = stage();
    await install(t.options());
    mkdirSync(join(t.root, "var/lib/voicebot/recordings/2026"), { recursive: true });
    const sys = createSystem({ root: t.root, dryRun: false, say: () => undefined, env: t.s.env });
    const report = uninstall(sys, { purge: false });
    expect(existsSync(join(t.root, "usr/local/bin/voicebot"))).toBe(false);
    expect(existsSync(join(t.root, "etc/voicebot"))).toBe(false);
    expect(existsSync(join(t.root, "etc/systemd/system/voicebot.service"))).toBe(false);
    expect(existsSync(join(t.root, "var/lib/voicebot/recordings/2026"))).toBe(true);
    expect(report.kept).toContain("/var/lib/voicebot");
    expect(t.s.calls()).toContainEqual(["systemctl", "disable", "--now", "voicebot.service"]);
    expect(t.s.calls().filter((c) => c[0] === "userdel")).toEqual([]);
    uninstall(sys, { purge: true });
    expect(existsSync(join(t.root, "var/lib/voicebot"))).toBe(false);
    expect(t.s.calls().filter((c) => c[0] === "userdel")).toHaveLength(1);
  });
});
