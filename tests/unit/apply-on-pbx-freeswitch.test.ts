/**
 * freeswitch/apply-on-pbx.sh (plain FreeSWITCH and the 3CX variant), run against a staged
 * FreeSWITCH host (PBX_ROOT, stub fs_cli and systemctl): the dialplan, the Lua script, the ACL
 * inside <network-lists> and event_socket.conf.xml; FreeSWITCH restarted only when the event
 * socket file changed and no call is up, fs_cli then logging in with the new password; a second
 * run changes nothing; --undo restores the tree; a failed check changes nothing.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { renderPbxConfig, type PbxKind, type PbxRendering } from "../../src/install/pbx-render.ts";
import { HOST, pbxFiles } from "../support/pbx-config-files.ts";
import { lines, SHELLS, shellcheck, stagePbx } from "../support/pbx-stage.ts";

const { tempFile, setup } = pbxFiles();
const stage = stagePbx();

/** Shell glob characters: the script must pass it to fs_cli as is. */
const PASSWORD = "s3cr*t?[x]";
const ACL = `<configuration name="acl.conf" description="Network Lists">
  <network-lists>
    <list name="lan" default="allow">
      <node type="deny" cidr="192.168.42.0/24"/>
    </list>
  </network-lists>
</configuration>
`;
const EVENT_SOCKET = `<configuration name="event_socket.conf" description="Socket Client">
  <settings>
    <param name="listen-ip" value="::"/>
    <param name="listen-port" value="8021"/>
    <param name="password" value="ClueCon"/>
  </settings>
</configuration>
`;

function rendering(kind: "freeswitch" | "3cx" = "freeswitch", extra: Record<string, string> = { ESL_HOST: "192.0.2.20", ESL_PASSWORD: PASSWORD }): PbxRendering {
  const { config, tenants } = setup(3, true, extra);
  return renderPbxConfig(kind satisfies PbxKind, { host: HOST, config, tenants });
}

function scriptOf(r: PbxRendering): string {
  const file = r.files.find((f) => f.path === r.script);
  if (file === undefined) throw new Error("no apply-on-pbx.sh rendered");
  return tempFile("apply-on-pbx.sh", file.content);
}

function content(r: PbxRendering, path: string): string {
  return r.files.find((f) => f.path === path)?.content as string;
}

function freshHost(modules = ["mod_event_socket", "mod_audio_stream"], version = "1.10.12-release"): void {
  for (const name of readdirSync(stage.root)) Bun.spawnSync(["rm", "-rf", join(stage.root, name)]);
  Bun.spawnSync(["mkdir", "-p", join(stage.root, "var/backups"), join(stage.root, "etc/freeswitch/dialplan/default"), join(stage.root, "usr/share/freeswitch/scripts")]);
  stage.put("/etc/freeswitch/autoload_configs/acl.conf.xml", ACL);
  stage.put("/etc/freeswitch/autoload_configs/event_socket.conf.xml", EVENT_SOCKET);
  stage.put("/etc/freeswitch/autoload_configs/modules.conf.xml", `<load module="mod_event_socket"/>\n<load module="mod_audio_stream"/>\n`);
  stage.put("/etc/freeswitch/dialplan/default.xml", `<include><context name="default"><X-PRE-PROCESS cmd="include" data="default/*.xml"/></context></include>\n`);
  for (const [name, value] of [["version", version], ["modules", modules.join("\n") + "\n"], ["live-password", "ClueCon"], ["cli-password", "ClueCon"], ["calls", "0"]]) {
    stage.setState(name as string, value as string);
  }
  stage.takeLog();
}

