/**
 * `voicebot doctor`'s call through the PBX (pbx.call) against the compiled binary and the fake
 * Asterisk manager / FreeSWITCH event socket, which run the dialplans `pbx-config` renders for it:
 * a whole call passes, and each broken link (PBX unreachable, login, permission, dialplan not
 * loaded, module missing, registration refused or lost, firewall on the media port, a stalled PBX)
 * gives a FAIL naming that link.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { loadTenants } from "../../src/config/tenants.ts";
import type { CheckResult } from "../../src/install/doctor-check.ts";
import { pbxCallCheck } from "../../src/install/doctor-pbx-call.ts";
import { renderPbxConfig } from "../../src/install/pbx-render.ts";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";
import type { FakeAsteriskDialplan } from "../fakes/ami-originate.ts";
import { startFakeEsl, type FakeEsl } from "../fakes/esl.ts";
import type { FakeFreeswitchDialplan } from "../fakes/esl-originate.ts";
import { E2E_TIMEOUT_MS, listenerOf, runCli, startServer, type RunningServer } from "./harness.ts";

/** Someone else's extension 8000 ahead of voicebot's: it answers and parks. */
const OTHER_8000 = `<include><extension name="ivr"><condition field="destination_number" expression="^8000$">
<action application="answer" data=""/><action application="park" data=""/></condition></extension></include>`;

const TOKENS = { ADMIN_TOKEN: "doctor-admin-token", PBX_TOKEN: "doctor-pbx-token", AUDIOSTREAM_TOKEN: "doctor-stream-token" };

let server: RunningServer;
let ports: { http: number; audiosocket: number; audiostream: number };
const dirs: string[] = [];
const fakes: (FakeAmi | FakeEsl)[] = [];

/** A port that takes the connection and never says a word (a proxy, or not the PBX's control port). */
function silentPort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  silent.push(listener);
  return listener.port;
}
const silent: { stop(force: boolean): void }[] = [];

function closedPort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** The doctor's view: the running server's ports and tokens, and the PBX control settings given. */
function doctorConfig(pbx: Record<string, string>): Config {
  const { dir, file } = doctorEnv(pbx);
  return loadConfig({ config: file, dataDir: dir }, {});
}

function doctorEnv(pbx: Record<string, string>): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-doctor-pbx-"));
  dirs.push(dir);
  const env = {
    HTTP_HOST: "127.0.0.1", HTTP_PORT: String(ports.http), AUDIOSOCKET_HOST: "127.0.0.1", AUDIOSOCKET_PORT: String(ports.audiosocket),
    AUDIOSTREAM_HOST: "127.0.0.1", AUDIOSTREAM_PORT: String(ports.audiostream), AUDIOSTREAM_PLAYBACK: "stream", ...TOKENS, ...pbx,
  };
  writeFileSync(join(dir, "voicebot.env"), Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n"));
  return { dir, file: join(dir, "voicebot.env") };
}

function rendered(kind: "asterisk" | "freeswitch", config: Config, path: string): string {
  const file = renderPbxConfig(kind, { host: "127.0.0.1", config, tenants: loadTenants(config) }).files.find((f) => f.path === path);
  if (!file) throw new Error(`pbx-config ${kind} rendered no ${path}`);
  return file.content;
}

async function runCheck(config: Config, limitMs = 15_000): Promise<CheckResult> {
  const results = await pbxCallCheck.run({ config, configError: null, root: "/", env: {}, signal: AbortSignal.timeout(limitMs) });
  const list = Array.isArray(results) ? results : [results];
  expect(list).toHaveLength(1);
  return list[0]!;
}

/** A fake Asterisk running the dialplan rendered from `render` (default: the doctor's own config), and the doctor's config for it. */
async function asterisk(o: { render?: (c: Config) => Config; text?: string; missingApps?: string[]; write?: string[]; secret?: string } = {}): Promise<{ ami: FakeAmi; config: Config }> {
  const text = o.text ?? rendered("asterisk", (o.render ?? ((c) => c))(doctorConfig({})), "asterisk/extensions_voicebot.conf");
  const dialplan: FakeAsteriskDialplan = { text, missingApps: o.missingApps ?? [] };
  const ami = await startFakeAmi({ username: "voicebot", secret: "ami-secret", dialplan, write: o.write });
  fakes.push(ami);
  const config = doctorConfig({ AMI_HOST: "127.0.0.1", AMI_PORT: String(ami.port), AMI_USER: "voicebot", AMI_SECRET: o.secret ?? "ami-secret" });
  return { ami, config };
}

