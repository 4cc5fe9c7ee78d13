/**
 * asterisk/apply-on-pbx.sh, run against a staged Asterisk host (PBX_ROOT, stub `asterisk -rx`):
 * it installs exactly the rendered files, adds each #include once, fixes manager.conf's
 * [general], backs up, reloads and verifies; a second run changes nothing; --undo puts the tree
 * back byte for byte; a failed check (old version, missing module) changes nothing.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderPbxConfig, type PbxRendering } from "../../src/install/pbx-render.ts";
import { HOST, pbxFiles } from "../support/pbx-config-files.ts";
import { lines, PASSING_TEST_CALL, SHELLS, shellcheck, stagePbx } from "../support/pbx-stage.ts";

const { tempFile, setup } = pbxFiles();
const stage = stagePbx();

const EXTENSIONS = "[general]\nstatic=yes\n\n[default]\nexten => 100,1,Answer()"; // no final newline, as hand-edited files often are
const MANAGER = "[general]\nenabled = no\nport = 5038\nbindaddr = 127.0.0.1\n\n[admin]\nsecret = old\n";
const MODULES = ["app_audiosocket Running", "res_audiosocket Running", "func_curl Running", "chan_websocket Running", "res_websocket_client Running"];

function rendering(extra: Record<string, string> = {}): PbxRendering {
  const { config, tenants } = setup(3, true, { AMI_HOST: "192.0.2.5", AMI_USER: "vb-ami", AMI_SECRET: "s3c'ret", ...extra });
  return renderPbxConfig("asterisk", { host: HOST, config, tenants });
}

function scriptOf(r: PbxRendering): string {
  const file = r.files.find((f) => f.path === r.script);
  if (file === undefined) throw new Error("no apply-on-pbx.sh rendered");
  return tempFile("apply-on-pbx.sh", file.content);
}

function freshHost(modules = MODULES, version = "22.5.0"): void {
  for (const name of readdirSync(stage.root)) Bun.spawnSync(["rm", "-rf", join(stage.root, name)]);
  Bun.spawnSync(["mkdir", "-p", join(stage.root, "var/backups")]);
  stage.put("/etc/asterisk/extensions.conf", EXTENSIONS, 0o640);
  stage.put("/etc/asterisk/manager.conf", MANAGER, 0o640);
  stage.setState("version", version);
  stage.setState("modules", modules.join("\n") + "\n");
  stage.takeLog();
}

describe("asterisk/apply-on-pbx.sh", () => {
  beforeEach(() => freshHost());

  test("is rendered with the files, 0700, and leads the steps; bash -n and dash -n accept it", () => {
    const r = rendering();
    expect(r.script).toBe("asterisk/apply-on-pbx.sh");
    expect(r.files.find((f) => f.path === r.script)?.mode).toBe(0o700);
    expect(r.steps[0]).toStartWith("Copy asterisk/apply-on-pbx.sh to the PBX host and run it as root (`sudo sh apply-on-pbx.sh`)");
    expect(r.steps[1]).toStartWith("Check the PBX: Asterisk 20.14+");
    const script = scriptOf(r);
    for (const shell of SHELLS) expect(Bun.spawnSync([shell, "-n", script]).exitCode).toBe(0);
    expect(shellcheck(script)).toBe("");
    const help = stage.run(SHELLS[0] as string, script, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--undo");
    expect(help.stdout).toContain("/var/backups/voicebot-pbx/");
    expect(stage.run(SHELLS[0] as string, script, ["--bogus"]).code).toBe(2);
  });

  for (const shell of SHELLS) {
    test(`${shell}: installs, includes once, backs up, reloads, verifies; again changes nothing; --undo restores the tree`, () => {
      const r = rendering();
      const script = scriptOf(r);
      const before = stage.tree();

      const first = stage.run(shell, script);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      const out = lines(first.stdout);
      for (const name of ["extensions_voicebot.conf", "manager_voicebot.conf", "websocket_client_voicebot.conf", "extensions_voicebot_websocket.conf"]) {
        const f = r.files.find((x) => x.path === `asterisk/${name}`);
        expect(stage.read(`/etc/asterisk/${name}`)).toBe(f?.content as string);
        expect(stage.tree()[`/etc/asterisk/${name}`]?.split(" ")[0]).toBe((f?.mode as number).toString(8));
        // ", owner asterisk:asterisk" follows when run as root on a host with that user.
        expect(out.some((l) => l.startsWith(`installed /etc/asterisk/${name} (mode 0${(f?.mode as number).toString(8)}`))).toBe(true);
      }
      expect(stage.read("/etc/asterisk/extensions.conf")).toBe(`${EXTENSIONS}\n#include extensions_voicebot.conf\n#include extensions_voicebot_websocket.conf\n`);
      expect(stage.read("/etc/asterisk/manager.conf")).toBe("[general]\nenabled = yes\nport = 5038\nbindaddr = 0.0.0.0\n\n[admin]\nsecret = old\n#include manager_voicebot.conf\n");
      expect(stage.read("/etc/asterisk/websocket_client.conf")).toBe("#include websocket_client_voicebot.conf\n");
      expect(out).toContain("added #include extensions_voicebot.conf to /etc/asterisk/extensions.conf");
      expect(out).toContain("set enabled = yes in [general] of /etc/asterisk/manager.conf (AMI was off)");
      expect(out.some((l) => l.startsWith("set bindaddr = 0.0.0.0 in [general] of /etc/asterisk/manager.conf") && l.includes(HOST))).toBe(true);
      for (const done of ["reloaded the dialplan", "reloaded the manager (AMI)", "reloaded res_websocket_client", "OK: Asterisk 22.5", "OK: func_curl is running",
        "OK: dialplan show 777@voicebot lists voicebot's extension", "OK: dialplan show 777@voicebot-acme lists voicebot's extension",
        "OK: dialplan show 777@voicebot-websocket-globex lists voicebot's extension", "OK: manager show user vb-ami knows voicebot's AMI user"]) {
        expect(out).toContain(done);
      }
      expect(stage.takeLog()).toContain("asterisk dialplan reload");

      const backups = readdirSync(join(stage.root, "var/backups/voicebot-pbx"));
      expect(backups).toHaveLength(1);
      const backup = join(stage.root, "var/backups/voicebot-pbx", backups[0] as string);
      expect(lines(readFileSync(join(backup, "manifest"), "utf8"))).toEqual([
        "absent /etc/asterisk/extensions_voicebot.conf", "absent /etc/asterisk/manager_voicebot.conf", "absent /etc/asterisk/websocket_client_voicebot.conf",
        "absent /etc/asterisk/extensions_voicebot_websocket.conf", "existed /etc/asterisk/extensions.conf", "existed /etc/asterisk/manager.conf",
        "absent /etc/asterisk/websocket_client.conf",
      ]);
      expect(readFileSync(join(backup, "files/etc/asterisk/manager.conf"), "utf8")).toBe(MANAGER);
      expect(stage.tree("")["/var/backups/voicebot-pbx/"]).toBe("700");

      const installed = stage.tree("");
      const second = stage.run(shell, script);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain("nothing changed: everything was already in place");
      expect(second.stdout).toContain("unchanged /etc/asterisk/extensions_voicebot.conf");
      expect(second.stdout).not.toContain("reloaded");
      expect(stage.tree("")).toEqual(installed);
      expect(stage.takeLog().filter((l) => l.includes("reload"))).toEqual([]);

      const undo = stage.run(shell, script, ["--undo"]);
      expect(undo.code).toBe(0);
      expect(lines(undo.stdout)).toEqual(expect.arrayContaining([
        "restored /etc/asterisk/manager.conf", "restored /etc/asterisk/extensions.conf",
        "removed /etc/asterisk/extensions_voicebot.conf (it did not exist before)", "removed /etc/asterisk/websocket_client.conf (it did not exist before)",
        "reloaded the dialplan", "reloaded the manager (AMI)", "undone",
      ]));
      expect(stage.tree()).toEqual(before);
      expect(stage.run(shell, script, ["--undo"]).stdout).toContain("nothing to undo");
    });
  }

  test("without PBX_ROOT it refuses to run as anyone but root", () => {
    const r = rendering();
    const text = r.files.find((f) => f.path === r.script)?.content as string;
    // As root, drop to nobody: the refusal must come before any path is touched.
    const asUser = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    const p = Bun.spawnSync([...asUser, "/bin/sh", "-s"], { stdin: Buffer.from(text), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
    expect(p.exitCode).toBe(1);
    expect(p.stderr.toString()).toStartWith("FAIL: run it as root: sudo sh ");
  });

  test("a second #include is never added, and an include already there (quoted) counts", () => {
    const script = scriptOf(rendering());
    stage.put("/etc/asterisk/extensions.conf", `${EXTENSIONS}\n#include "extensions_voicebot.conf"\n`, 0o640);
    expect(stage.run("/bin/bash", script).code).toBe(0);
    expect(stage.read("/etc/asterisk/extensions.conf")).toBe(`${EXTENSIONS}\n#include "extensions_voicebot.conf"\n#include extensions_voicebot_websocket.conf\n`);
  });

  test("manager.conf: enabled=yes written another way is left as is; a file without [general] gets one; voicebot on this host keeps a loopback bindaddr", () => {
    const script = scriptOf(rendering());
    stage.put("/etc/asterisk/manager.conf", "[general]\nenabled=YES ; on\nbindaddr=0.0.0.0\n", 0o640);
    expect(stage.run("/bin/bash", script).stdout).not.toContain("set enabled = yes");
    expect(stage.read("/etc/asterisk/manager.conf")).toBe("[general]\nenabled=YES ; on\nbindaddr=0.0.0.0\n#include manager_voicebot.conf\n");

    freshHost();
    stage.put("/etc/asterisk/manager.conf", "[admin]\nsecret = old\n", 0o640);
    expect(stage.run("/bin/bash", script).code).toBe(0);
    expect(stage.read("/etc/asterisk/manager.conf")).toBe("[general]\nenabled = yes\n\n[admin]\nsecret = old\n#include manager_voicebot.conf\n");

    freshHost();
    const { config, tenants } = setup(1, true, { AMI_HOST: "127.0.0.1", AMI_USER: "vb-ami", AMI_SECRET: "x" });
    const local = scriptOf(renderPbxConfig("asterisk", { host: "127.0.0.1", config, tenants }));
    expect(stage.run("/bin/bash", local).code).toBe(0);
    expect(stage.read("/etc/asterisk/manager.conf")).toStartWith("[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n");
  });

  test("FreePBX: the includes go to extensions_custom.conf and manager_custom.conf", () => {
    const script = scriptOf(rendering());
    stage.put("/etc/asterisk/extensions.conf", `${EXTENSIONS}\n#include extensions_custom.conf\n`);
    stage.put("/etc/asterisk/extensions_custom.conf", "");
    stage.put("/etc/asterisk/manager.conf", `${MANAGER}#include manager_custom.conf\n`);
    stage.put("/etc/asterisk/manager_custom.conf", "");
    const run = stage.run("/bin/bash", script);
    expect(run.stdout).toContain("added #include extensions_voicebot.conf to /etc/asterisk/extensions_custom.conf");
    expect(stage.read("/etc/asterisk/manager_custom.conf")).toBe("#include manager_voicebot.conf\n");
  });

  test("AMI not configured: no AMI user is installed with a placeholder secret, and the rest is", () => {
    const { config, tenants } = setup(1, true);
    const r = renderPbxConfig("asterisk", { host: HOST, config, tenants });
    const run = stage.run("/bin/bash", scriptOf(r));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("skipped the AMI user: AMI is not configured in voicebot");
    expect(existsSync(join(stage.root, "etc/asterisk/manager_voicebot.conf"))).toBe(false);
    expect(stage.read("/etc/asterisk/manager.conf")).toBe(MANAGER);
  });

  const refusals: [string, () => void, string][] = [
    ["Asterisk 20.13", () => freshHost(MODULES, "20.13.0"), "Asterisk 20.13 is too old: voicebot needs 20.14+, 21.9+, 22.4+ or 23+"],
    ["Asterisk 18", () => freshHost(MODULES, "18.26.1"), "Asterisk 18.26 is too old"],
    ["func_curl not running", () => freshHost(MODULES.map((m) => m.startsWith("func_curl") ? "func_curl Not Running" : m)), "not running in Asterisk: func_curl. Load them: asterisk -rx 'module load func_curl.so';"],
    ["no audiosocket modules", () => freshHost(MODULES.filter((m) => !m.includes("audiosocket"))), "not running in Asterisk: app_audiosocket res_audiosocket."],
    ["Asterisk down", () => writeFileSync(join(stage.state, "down"), ""), "Asterisk does not answer `asterisk -rx 'core show version'` (Unable to connect to remote asterisk"],
  ];
  for (const [what, arrange, message] of refusals) {
    test(`refuses, changing nothing: ${what}`, () => {
      const script = scriptOf(rendering());
      arrange();
      const before = stage.tree("");
      const run = stage.run("/bin/bash", script);
      Bun.spawnSync(["rm", "-f", join(stage.state, "down")]);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toStartWith("FAIL: ");
      expect(run.stderr).toContain(message);
      expect(stage.tree("")).toEqual(before);
    });
  }

  test("it ends by asking voicebot for the test call through this PBX, and says where the chain breaks", () => {
    const script = scriptOf(rendering());
    const pass = stage.run("/bin/sh", script);
    expect(pass.code).toBe(0);
    expect(lines(pass.stdout).slice(-3)).toEqual([
      `asking voicebot at ${HOST} for a test call through this PBX (a few seconds)...`, PASSING_TEST_CALL.trim(), "OK: the chain PBX -> voicebot works",
    ]);
    expect(stage.takeLog().filter((l) => l.startsWith("curl"))).toEqual([`curl -sS --max-time 40 -X POST http://${HOST}:9091/api/pbx/check?token=pbx%3Aon%2Fly%25%26%3D`]);

    stage.setState("voicebot-answer", "FAIL  pbx.call  Asterisk at 192.0.2.5:5038: no such extension 777@voicebot\n      → fix: asterisk -rx 'dialplan reload'\n");
    const broken = stage.run("/bin/sh", script);
    expect(broken.code).toBe(3);
    expect(broken.stdout).toContain("FAIL  pbx.call  Asterisk at 192.0.2.5:5038: no such extension 777@voicebot\n      → fix: asterisk -rx 'dialplan reload'");

    stage.clearState("voicebot-answer");
    const unreachable = stage.run("/bin/sh", script);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stdout).toContain("FAIL  pbx.call  voicebot's admin port did not answer: curl: (7) Failed to connect");
    expect(unreachable.stderr).toContain("-> fix: voicebot must listen on its admin port for this PBX (HTTP_HOST, the firewall)");
    stage.setState("voicebot-answer", PASSING_TEST_CALL);

    const local = stage.run("/bin/sh", scriptOf(rendering({ HTTP_HOST: "127.0.0.1" })));
    expect(local.code).toBe(0);
    expect(lines(local.stdout).at(-1)).toBe("next: on voicebot's host, `sudo voicebot doctor` places the test call through this PBX (voicebot's admin port is not reachable from this host)");
    expect(local.stdout).not.toContain("ADMIN");
  });

  test("chan_websocket missing only warns", () => {
    freshHost(MODULES.filter((m) => !m.startsWith("chan_websocket") && !m.startsWith("res_websocket_client")));
    const run = stage.run("/bin/bash", scriptOf(rendering()));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("warning: chan_websocket is not running: only the optional chan_websocket dialplan");
    expect(run.stdout).toContain("not reloaded: res_websocket_client is not running");
  });
});
