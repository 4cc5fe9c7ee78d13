/**
 * The appliance end to end with the compiled binary: `install --yes` into a staging root (stand-in
 * systemctl starts the installed binary for real), doctor's synthetic call, a re-install, an
 * upgrade that works and one that is rolled back, and uninstall.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";
import { freePort, stageAppliance, type StagedAppliance } from "../support/staged-appliance.ts";
import type { Standins } from "../support/standins.ts";
import { BINARY, requireBinary } from "./harness.ts";

const TIMEOUT = 300_000;

let appliance: StagedAppliance;
let root = "";
let work = "";
let s: Standins;
let ami: FakeAmi;
const ports = { audiosocket: 0, audiostream: 0, asp: 0, websocket: 0, http: 0 };

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const proc = Bun.spawn(args, { cwd: work, env: s.env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, ms: performance.now() - started };
}

async function health(): Promise<{ version?: string } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${ports.http}/healthz`);
    return res.status === 200 ? ((await res.json()) as { version?: string }) : null;
  } catch {
    return null;
  }
}

beforeAll(async () => {
  requireBinary();
  // The Asterisk: install points AMI at it by default; doctor logs in there and calls 777 through
  // it, running the dialplan install rendered (as if the PBX script had been run).
  const rendered = () => join(root, "etc/voicebot/pbx/asterisk/extensions_voicebot.conf");
  ami = await startFakeAmi({
    username: "voicebot", secret: "appliance-ami-secret", dialplan: () => ({ text: existsSync(rendered()) ? readFileSync(rendered(), "utf8") : "" }),
  });
  appliance = stageAppliance("appliance");
  ({ work, root, standins: s } = appliance);
  ports.audiosocket = freePort();
  ports.audiostream = freePort();
  ports.asp = freePort();
  ports.websocket = freePort();
  ports.http = freePort();
  writeFileSync(join(work, "answers.env"), [
    "PBX=asterisk", "AUDIOSOCKET_ALLOW=192.0.2.20", "COMPANY_NAME=ACME Fibre", "AUDIOSOCKET_HOST=127.0.0.1",
    `AUDIOSOCKET_PORT=${ports.audiosocket}`, `AUDIOSTREAM_PORT=${ports.audiostream}`, `ASP_PORT=${ports.asp}`, `WEBSOCKET_PORT=${ports.websocket}`, `HTTP_PORT=${ports.http}`, "STOP_DRAIN_TIMEOUT=5",
    "AMI_HOST=127.0.0.1", `AMI_PORT=${ami.port}`, "AMI_SECRET=appliance-ami-secret", "PUBLIC_HOST=127.0.0.1",
  ].join("\n"));
});

afterAll(async () => {
  await appliance.stop();
  await ami.stop();
});

describe("the appliance, with the compiled binary", () => {
  test("install --yes builds the cache, starts the service, and doctor's synthetic call passes", async () => {
    const r = await run([BINARY, "install", "--yes", "--answers", join(work, "answers.env"), "--root", root, "--json"]);
    process.stdout.write(`install --yes --answers (offline voice, phrase cache included): ${(r.ms / 1000).toFixed(1)} s\n`);
    if (r.code !== 0) throw new Error(`install exited ${r.code}\n${r.stderr}\n${r.stdout}\n${appliance.serveLog()}`);
    const report = JSON.parse(r.stdout) as { started: boolean; doctor: { id: string; status: string; detail: string }[] };
    expect(report.started).toBe(true);
    const call = report.doctor.find((d) => d.id === "call.audiosocket");
    // A loaded test host (npm test runs e2e files side by side) may starve the 1.5 s pacing window:
    // doctor then says WARN "too slow" by design; anything else must be a PASS.
    if (call?.status === "WARN") expect(call.detail).toContain("(too slow)");
    else expect(call?.status).toBe("PASS");
    expect(report.doctor.find((d) => d.id === "phrase-cache")?.status).toBe("PASS");
    expect(report.doctor.find((d) => d.id === "pbx.call")).toMatchObject({ status: "PASS", detail: expect.stringContaining("Local/777@voicebot answered") });
    expect(report.doctor.filter((d) => d.status === "FAIL")).toEqual([]);
    expect(s.calls()).toContainEqual(["systemctl", "enable", "--now", "voicebot.service", "voicebot-recordings.timer"]);
    expect(await health()).not.toBeNull();
  }, TIMEOUT);

  test("doctor against the running service: every line PASS or WARN, within its time limit", async () => {
    const r = await run([BINARY, "doctor", "--config", join(root, "etc/voicebot/voicebot.env"), "--data-dir", join(root, "var/lib/voicebot"), "--root", root, "--json"]);
    const out = JSON.parse(r.stdout) as { results: { id: string; status: string }[]; summary: { seconds: number } };
    process.stdout.write(`doctor: ${out.summary.seconds} s\n`);
    expect(out.results.filter((x) => x.status === "FAIL")).toEqual([]);
    expect(r.code).toBe(0);
  }, TIMEOUT);

  test("re-install: no change to the env file, no second user", async () => {
    const r = await run([BINARY, "install", "--yes", "--answers", join(work, "answers.env"), "--root", root, "--skip-cache"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("voicebot.env: no change");
    expect(s.calls().filter((c) => c[0] === "useradd")).toHaveLength(1);
  }, TIMEOUT);

  test("upgrade to a working binary: swapped, migrated, restarted, healthy", async () => {
    const next = join(work, "voicebot-next");
    writeFileSync(next, `#!/bin/sh\nexec ${BINARY} "$@"\n`, { mode: 0o755 });
    const r = await run([BINARY, "upgrade", next, "--root", root, "--health-timeout", "60", "--json"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { outcome: string }).outcome).toBe("upgraded");
    expect(readFileSync(join(root, "usr/local/bin/voicebot"), "utf8")).toContain(`exec ${BINARY}`);
    expect(existsSync(join(root, "usr/local/bin/voicebot.previous"))).toBe(true);
    // The old process was gone before the restart returned: what answered upgrade's check was the new one.
    expect(await health()).not.toBeNull();
  }, TIMEOUT);

  test("upgrade to a binary that does not serve: rolled back, and the service answers again", async () => {
    const broken = join(work, "voicebot-broken");
    writeFileSync(broken, `#!/bin/sh\nif [ "$1" = version ]; then echo '{"version":"9.9.9"}'; exit 0; fi\nif [ "$1" = upgrade ]; then exit 0; fi\necho "broken build" >&2; exit 1\n`, { mode: 0o755 });
    const r = await run([BINARY, "upgrade", broken, "--root", root, "--health-timeout", "5", "--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { outcome: string; reason: string };
    expect(report.outcome).toBe("rolled back");
    expect(readFileSync(join(root, "usr/local/bin/voicebot"), "utf8")).toContain(`exec ${BINARY}`);
    for (let i = 0; i < 100 && (await health()) === null; i++) await Bun.sleep(200);
    expect(await health()).not.toBeNull();
  }, TIMEOUT);

  test("a file that is not voicebot is refused and nothing changes", async () => {
    const junk = join(work, "junk");
    writeFileSync(junk, "not a program", { mode: 0o644 });
    const before = readFileSync(join(root, "usr/local/bin/voicebot"));
    const r = await run([BINARY, "upgrade", junk, "--root", root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not a voicebot executable");
    expect(readFileSync(join(root, "usr/local/bin/voicebot")).equals(before)).toBe(true);
  }, TIMEOUT);

  test("uninstall --yes removes the installation and keeps the data", async () => {
    const r = await run([BINARY, "uninstall", "--yes", "--root", root]);
    expect(r.code).toBe(0);
    expect(existsSync(join(root, "usr/local/bin/voicebot"))).toBe(false);
    expect(existsSync(join(root, "etc/systemd/system/voicebot.service"))).toBe(false);
    expect(existsSync(join(root, "var/lib/voicebot/voicebot.db"))).toBe(true);
  }, TIMEOUT);
});
