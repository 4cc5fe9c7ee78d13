/**
 * `voicebot install` as an admin runs it: the compiled binary on a real terminal (a pty), a PBX on
 * another host, every question but the PBX's address answered with Enter. The result must take
 * calls with no hand edit: the admin port listens where that PBX reaches it and the firewall opens
 * it to that PBX only; AMI / ESL point at the PBX with a secret generated once and written on both
 * sides; a re-run keeps it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnvFile } from "../../src/config/envfile.ts";
import { KEY, runOnPty } from "../support/pty.ts";
import { createStandins, type Standins } from "../support/standins.ts";
import { BINARY, requireBinary } from "./harness.ts";

const TIMEOUT = 120_000;
const PBX_HOST = "203.0.113.10";

let work = "";
let s: Standins;

beforeAll(() => {
  requireBinary();
  work = mkdtempSync(join(tmpdir(), "voicebot-install-pty-"));
  s = createStandins({ ufw: "inactive" });
});

afterAll(() => {
  s.cleanup();
  rmSync(work, { recursive: true, force: true });
});

function stagedRoot(name: string): string {
  const root = join(work, name);
  mkdirSync(join(root, "etc"), { recursive: true });
  mkdirSync(join(root, "run/systemd/system"), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
  return root;
}

/** Answers every question the way an admin pressing Enter would, typing only the PBX's address. */
async function installInteractively(root: string, pbx: "asterisk" | "freeswitch", firstRun: boolean): Promise<{ code: number; screen: string }> {
  const pty = runOnPty([BINARY, "install", "--root", root, "--no-start", "--skip-cache"], s.env);
  try {
    await pty.waitFor("Which PBX sends the calls?");
    pty.type(pbx === "freeswitch" ? KEY.down + KEY.enter : KEY.enter);
    await pty.waitFor("The PBX's IP addresses");
    pty.type(firstRun ? `${PBX_HOST}${KEY.enter}` : KEY.enter);
    await pty.waitFor("This host's IP address");
    pty.type(KEY.enter);
    await pty.waitFor(pbx === "asterisk" ? "Asterisk Manager (AMI) address" : "FreeSWITCH event socket (ESL) address");
    pty.type(KEY.enter);
    for (const key of ["Deepgram API key", "Groq API key", "OpenAI API key", "Anthropic API key", "Google Cloud service-account JSON file"]) {
      await pty.waitFor(key);
      pty.type(KEY.enter);
    }
    for (const question of ["Company name", "Language the bot speaks", "Technician hours", "Technicians' line", "Keep these ports?", "Where are calls and tickets kept?"]) {
      await pty.waitFor(question);
      pty.type(KEY.enter);
    }
    const code = await Promise.race([pty.exited, Bun.sleep(90_000).then(() => -1)]);
    return { code, screen: pty.screen() };
  } finally {
    pty.kill();
  }
}

function envOf(root: string): Map<string, string> {
  const path = join(root, "etc/voicebot/voicebot.env");
  return parseEnvFile(readFileSync(path, "utf8"), path);
}

/** Every file install wrote under /etc/voicebot, to prove no placeholder secret went anywhere. */
function etcFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(join(root, "etc/voicebot"));
  return out;
}

describe("install on a terminal, defaults, PBX on another host", () => {
  test("Asterisk: admin port and firewall for the PBX, one AMI secret on both sides, kept by a re-run", async () => {
    const root = stagedRoot("asterisk");
    const first = await installInteractively(root, "asterisk", true);
    expect(first.code).not.toBe(-1);
    expect(first.screen).toContain("Thanks: installing now.");
    // Every rendered path reaches voicebot: install has nothing to warn about.
    expect(first.screen).not.toContain("warning:");
    const env = envOf(root);
    expect(env.get("AUDIOSOCKET_ALLOW")).toBe(`${PBX_HOST},127.0.0.1`);
    expect(env.get("HTTP_HOST")).toBe("0.0.0.0");
    expect(env.get("AMI_HOST")).toBe(PBX_HOST);
    expect(env.get("AMI_PORT")).toBe("5038");
    expect(env.get("AMI_USER")).toBe("voicebot");
    const secret = env.get("AMI_SECRET") ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const manager = readFileSync(join(root, "etc/voicebot/pbx/asterisk/manager_voicebot.conf"), "utf8");
    expect(manager).toContain("[voicebot]");
    expect(manager).toContain(`secret = ${secret}\n`);
    for (const file of etcFiles(root)) expect({ file, placeholder: readFileSync(file, "utf8").includes("CHANGE-ME") }).toEqual({ file, placeholder: false });

    // No ufw on this host: voicebot's own nftables table, the admin port open to the PBX only.
    const nft = readFileSync(join(root, "etc/voicebot/firewall.nft"), "utf8");
    expect(nft).toContain(`# admin: only from ${PBX_HOST}\n`);
    expect(nft).toContain(`tcp dport ${env.get("HTTP_PORT")} drop`);
    expect(nft).toContain(`set admin_v4 {\n    type ipv4_addr\n    flags interval\n    elements = { ${PBX_HOST} }`);

    const again = await installInteractively(root, "asterisk", false);
    expect(again.code).not.toBe(-1);
    expect(again.screen).toContain("voicebot.env: no change");
    expect(envOf(root).get("AMI_SECRET")).toBe(secret);
  }, TIMEOUT);

  test("FreeSWITCH: ESL at the PBX with a generated password in event_socket.conf.xml", async () => {
    const root = stagedRoot("freeswitch");
    const r = await installInteractively(root, "freeswitch", true);
    expect(r.code).not.toBe(-1);
    expect(r.screen).not.toContain("warning:");
    const env = envOf(root);
    expect(env.get("PBX")).toBe("freeswitch");
    expect(env.get("ESL_HOST")).toBe(PBX_HOST);
    expect(env.get("ESL_PORT")).toBe("8021");
    expect(env.get("HTTP_HOST")).toBe("0.0.0.0");
    expect(env.has("AMI_HOST")).toBe(false);
    const password = env.get("ESL_PASSWORD") ?? "";
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const eventSocket = readFileSync(join(root, "etc/voicebot/pbx/freeswitch/event_socket.conf.xml"), "utf8");
    expect(eventSocket).toContain(`<param name="password" value="${password}"/>`);
    expect(eventSocket).toContain('<param name="listen-ip" value="0.0.0.0"/>');
    for (const file of etcFiles(root)) expect({ file, placeholder: readFileSync(file, "utf8").includes("CHANGE-ME") }).toEqual({ file, placeholder: false });
  }, TIMEOUT);
});
