/**
 * From a fresh host to the proof, counted as the admin lives it: `voicebot install` on a terminal
 * (every question answered with Enter but the PBX's address), then the PBX's one script, which
 * ends with voicebot's test call through the PBX passing. 2 commands, 0 edits.
 *
 * The PBX is on this host: a staged /etc/asterisk or /etc/freeswitch with the stub CLIs, and the
 * fake Asterisk manager / FreeSWITCH event socket reading that tree as the real ones read their
 * files (voicebot's AMI user, dialplan and event socket password exist there only once the script
 * has installed them, the event socket's after FreeSWITCH's restart), which run the dialplan
 * against the installed service: registration and AudioSocket, or mod_audio_stream's WebSocket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";
import { startFakeEsl, type FakeEsl } from "../fakes/esl.ts";
import { stagePbx, type Stage } from "../support/pbx-stage.ts";
import { KEY, runOnPty } from "../support/pty.ts";
import { freePort, stageAppliance, type StagedAppliance } from "../support/staged-appliance.ts";
import { requireTool } from "../support/system-tools.ts";
import { BINARY, requireBinary } from "./harness.ts";

const TIMEOUT = 180_000;
const ASTERISK_MODULES = ["app_audiosocket Running", "res_audiosocket Running", "func_curl Running", "chan_websocket Running", "res_websocket_client Running"];
const EVENT_SOCKET = `<configuration name="event_socket.conf" description="Socket Client">
  <settings>
    <param name="listen-ip" value="::"/>
    <param name="listen-port" value="8021"/>
    <param name="password" value="ClueCon"/>
  </settings>
</configuration>
`;

const asteriskHost = stagePbx({ realCurl: true });
const freeswitchHost = stagePbx({ realCurl: true });
const appliances: StagedAppliance[] = [];
let ami: FakeAmi;
let esl: FakeEsl;

/** What the PBX would read after a reload: the staged file, or nothing yet. */
function pbxFile(host: Stage, path: string): string | null {
  const file = join(host.root, path);
  return existsSync(file) ? readFileSync(file, "utf8") : null;
}

beforeAll(async () => {
  requireBinary();
  requireTool("curl");
  asteriskHost.put("/etc/asterisk/extensions.conf", "[general]\nstatic=yes\n\n[default]\nexten => 100,1,Answer()\n", 0o640);
  asteriskHost.put("/etc/asterisk/manager.conf", "[general]\nenabled = no\nport = 5038\nbindaddr = 127.0.0.1\n", 0o640);
  asteriskHost.setState("version", "22.5.0");
  asteriskHost.setState("modules", `${ASTERISK_MODULES.join("\n")}\n`);
  ami = await startFakeAmi({
    username: "voicebot", port: freePort(),
    secret: () => /^secret = (.+)$/m.exec(pbxFile(asteriskHost, "/etc/asterisk/manager_voicebot.conf") ?? "")?.[1] ?? null,
    dialplan: () => ({ text: pbxFile(asteriskHost, "/etc/asterisk/extensions_voicebot.conf") ?? "" }),
  });

  freeswitchHost.put("/etc/freeswitch/autoload_configs/acl.conf.xml", `<configuration name="acl.conf" description="Network Lists">\n  <network-lists>\n  </network-lists>\n</configuration>\n`);
  freeswitchHost.put("/etc/freeswitch/autoload_configs/event_socket.conf.xml", EVENT_SOCKET);
  freeswitchHost.put("/etc/freeswitch/autoload_configs/modules.conf.xml", `<load module="mod_event_socket"/>\n<load module="mod_audio_stream"/>\n`);
  freeswitchHost.put("/etc/freeswitch/dialplan/default.xml", `<include><context name="default"><X-PRE-PROCESS cmd="include" data="default/*.xml"/></context></include>\n`);
  freeswitchHost.put("/usr/share/freeswitch/scripts/.keep", "");
  for (const [name, value] of [["version", "1.10.12-release"], ["modules", "mod_event_socket\nmod_audio_stream\n"], ["live-password", "ClueCon"], ["cli-password", "ClueCon"], ["calls", "0"]]) {
    freeswitchHost.setState(name as string, value as string);
  }
  esl = await startFakeEsl({
    port: freePort(),
    // The event socket takes the password it read at FreeSWITCH's last start.
    password: () => readFileSync(join(freeswitchHost.state, "live-password"), "utf8").trim(),
    dialplan: () => {
      const xml = pbxFile(freeswitchHost, "/etc/freeswitch/dialplan/default/00_voicebot.xml");
      return xml === null ? undefined : { xml, context: "default" };
    },
  });
});

afterAll(async () => {
  for (const a of appliances) await a.stop();
  await ami.stop();
  await esl.stop();
});

