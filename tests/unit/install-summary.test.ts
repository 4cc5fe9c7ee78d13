/** What `install` says at its end: a dry run changed nothing; a doctor FAIL is named as what still blocks calls. */
import { expect, test } from "bun:test";
import { installSummary } from "../../src/cli/install.ts";
import type { InstallReport } from "../../src/install/install.ts";

const base = {
  dryRun: false, changes: ["a", "b"], modes: { stt: "deepgram", llm: "groq", tts: "openai" }, firewall: null, systemd: true, started: true,
  pbxFiles: [], pbxSteps: [], pbxHost: null, testCall: "PASS", doctor: [],
} as unknown as InstallReport;

test("a clean install says what it did, and nothing blocks", () => {
  const text = installSummary(base);
  expect(text).toContain("Installed (2 changes).");
  expect(text).not.toContain("still blocking");
});

test("a dry run ends with: nothing was changed", () => {
  expect(installSummary({ ...base, dryRun: true })).toContain("Dry run: 2 changes listed above, nothing was changed.");
});

test("each doctor FAIL is listed, with its fix, as what still blocks calls; WARNs are not", () => {
  const text = installSummary({
    ...base,
    doctor: [
      { id: "firewall", status: "FAIL", detail: "port 9090 closed to 192.0.2.20", fix: "sudo ufw allow from 192.0.2.20 to any port 9090 proto tcp" },
      { id: "provider.groq", status: "WARN", detail: "slow", fix: "check the network" },
    ],
  });
  expect(text).toContain("still blocking calls");
  expect(text).toContain("- firewall: port 9090 closed to 192.0.2.20 — sudo ufw allow from 192.0.2.20 to any port 9090 proto tcp");
  expect(text).not.toContain("provider.groq");
});

test("the PBX side is one file to copy and run, on the PBX's host or this one", () => {
  const files = ["/etc/voicebot/pbx/asterisk/extensions_voicebot.conf", "/etc/voicebot/pbx/asterisk/apply-on-pbx.sh"];
  const remote = installSummary({ ...base, pbxFiles: files, pbxSteps: ["Copy asterisk/extensions_voicebot.conf to /etc/asterisk/"], pbxHost: "203.0.113.10" });
  expect(remote).toContain("On the PBX (203.0.113.10): copy this one file there and run it as root:");
  expect(remote).toContain("scp /etc/voicebot/pbx/asterisk/apply-on-pbx.sh root@203.0.113.10: && ssh root@203.0.113.10 sh apply-on-pbx.sh");
  expect(remote).toContain("`voicebot pbx-config asterisk` lists each step");
  expect(remote).not.toContain("Copy asterisk/extensions_voicebot.conf");
  const here = installSummary({ ...base, pbxFiles: files, pbxHost: null });
  expect(here).toContain("sudo sh /etc/voicebot/pbx/asterisk/apply-on-pbx.sh");
});
