/**
 * From a fresh host to the proof, counted as the admin lives it: `voicebot install` on a terminal
 * (every question answered with Enter but the PBX's address), then the PBX's one script, which
 * ends with voicebot's test call through the PBX passing. 2 commands, 0 edits.
 *
 * The PBX is an Asterisk on this host: a staged /etc/asterisk with the stub `asterisk` CLI, and
 * the fake Asterisk manager reading that tree as Asterisk reads its files at reload (voicebot's
 * AMI user and dialplan exist there only once the script has installed them), which runs the
 * dialplan against the installed service: CURL() registration, then AudioSocket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";
import { stagePbx } from "../support/pbx-stage.ts";
import { KEY, runOnPty } from "../support/pty.ts";
import { freePort, stageAppliance, type StagedAppliance } from "../support/staged-appliance.ts";
import { requireTool } from "../support/system-tools.ts";
import { BINARY, requireBinary } from "./harness.ts";

const TIMEOUT = 180_000;
const PBX_MODULES = ["app_audiosocket Running", "res_audiosocket Running", "func_curl Running", "chan_websocket Running", "res_websocket_client Running"];

const pbx = stagePbx({ realCurl: true });
let appliance: StagedAppliance;
let ami: FakeAmi;
let answers = "";

/** What Asterisk would read after a reload: the staged file, or nothing yet. */
function pbxFile(path: string): string | null {
  const file = join(pbx.root, path);
  return existsSync(file) ? readFileSync(file, "utf8") : null;
}

beforeAll(async () => {
  requireBinary();
  requireTool("curl");
  appliance = stageAppliance("pbx-chain");
  pbx.put("/etc/asterisk/extensions.conf", "[general]\nstatic=yes\n\n[default]\nexten => 100,1,Answer()\n", 0o640);
  pbx.put("/etc/asterisk/manager.conf", "[general]\nenabled = no\nport = 5038\nbindaddr = 127.0.0.1\n", 0o640);
  pbx.setState("version", "22.5.0");
  pbx.setState("modules", `${PBX_MODULES.join("\n")}\n`);
  ami = await startFakeAmi({
    username: "voicebot", port: freePort(),
    secret: () => /^secret = (.+)$/m.exec(pbxFile("/etc/asterisk/manager_voicebot.conf") ?? "")?.[1] ?? null,
    dialplan: () => ({ text: pbxFile("/etc/asterisk/extensions_voicebot.conf") ?? "" }),
  });
  // Only what this shared test host needs: free ports (a real host takes the defaults).
  answers = join(appliance.work, "ports.env");
  writeFileSync(answers, [
    `AUDIOSOCKET_PORT=${freePort()}`, `AUDIOSTREAM_PORT=${freePort()}`, `ASP_PORT=${freePort()}`, `WEBSOCKET_PORT=${freePort()}`,
    `HTTP_PORT=${freePort()}`, `AMI_PORT=${ami.port}`, "STOP_DRAIN_TIMEOUT=5",
  ].join("\n"));
});

afterAll(async () => {
  await appliance.stop();
  await ami.stop();
});

/** `sudo ./voicebot install`, Enter everywhere but the PBX's address. */
async function installOnTerminal(): Promise<{ code: number; screen: string }> {
  const pty = runOnPty([BINARY, "install", "--root", appliance.root, "--answers", answers], appliance.standins.env);
  try {
    const steps: [string, string][] = [
      ["Which PBX sends the calls?", KEY.enter], ["The PBX's IP addresses", `127.0.0.1${KEY.enter}`], ["This host's IP address", KEY.enter],
      ["Asterisk Manager (AMI) address", KEY.enter], ["Deepgram API key", KEY.enter], ["Groq API key", KEY.enter], ["OpenAI API key", KEY.enter],
      ["Company name", KEY.enter], ["Language the bot speaks", KEY.enter], ["Technician hours", KEY.enter], ["Technicians' line", KEY.enter], ["Keep these ports?", KEY.enter],
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

describe("install, then the PBX's script: the call through the PBX passes", () => {
  test("2 commands, 0 edits", async () => {
    const started = performance.now();
    const install = await installOnTerminal();
    const installed = performance.now();
    if (install.code === -1) throw new Error(`install never ended:\n${install.screen.slice(-3000)}\n${appliance.serveLog()}`);
    // Before the PBX has run its script, nothing can call through it, and install says so.
    expect(install.code).toBe(1);
    expect(install.screen).toContain("still blocking calls");
    expect(install.screen).toMatch(/- pbx\.call: Asterisk at 127\.0\.0\.1:\d+: .*login/);
    expect(install.screen).toContain(`sudo sh /etc/voicebot/pbx/asterisk/apply-on-pbx.sh`);

    const script = join(appliance.root, "etc/voicebot/pbx/asterisk/apply-on-pbx.sh");
    const applied = await pbx.runAsync("/bin/sh", script);
    const done = performance.now();
    if (applied.code !== 0) throw new Error(`apply-on-pbx.sh exited ${applied.code}\n${applied.stdout}\n${applied.stderr}\n${appliance.serveLog()}`);
    expect(applied.stdout).toMatch(/^PASS {2}pbx\.call {2}Asterisk at 127\.0\.0\.1:\d+: Local\/777@voicebot answered, voicebot registered caller voicebot-doctor tenant default, greeted after \d+ ms, ended cleanly$/m);
    expect(applied.stdout).toContain("OK: the chain PBX -> voicebot works");
    process.stdout.write(`install on a terminal, defaults (phrase cache included): ${((installed - started) / 1000).toFixed(1)} s; `
      + `apply-on-pbx.sh to the call through the PBX passing: ${((done - installed) / 1000).toFixed(1)} s; `
      + `2 commands, 0 edits, ${((done - started) / 1000).toFixed(1)} s in all\n`);

    // doctor on voicebot's host agrees: nothing fails any more.
    const doctor = Bun.spawn([BINARY, "doctor", "--root", appliance.root, "--config", join(appliance.root, "etc/voicebot/voicebot.env"),
      "--data-dir", join(appliance.root, "var/lib/voicebot"), "--json"], { env: appliance.standins.env, stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    const report = JSON.parse(await new Response(doctor.stdout).text()) as { results: { id: string; status: string; detail: string }[] };
    expect(report.results.filter((r) => r.status === "FAIL")).toEqual([]);
    expect(report.results.find((r) => r.id === "pbx.call")?.status).toBe("PASS");
  }, TIMEOUT);
});