/** `sudo ./voicebot install`, Enter everywhere but the PBX's kind and address. */
async function installOnTerminal(appliance: StagedAppliance, answers: string, pbx: "asterisk" | "freeswitch"): Promise<{ code: number; screen: string }> {
  const pty = runOnPty([BINARY, "install", "--root", appliance.root, "--answers", answers], appliance.standins.env);
  try {
    const steps: [string, string][] = [
      ["Which PBX sends the calls?", pbx === "freeswitch" ? KEY.down + KEY.enter : KEY.enter], ["The PBX's IP addresses", `127.0.0.1${KEY.enter}`],
      ["This host's IP address", KEY.enter], [pbx === "asterisk" ? "Asterisk Manager (AMI) address" : "FreeSWITCH event socket (ESL) address", KEY.enter],
      ["Deepgram API key", KEY.enter], ["Groq API key", KEY.enter], ["OpenAI API key", KEY.enter], ["Anthropic API key", KEY.enter], ["Google Cloud service-account JSON file", KEY.enter], ["Company name", KEY.enter],
      ["Language the bot speaks", KEY.enter], ["Technician hours", KEY.enter], ["Technicians' line", KEY.enter], ["Keep these ports?", KEY.enter],
      ["Where are calls and tickets kept?", KEY.enter],
    ];
    for (const [question, keys] of steps) {
      await pty.waitFor(question);
      pty.type(keys);
    }
    const code = await Promise.race([pty.exited, Bun.sleep(120_000).then(() => -1)]);
    return { code, screen: pty.screen() };
  } finally {
    pty.kill();
  }
}

async function twoCommands(pbx: "asterisk" | "freeswitch", host: Stage, controlPort: string): Promise<void> {
  const appliance = stageAppliance(`pbx-chain-${pbx}`);
  appliances.push(appliance);
  // Only what this shared test host needs: free ports (a real host takes the defaults).
  const answers = join(appliance.work, "ports.env");
  writeFileSync(answers, [
    `AUDIOSOCKET_PORT=${freePort()}`, `AUDIOSTREAM_PORT=${freePort()}`, `ASP_PORT=${freePort()}`, `WEBSOCKET_PORT=${freePort()}`,
    `HTTP_PORT=${freePort()}`, controlPort, "STOP_DRAIN_TIMEOUT=5",
  ].join("\n"));

  const started = performance.now();
  const install = await installOnTerminal(appliance, answers, pbx);
  const installed = performance.now();
  if (install.code === -1) throw new Error(`install never ended:\n${install.screen.slice(-3000)}\n${appliance.serveLog()}`);
  // Before the PBX has run its script nothing can call through it, and install says so.
  expect(install.code).toBe(1);
  expect(install.screen).toContain("still blocking calls");
  expect(install.screen).toMatch(/- pbx\.call: (Asterisk|FreeSWITCH) at 127\.0\.0\.1:\d+: /);
  expect(install.screen).toContain(`sudo sh /etc/voicebot/pbx/${pbx}/apply-on-pbx.sh`);

  const applied = await host.runAsync("/bin/sh", join(appliance.root, `etc/voicebot/pbx/${pbx}/apply-on-pbx.sh`));
  const done = performance.now();
  if (applied.code !== 0) throw new Error(`apply-on-pbx.sh exited ${applied.code}\n${applied.stdout}\n${applied.stderr}\n${appliance.serveLog()}`);
  const call = pbx === "asterisk" ? "Asterisk at 127\\.0\\.0\\.1:\\d+: Local/777@voicebot answered" : "FreeSWITCH at 127\\.0\\.0\\.1:\\d+: loopback/8000";
  expect(applied.stdout).toMatch(new RegExp(`^PASS {2}pbx\\.call {2}${call}.*voicebot registered caller voicebot-doctor tenant default, greeted after \\d+ ms, ended cleanly$`, "m"));
  expect(applied.stdout).toContain("OK: the chain PBX -> voicebot works");
  process.stdout.write(`${pbx}: install on a terminal, defaults (phrase cache included): ${((installed - started) / 1000).toFixed(1)} s; `
    + `apply-on-pbx.sh to the call through the PBX passing: ${((done - installed) / 1000).toFixed(1)} s; `
    + `2 commands, 0 edits, ${((done - started) / 1000).toFixed(1)} s in all\n`);

  // doctor on voicebot's host agrees: nothing fails any more.
  const doctor = Bun.spawn([BINARY, "doctor", "--root", appliance.root, "--config", join(appliance.root, "etc/voicebot/voicebot.env"),
    "--data-dir", join(appliance.root, "var/lib/voicebot"), "--json"], { env: appliance.standins.env, stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  const report = JSON.parse(await new Response(doctor.stdout).text()) as { results: { id: string; status: string; detail: string }[] };
  expect(report.results.filter((r) => r.status === "FAIL")).toEqual([]);
  expect(report.results.find((r) => r.id === "pbx.call")?.status).toBe("PASS");
}

describe("install, then the PBX's script: the call through the PBX passes, 2 commands, 0 edits", () => {
  test("Asterisk", () => twoCommands("asterisk", asteriskHost, `AMI_PORT=${ami.port}`), TIMEOUT);
  test("FreeSWITCH", () => twoCommands("freeswitch", freeswitchHost, `ESL_PORT=${esl.port}`), TIMEOUT);
});