async function freeswitch(o: { render?: (c: Config) => Config; xml?: string; missingModules?: string[]; context?: string } = {}): Promise<{ esl: FakeEsl; config: Config }> {
  const xml = o.xml ?? rendered("freeswitch", (o.render ?? ((c) => c))(doctorConfig({})), "freeswitch/voicebot_dialplan.xml");
  const dialplan: FakeFreeswitchDialplan = { xml, context: o.context ?? "default", missingModules: o.missingModules ?? [] };
  const esl = await startFakeEsl({ password: "esl-secret", dialplan });
  fakes.push(esl);
  return { esl, config: doctorConfig({ ESL_HOST: "127.0.0.1", ESL_PORT: String(esl.port), ESL_PASSWORD: "esl-secret" }) };
}

beforeAll(async () => {
  server = await startServer({ ...TOKENS, AUDIOSTREAM_PLAYBACK: "stream" });
  const audiostream = Number((await listenerOf(server, "audiostream")).split(":").pop());
  ports = { http: Number(server.http.split(":").pop()), audiosocket: server.audiosocket.port, audiostream };
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  for (const fake of fakes) await fake.stop();
  for (const listener of silent) listener.stop(true);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  expect(await server.stop()).toBe(0);
}, E2E_TIMEOUT_MS);