describe("freeswitch/apply-on-pbx.sh", () => {
  beforeEach(() => freshHost());

  test("leads the steps, 0700, bash -n and dash -n accept it, --help says what it does", () => {
    for (const kind of ["freeswitch", "3cx"] as const) {
      const r = rendering(kind);
      expect(r.script).toBe("freeswitch/apply-on-pbx.sh");
      expect(r.files.find((f) => f.path === r.script)?.mode).toBe(0o700);
      expect(r.steps[0]).toStartWith("Copy freeswitch/apply-on-pbx.sh to the PBX host and run it as root");
      const script = scriptOf(r);
      for (const shell of SHELLS) expect(Bun.spawnSync([shell, "-n", script]).exitCode).toBe(0);
      expect(shellcheck(script)).toBe("");
      expect(stage.run("/bin/bash", script, ["--help"]).stdout).toContain(`dialplan/${kind === "3cx" ? "public" : "default"}/00_voicebot.xml`);
    }
  });

  for (const shell of SHELLS) {
    test(`${shell}: installs, restarts once for the event socket, verifies; again changes nothing; --undo restores the tree`, () => {
      const r = rendering();
      const script = scriptOf(r);
      const before = stage.tree();

      const first = stage.run(shell, script);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      const out = lines(first.stdout);
      expect(stage.read("/etc/freeswitch/dialplan/default/00_voicebot.xml")).toBe(content(r, "freeswitch/voicebot_dialplan.xml"));
      expect(stage.read("/usr/share/freeswitch/scripts/voicebot.lua")).toBe(content(r, "freeswitch/voicebot.lua"));
      expect(stage.read("/etc/freeswitch/autoload_configs/event_socket.conf.xml")).toBe(content(r, "freeswitch/event_socket.conf.xml"));
      expect(stage.tree()["/etc/freeswitch/autoload_configs/event_socket.conf.xml"]?.split(" ")[0]).toBe("640");
      const acl = stage.read("/etc/freeswitch/autoload_configs/acl.conf.xml");
      const list = content(r, "freeswitch/acl_voicebot.xml").trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
      expect(acl).toBe(ACL.replace("  <network-lists>\n", `  <network-lists>\n    <!-- voicebot:begin -->\n${list}\n    <!-- voicebot:end -->\n`));
      for (const done of [
        "OK: FreeSWITCH 1.10", "OK: mod_audio_stream and mod_event_socket are loaded", "installed /etc/freeswitch/dialplan/default/00_voicebot.xml (mode 0640",
        "put the voicebot ACL inside <network-lists> of /etc/freeswitch/autoload_configs/acl.conf.xml", "reloaded the XML configuration (reloadxml)",
        "reloaded the ACLs (reloadacl)", "restarted FreeSWITCH (no call was up): it reads event_socket.conf.xml only at start",
        "OK: the event socket answers on port 8021 with voicebot's password", "OK: the default dialplan has voicebot's extension 8000", `OK: the voicebot ACL lets ${HOST} in`,
      ]) {
        expect(out.some((l) => l.startsWith(done))).toBe(true);
      }
      expect(out.some((l) => l.startsWith("note: fs_cli's own settings hold another password now"))).toBe(true);
      expect(first.stdout).not.toContain(PASSWORD);
      expect(stage.takeLog().filter((l) => l.startsWith("systemctl"))).toEqual(["systemctl restart freeswitch"]);

      const installed = stage.tree("");
      const second = stage.run(shell, script);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain("nothing changed: everything was already in place");
      expect(second.stdout).toContain("OK: the voicebot ACL lets");
      expect(second.stdout).toContain("OK: the event socket takes voicebot's password");
      expect(stage.tree("")).toEqual(installed);
      expect(stage.takeLog().filter((l) => l.startsWith("systemctl") || l.includes("reload"))).toEqual([]);

      const undo = stage.run(shell, script, ["--undo"]);
      expect(undo.stderr).toBe("");
      expect(undo.code).toBe(0);
      expect(lines(undo.stdout)).toEqual(expect.arrayContaining([
        "restored /etc/freeswitch/autoload_configs/event_socket.conf.xml", "restored /etc/freeswitch/autoload_configs/acl.conf.xml",
        "removed /etc/freeswitch/dialplan/default/00_voicebot.xml (it did not exist before)", "reloaded the ACLs (reloadacl)",
        "restarted FreeSWITCH (no call was up): it reads event_socket.conf.xml only at start", "undone",
      ]));
      expect(stage.tree()).toEqual(before);
      expect(stage.run(shell, script).code).toBe(0);
    });
  }

  test("calls up: no restart, the admin is told to run it again once they have ended, which restarts", () => {
    const script = scriptOf(rendering());
    stage.setState("calls", "2");
    const run = stage.run("/bin/bash", script);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("RESTART NEEDED: /etc/freeswitch/autoload_configs/event_socket.conf.xml changed and FreeSWITCH reads it only at start; 2 call(s) are up");
    expect(stage.takeLog().some((l) => l.startsWith("systemctl"))).toBe(false);
    stage.setState("calls", "0");
    const again = stage.run("/bin/bash", script);
    expect(again.stdout).toContain("nothing changed: everything was already in place");
    expect(again.stdout).toContain("FreeSWITCH still runs with its old event socket settings");
    expect(again.stdout).toContain("OK: the event socket answers on port 8021 with voicebot's password");
    expect(stage.takeLog().filter((l) => l.startsWith("systemctl"))).toEqual(["systemctl restart freeswitch"]);
  });

  test("ESL not configured: the event socket file and its password are left alone", () => {
    const run = stage.run("/bin/bash", scriptOf(rendering("freeswitch", {})));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("skipped event_socket.conf.xml: ESL is not configured in voicebot");
    expect(stage.read("/etc/freeswitch/autoload_configs/event_socket.conf.xml")).toBe(EVENT_SOCKET);
  });

  test("3cx: the dialplan goes to the public context (its directory made, and removed by --undo), no Lua script", () => {
    const r = rendering("3cx");
    const script = scriptOf(r);
    stage.put("/etc/freeswitch/dialplan/public.xml", `<include><context name="public"><X-PRE-PROCESS cmd="include" data="public/*.xml"/></context></include>\n`);
    const before = stage.tree();
    const run = stage.run("/bin/bash", script);
    expect(run.code).toBe(0);
    expect(stage.read("/etc/freeswitch/dialplan/public/00_voicebot.xml")).toBe(content(r, "freeswitch/voicebot_dialplan.xml"));
    expect(run.stdout).toContain("OK: the public dialplan has voicebot's extension 8000");
    expect(existsSync(join(stage.root, "usr/share/freeswitch/scripts/voicebot.lua"))).toBe(false);
    const undo = stage.run("/bin/bash", script, ["--undo"]);
    expect(undo.stdout).toContain("removed the directory /etc/freeswitch/dialplan/public");
    expect(stage.tree()).toEqual(before);
  });

  test("FusionPBX: the Lua script is what counts (no XML dialplan check), and its own event socket password is to be changed", () => {
    Bun.spawnSync(["mkdir", "-p", join(stage.root, "etc/fusionpbx")]);
    Bun.spawnSync(["rm", "-rf", join(stage.root, "etc/freeswitch/dialplan")]);
    const script = scriptOf(rendering());
    const run = stage.run("/bin/bash", script);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("FusionPBX: in Dialplan › Dialplan Manager give each domain a dialplan with the condition destination_number ^8000$ and the action lua voicebot.lua");
    expect(run.stdout).toContain("FusionPBX: set Advanced › Settings › Event Socket password to voicebot's ESL_PASSWORD");
    expect(stage.takeLog().some((l) => l.includes("xml_locate"))).toBe(false);
    // FreeSWITCH down: --undo still puts the files back, and says it could not reload.
    stage.setState("live-password", "down");
    const undo = stage.run("/bin/bash", script, ["--undo"]);
    expect(undo.code).toBe(0);
    expect(undo.stdout).toContain("FreeSWITCH does not answer fs_cli: the files are back; it reads them when it starts");
    expect(stage.read("/etc/freeswitch/autoload_configs/event_socket.conf.xml")).toBe(EVENT_SOCKET);
  });

  test("an ACL list named voicebot pasted by hand is replaced, not doubled", () => {
    stage.put("/etc/freeswitch/autoload_configs/acl.conf.xml", ACL.replace("  </network-lists>", `    <list name="voicebot" default="deny">\n      <node type="allow" cidr="10.0.0.1/32"/>\n    </list>\n  </network-lists>`));
    expect(stage.run("/bin/bash", scriptOf(rendering())).code).toBe(0);
    const acl = stage.read("/etc/freeswitch/autoload_configs/acl.conf.xml");
    expect(acl.match(/<list name="voicebot"/g)).toHaveLength(1);
    expect(acl).not.toContain("10.0.0.1");
  });

  const refusals: [string, () => void, string][] = [
    ["mod_audio_stream missing", () => freshHost(["mod_event_socket"]), "mod_audio_stream is not loaded in FreeSWITCH: build and install it"],
    ["FreeSWITCH 1.8", () => freshHost(undefined, "1.8.7-release"), "FreeSWITCH 1.8 is too old or unknown"],
    ["fs_cli cannot log in", () => stage.setState("live-password", "other"), "fs_cli cannot reach FreeSWITCH (`fs_cli -x version` answers \"[ERROR] fs_cli.c:1699 main() Error Connecting []\")"],
  ];
  for (const [what, arrange, message] of refusals) {
    test(`refuses, changing nothing: ${what}`, () => {
      const script = scriptOf(rendering());
      arrange();
      const before = stage.tree("");
      const run = stage.run("/bin/bash", script);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toStartWith("FAIL: ");
      expect(run.stderr).toContain(message);
      expect(stage.tree("")).toEqual(before);
    });
  }
  test("several appliances: mod_lua is required (the dialplan runs voicebot.lua), and voicebot.lua is installed", () => {
    const { config, tenants } = setup(1, true, { ESL_HOST: "192.0.2.20", ESL_PASSWORD: PASSWORD });
    const r = renderPbxConfig("freeswitch", { host: HOST, config, tenants, nodes: [{ host: HOST, port: null }, { host: "192.0.2.11", port: null }] });
    const script = scriptOf(r);
    expect(shellcheck(script)).toBe("");
    const refused = stage.run("/bin/bash", script);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain("mod_lua is not loaded");
    expect(stage.tree()["/etc/freeswitch/dialplan/default/00_voicebot.xml"]).toBeUndefined();
    freshHost(["mod_event_socket", "mod_audio_stream", "mod_lua"]);
    const applied = stage.run("/bin/bash", script);
    expect(applied.code).toBe(0);
    expect(lines(applied.stdout)).toContain("OK: mod_lua is loaded");
    expect(stage.read("/usr/share/freeswitch/scripts/voicebot.lua")).toBe(content(r, "freeswitch/voicebot.lua"));
    expect(stage.read("/etc/freeswitch/dialplan/default/00_voicebot.xml")).toContain('<action application="lua" data="voicebot.lua default"/>');
  });
});