describe("pbx.call through Asterisk (AMI Originate of Local/777@voicebot)", () => {
  test("a whole call: registered as the doctor's, greeted, ended with cause 16", async () => {
    const { ami, config } = await asterisk();
    const r = await runCheck(config);
    expect(r.detail).toContain("Local/777@voicebot answered, voicebot registered caller voicebot-doctor tenant default, greeted after");
    expect(r.status).toBe("PASS");
    expect(r.detail).toEndWith("ended cleanly");
    const originate = ami.actions.find((a) => a.action === "Originate")!.fields;
    expect(originate).toMatchObject({ Channel: "Local/777@voicebot", Application: "Wait", Async: "true", CallerID: "\"voicebot-doctor\" <voicebot-doctor>" });
  }, E2E_TIMEOUT_MS);

  test("`voicebot doctor` runs it with the other checks, within its overall limit", async () => {
    const { ami } = await asterisk();
    const { dir, file } = doctorEnv({ AMI_HOST: "127.0.0.1", AMI_PORT: String(ami.port), AMI_USER: "voicebot", AMI_SECRET: "ami-secret" });
    const r = await runCli(["doctor", "--json", "--config", file, "--data-dir", dir]);
    const report = JSON.parse(r.stdout) as { results: CheckResult[]; summary: { seconds: number } };
    const line = report.results.find((x) => x.id === "pbx.call");
    expect(line).toMatchObject({ status: "PASS", detail: expect.stringContaining("greeted after") });
    expect(report.results.find((x) => x.id === "pbx.ami")?.status).toBe("PASS");
    process.stderr.write(`doctor with pbx.call through the fake Asterisk: ${report.summary.seconds} s, ${report.results.length} results\n`);
  }, E2E_TIMEOUT_MS);

  test("each broken link is named", async () => {
    const cases: [string, () => Promise<Config>, RegExp][] = [
      ["unreachable", async () => doctorConfig({ AMI_HOST: "127.0.0.1", AMI_PORT: String(closedPort()), AMI_USER: "voicebot", AMI_SECRET: "x" }), /AMI unreachable/],
      ["silent", async () => doctorConfig({ AMI_HOST: "127.0.0.1", AMI_PORT: String(silentPort()), AMI_USER: "voicebot", AMI_SECRET: "x" }), /connected, but no AMI banner came/],
      ["login", async () => (await asterisk({ secret: "wrong" })).config, /AMI refused the login as "voicebot" \(Authentication failed\)/],
      ["permission", async () => (await asterisk({ write: ["call"] })).config, /may not Originate \(Permission denied\)/],
      ["no dialplan", async () => (await asterisk({ text: "" })).config, /no such extension or context \(the dialplan is not loaded\)/],
      ["module missing", async () => (await asterisk({ missingApps: ["AudioSocket"] })).config, /stopped before AudioSocket\(\).*AudioSocket application is missing/],
      ["token refused", async () => (await asterisk({ render: (c) => ({ ...c, pbxToken: "not-the-token" }) })).config, /voicebot refused the registration: unauthorized/],
      ["admin port unreachable", async () => (await asterisk({ render: (c) => ({ ...c, http: { ...c.http, port: closedPort() } }) })).config, /registration never arrived/],
      ["AudioSocket firewalled", async () => (await asterisk({ render: (c) => ({ ...c, audiosocket: { ...c.audiosocket, port: closedPort() } }) })).config, /never got the audio stream \(AudioSocket/],
    ];
    for (const [name, make, expected] of cases) {
      const r = await runCheck(await make());
      expect({ name, status: r.status, detail: r.detail }).toMatchObject({ name, status: "FAIL", detail: expect.stringMatching(expected) });
      expect(r.fix ?? "").not.toBe("");
    }
  }, E2E_TIMEOUT_MS);

  test("a PBX that queues the Originate and never places it fails when the doctor's time is up", async () => {
    const { ami, config } = await asterisk();
    ami.misbehave({ stallOriginate: true });
    const r = await runCheck(config, 1500);
    expect(r.status).toBe("FAIL");
    expect(r.detail).toContain("Originate was queued but no OriginateResponse came");
  }, E2E_TIMEOUT_MS);
});

describe("pbx.call through FreeSWITCH (ESL originate of loopback/8000/default)", () => {
  test("a whole call: streamed with the doctor's caller, greeted, ended NORMAL_CLEARING", async () => {
    const { esl, config } = await freeswitch();
    const r = await runCheck(config);
    expect(r.detail).toContain("loopback/8000/default answered, voicebot registered caller voicebot-doctor tenant default, greeted after");
    expect(r.status).toBe("PASS");
    expect(esl.commands.some((c) => /^bgapi originate \{.*origination_caller_id_number=voicebot-doctor.*\}loopback\/8000\/default &sleep\(\d+\)$/.test(c.line))).toBe(true);
  }, E2E_TIMEOUT_MS);

  test("voicebot's extension in the public context (calls from a trunk) is found there", async () => {
    const { esl, config } = await freeswitch({ context: "public" });
    const r = await runCheck(config);
    expect(r).toMatchObject({ status: "PASS", detail: expect.stringContaining("loopback/8000/public answered") });
    expect(esl.commands.filter((c) => c.line.startsWith("bgapi originate")).map((c) => c.line.split(" ")[2]?.replace(/^\{[^}]*\}/, ""))).toEqual(["loopback/8000/default", "loopback/8000/public"]);
  }, E2E_TIMEOUT_MS);

  test("each broken link is named", async () => {
    const cases: [string, () => Promise<Config>, RegExp][] = [
      ["unreachable", async () => doctorConfig({ ESL_HOST: "127.0.0.1", ESL_PORT: String(closedPort()), ESL_PASSWORD: "x" }), /event socket is unreachable/],
      ["silent", async () => doctorConfig({ ESL_HOST: "127.0.0.1", ESL_PORT: String(silentPort()), ESL_PASSWORD: "x" }), /no auth\/request came/],
      ["password", async () => {
        const { config } = await freeswitch();
        return { ...config, esl: { ...config.esl!, password: "wrong" } };
      }, /rejected the password/],
      ["mod_loopback missing", async () => (await freeswitch({ missingModules: ["mod_loopback"] })).config, /CHAN_NOT_IMPLEMENTED.*mod_loopback is not loaded/],
      ["no dialplan", async () => (await freeswitch({ context: "sales" })).config, /NO_ROUTE_DESTINATION.*neither the default nor the public context/],
      ["mod_audio_stream missing", async () => (await freeswitch({ missingModules: ["mod_audio_stream"] })).config, /uuid_audio_stream answered "".*mod_audio_stream is missing/],
      ["another extension 8000", async () => (await freeswitch({ xml: OTHER_8000 })).config, /never ran voicebot's uuid_audio_stream/],
      ["stream firewalled", async () => (await freeswitch({ render: (c) => ({ ...c, audiostream: { ...c.audiostream, port: closedPort() } }) })).config, /never got the stream \(WebSocket/],
    ];
    for (const [name, make, expected] of cases) {
      const r = await runCheck(await make());
      expect({ name, status: r.status, detail: r.detail }).toMatchObject({ name, status: "FAIL", detail: expect.stringMatching(expected) });
    }
  }, E2E_TIMEOUT_MS);

  test("an originate whose BACKGROUND_JOB never comes fails when the doctor's time is up", async () => {
    const { esl, config } = await freeswitch();
    esl.misbehave({ stallOriginate: true });
    const r = await runCheck(config, 1500);
    expect(r.status).toBe("FAIL");
    expect(r.detail).toContain("BACKGROUND_JOB never came");
  }, E2E_TIMEOUT_MS);
});
