import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startAdminServer } from "../../src/admin/server.ts";
import { CallDirectory, formatNextStep } from "../../src/call/call-directory.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { Tenants } from "../../src/config/tenant.ts";
import { loadTenants } from "../../src/config/tenants.ts";
import { detectHostAddress } from "../../src/install/host-address.ts";
import { fillTemplate, PbxConfigError, renderPbxConfig, type PbxKind, type PbxRendering } from "../../src/install/pbx-render.ts";
import { rootLogger } from "../../src/log.ts";
import { parseStreamUrl } from "../../src/transports/audiostream-url.ts";
import { parseChanWebsocketUrl } from "../../src/transports/chan-websocket.ts";
import { ASTERISK_APPLICATIONS, ASTERISK_FUNCTIONS, CURLOPT_KEYS, functionsIn, parseExtensions, type Priority } from "../support/asterisk-apps.ts";

const REPO = resolve(import.meta.dir, "../..");
const HOST = "192.0.2.10";
const CALL = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
const FUSION_DOMAIN = "3f1c2b9a-1234-4abc-9def-0123456789ab";
const ADMIN_TOKEN = "adm:in/t%k&=";
const PBX_TOKEN = "pbx:on/ly%&=";
const STREAM_TOKEN = "st&re=am?x";
const root = mkdtempSync(join(tmpdir(), "voicebot-pbx-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let serial = 0;
function tempFile(name: string, text: string): string {
  const path = join(root, `${++serial}-${name}`);
  writeFileSync(path, text);
  return path;
}

function envFile(values: Record<string, string>): string {
  return tempFile("voicebot.env", Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
}

const TENANTS_TOML = `[tenants.acme]\ncompany_name = "ACME"\naliases = ["acme.example.com", "${FUSION_DOMAIN}"]\n\n`
  + `[tenants.globex]\ncompany_name = "Globex"\n`;

function setup(tenantCount: 1 | 3, tokens: boolean, extra: Record<string, string> = {}): { config: Config; tenants: Tenants } {
  const env: Record<string, string> = { HTTP_HOST: "0.0.0.0", AUDIOSTREAM_HOST: "0.0.0.0", TENANTS_FILE: tempFile("tenants.toml", tenantCount === 3 ? TENANTS_TOML : ""), ...extra };
  if (tokens) Object.assign(env, { ADMIN_TOKEN, PBX_TOKEN, AUDIOSTREAM_TOKEN: STREAM_TOKEN });
  const config = loadConfig({ config: envFile(env) }, {});
  return { config, tenants: loadTenants(config) };
}

function file(rendering: PbxRendering, path: string): string {
  const found = rendering.files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} not rendered; got ${rendering.files.map((f) => f.path).join(", ")}`);
  return found.content;
}

/**
 * Runs one context's 777 the way Asterisk would, innermost ${…} first, then $[…]: CURL() really
 * requests voicebot's admin server; AudioSocket() records its arguments and returns (as after 0x00).
 */
async function runDialplan(priorities: Priority[]): Promise<{ socket: string; outcome: string }> {
  const vars = new Map<string, string>([["EXTEN", "777"]]);
  const curlopts = new Map<string, string>();
  const call = async (name: string, args: string): Promise<string> => {
    if (name === "UUID") return CALL;
    if (name === "CALLERID" && args === "num") return "+33 6 12";
    if (name === "URIENCODE") return encodeURIComponent(args);
    if (name !== "CURL") throw new Error(`no simulation for ${name}(${args})`);
    const [url, post, ...more] = args.split(",");
    expect(more).toEqual([]);
    const res = await fetch(url as string, post === undefined ? {} : { method: "POST", body: post, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const expand = async (text: string): Promise<string> => {
    for (let m = /\$\{([A-Za-z_]+)(?:\(([^${}()]*)\)|:(\d+)(?::(\d+))?)?\}/.exec(text); m; m = /\$\{([A-Za-z_]+)(?:\(([^${}()]*)\)|:(\d+)(?::(\d+))?)?\}/.exec(text)) {
      const value = m[2] !== undefined ? await call(m[1] as string, m[2]) : (vars.get(m[1] as string) ?? "").slice(Number(m[3] ?? 0), m[4] === undefined ? undefined : Number(m[3] ?? 0) + Number(m[4]));
      text = text.slice(0, m.index) + value + text.slice(m.index + m[0].length);
    }
    return text.replace(/\$\[\s*"([^"]*)"\s*=\s*"([^"]*)"\s*\]/g, (_, a: string, b: string) => (a === b ? "1" : "0"));
  };
  let socket = "";
  for (let pc = 0; pc < priorities.length; pc++) {
    const p = priorities[pc] as Priority;
    if (p.app === "Set" && p.args.startsWith("CURLOPT(")) {
      const [, key, value] = /^CURLOPT\(([a-z_]+)\)=(.*)$/.exec(p.args) ?? [];
      expect(CURLOPT_KEYS).toContain(key as string);
      curlopts.set(key as string, value as string);
      continue;
    }
    const args = await expand(p.args);
    if (p.app === "Set") vars.set(args.slice(0, args.indexOf("=")), args.slice(args.indexOf("=") + 1));
    else if (p.app === "AudioSocket") socket = args;
    else if (p.app === "GotoIf") {
      const [cond, label] = args.split("?");
      if (cond === "1") pc = priorities.findIndex((q) => q.label === label) - 1;
    } else if (p.app === "Goto") return { socket, outcome: `goto ${args}` };
    else if (p.app === "Hangup") return { socket, outcome: "hangup" };
  }
  return { socket, outcome: "fell off the end" };
}

describe("templates", () => {
  test("placeholders are filled, blocks repeat per item, and a missing value is an error", () => {
    expect(fillTemplate("t", "a={{a}}\n{{#xs}}\n- {{x}} of {{a}}\n{{/xs}}\nend ${keep} {{a}}", { a: "1" }, { xs: [{ x: "p" }, { x: "q" }] }))
      .toBe("a=1\n- p of 1\n- q of 1\nend ${keep} 1");
    expect(() => fillTemplate("t", "{{nope}}", {})).toThrow("template t: no value for {{nope}}");
  });

  test("detectHostAddress gives an IPv4 address", () => {
    expect(detectHostAddress()).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });
});

describe("asterisk", () => {
  for (const tenantCount of [1, 3] as const) {
    for (const tokens of [true, false]) {
      test(`${tenantCount} tenant(s), tokens ${tokens ? "set" : "unset"}: parses, names only real apps, and runs against voicebot's API`, async () => {
        const { config, tenants } = setup(tenantCount, tokens);
        const directory = new CallDirectory();
        const server = startAdminServer({
          host: "127.0.0.1", port: 0, log: rootLogger.child("test"), health: () => ({ ready: true, body: {} }), metrics: () => [], tokens: { admin: config.adminToken, pbx: config.pbxToken },
          calls: { register: (uuid, r) => directory.register(uuid, { callerNumber: r.callerNumber, dnis: r.dnis, tenant: r.tenant }), next: (uuid) => formatNextStep(directory.next(uuid)) },
        });
        try {
          const rendering = renderPbxConfig("asterisk", { host: "127.0.0.1", config: { ...config, http: { host: "0.0.0.0", port: server.port } }, tenants });
          const contexts = parseExtensions(file(rendering, "asterisk/extensions_voicebot.conf"));
          expect([...contexts.keys()]).toEqual(tenantCount === 3 ? ["voicebot", "voicebot-acme", "voicebot-globex"] : ["voicebot"]);
          for (const [context, priorities] of contexts) {
            const tenant = context === "voicebot" ? "default" : context.slice("voicebot-".length);
            for (const p of priorities) {
              expect(ASTERISK_APPLICATIONS.map((a) => a.name)).toContain(p.app);
              for (const f of functionsIn(p)) expect(ASTERISK_FUNCTIONS.map((a) => a.name)).toContain(f);
            }
            expect(priorities[0]).toMatchObject({ exten: "777", app: "Answer" });
            expect(priorities.every((p) => p.exten === "777")).toBe(true);
            // The PBX token, never the admin one: `dialplan show` prints this file's contents.
            if (tokens) expect(priorities.filter((p) => p.args.includes("CURL(")).every((p) => p.args.includes("?token=pbx%3Aon%2Fly%25%26%3D"))).toBe(true);
            expect(priorities.some((p) => p.args.includes("adm%3Ain") || p.args.includes(ADMIN_TOKEN))).toBe(false);

            const first = await runDialplan(priorities);
            expect(first).toEqual({ socket: `${CALL},127.0.0.1:9090`, outcome: "hangup" });
            expect(directory.take(CALL)).toEqual({ callerNumber: "+33 6 12", dnis: "777", tenant });
            directory.setNext(CALL, { kind: "transfer", context: "techs", exten: "200", priority: "1" });
            expect((await runDialplan(priorities)).outcome).toBe("goto techs,200,1");
          }
          expect(file(rendering, "asterisk/manager_voicebot.conf")).toContain("permit = 127.0.0.1/255.255.255.255\nread = call,dialplan\nwrite = call\n");
          expect(rendering.files.map((f) => [f.path, f.mode])).toEqual([
            ["asterisk/extensions_voicebot.conf", tokens ? 0o640 : 0o644], ["asterisk/manager_voicebot.conf", 0o640],
            ["asterisk/websocket_client_voicebot.conf", 0o644], ["asterisk/extensions_voicebot_websocket.conf", 0o644],
          ]);
          expect(rendering.warnings.some((w) => w.startsWith("ADMIN_TOKEN is not set"))).toBe(!tokens);
          expect(rendering.warnings.some((w) => w.startsWith("PBX_TOKEN is not set"))).toBe(false);
          if (tokens) {
            // What the dialplan carries opens only its two routes.
            const elsewhere = await fetch(`http://127.0.0.1:${server.port}/api/tickets?token=${encodeURIComponent(PBX_TOKEN)}`);
            expect(elsewhere.status).toBe(403);
            expect(await elsewhere.text()).toContain("PBX_TOKEN may only register calls");
          }
        } finally {
          await server.stop();
        }
      });
    }
  }

  test("manager.conf: the AMI user and secret from the config, least privilege, only this appliance", () => {
    const { config, tenants } = setup(1, true, { AMI_HOST: "192.0.2.5", AMI_USER: "vb-ami", AMI_SECRET: "s3cret" });
    const rendering = renderPbxConfig("asterisk", { host: HOST, config, tenants });
    expect(file(rendering, "asterisk/manager_voicebot.conf").split("\n").filter((l) => l !== "" && !l.startsWith(";")))
      .toEqual(["[vb-ami]", "secret = s3cret", "deny = 0.0.0.0/0.0.0.0", `permit = ${HOST}/255.255.255.255`, "read = call,dialplan", "write = call"]);
    expect(rendering.warnings.join("\n")).not.toContain("AMI is not configured");
    const placeholder = renderPbxConfig("asterisk", { host: HOST, config: { ...config, ami: null }, tenants });
    expect(file(placeholder, "asterisk/manager_voicebot.conf")).toContain("[voicebot]\nsecret = CHANGE-ME\n");
    expect(placeholder.warnings.join("\n")).toContain("AMI is not configured");
  });

  test("chan_websocket: websocket_client.conf dials WEBSOCKET_PORT with the token as password; each tenant's Dial passes tenant, caller and DNIS in v()", () => {
    const { config, tenants } = setup(3, true, { WEBSOCKET_HOST: "0.0.0.0", WEBSOCKET_PORT: "8099", WEBSOCKET_TOKEN: "ws-t0ken" });
    const rendering = renderPbxConfig("asterisk", { host: HOST, config, tenants });
    const client = file(rendering, "asterisk/websocket_client_voicebot.conf").split("\n").filter((l) => l !== "" && !l.startsWith(";"));
    expect(client).toEqual([
      "[voicebot]", "type = websocket_client", "connection_type = per_call_config", `uri = ws://${HOST}:8099/asterisk`, "protocols = media",
      "username = asterisk", "password = ws-t0ken", "connection_timeout = 500", "reconnect_interval = 500", "reconnect_attempts = 2", "tls_enabled = no",
    ]);
    expect(rendering.files.find((f) => f.path === "asterisk/websocket_client_voicebot.conf")?.mode).toBe(0o640);
    const contexts = parseExtensions(file(rendering, "asterisk/extensions_voicebot_websocket.conf"));
    expect([...contexts.keys()]).toEqual(["voicebot-websocket", "voicebot-websocket-acme", "voicebot-websocket-globex"]);
    for (const [context, priorities] of contexts) {
      for (const p of priorities) {
        expect(ASTERISK_APPLICATIONS.map((a) => a.name)).toContain(p.app);
        for (const f of functionsIn(p)) expect(ASTERISK_FUNCTIONS.map((a) => a.name)).toContain(f);
      }
      const dial = priorities[0]!;
      expect(dial).toMatchObject({ exten: "777", app: "Dial" });
      // As Asterisk expands it: URIENCODE(CALLERID(num)), then v()'s commas become the query's &.
      const m = /^WebSocket\/voicebot\/c\(slin16\)v\((.*)\),,g$/.exec(dial.args.replace("${URIENCODE(${CALLERID(num)})}", encodeURIComponent("+33 6 12")).replace("${URIENCODE(${EXTEN})}", "777"));
      expect(m).not.toBeNull();
      const url = new URL(`${client[3]!.slice("uri = ".length)}?${m![1]!.replaceAll(",", "&")}`);
      const tenant = context === "voicebot-websocket" ? "default" : context.slice("voicebot-websocket-".length);
      expect(parseChanWebsocketUrl(url)).toEqual({ tenantId: null, tenantParam: tenant, caller: "+33 6 12", dnis: "777", token: null });
    }
    expect(rendering.steps.join("\n")).toContain("module reload res_websocket_client");
    const open = setup(1, false, { WEBSOCKET_HOST: "127.0.0.1" });
    const warnings = renderPbxConfig("asterisk", { host: HOST, ...open }).warnings.join("\n");
    expect(warnings).toContain("WEBSOCKET_TOKEN is not set");
    expect(warnings).toContain("WEBSOCKET_HOST=127.0.0.1: the chan_websocket listener");
    expect(file(renderPbxConfig("asterisk", { host: HOST, ...open }), "asterisk/websocket_client_voicebot.conf")).not.toContain("password");
  });

  test("warns when the admin port is on loopback and the PBX is elsewhere, not when both are local", () => {
    const { config, tenants } = setup(1, false, { HTTP_HOST: "127.0.0.1" });
    expect(renderPbxConfig("asterisk", { host: HOST, config, tenants }).warnings.join("\n")).toContain("HTTP_HOST=127.0.0.1: the admin port");
    expect(renderPbxConfig("asterisk", { host: "127.0.0.1", config, tenants }).warnings.join("\n")).not.toContain("HTTP_HOST");
  });
});

const XMLLINT = Bun.which("xmllint");
const LUAC = Bun.which("luac5.4") ?? Bun.which("luac");
const LUA = Bun.which("lua5.4");
/** Debian's libxml2-utils and lua5.4 (.ci/run installs them). */
const TOOLS = XMLLINT && LUAC && LUA ? { xmllint: XMLLINT, luac: LUAC, lua: LUA } : null;

function run(cmd: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

/** FreeSWITCH's Lua API as voicebot.lua uses it; prints every call made. argv: script, domain_uuid, API reply. */
const LUA_HARNESS = `local calls, script, domain, reply = {}, arg[1], arg[2], arg[3]
local vars = { domain_uuid = domain, caller_id_number = "O'Brien \\"x\\"", destination_number = "8000", domain_name = "acme.example.com" }
session = {
  ready = function(self) return true end,
  answer = function(self) calls[#calls + 1] = "answer" end,
  get_uuid = function(self) return "${CALL}" end,
  getVariable = function(self, name) return vars[name] end,
  execute = function(self, app) calls[#calls + 1] = "execute " .. app end,
  hangup = function(self, cause) calls[#calls + 1] = "hangup " .. cause end,
}
freeswitch = {
  API = function() return { executeString = function(self, cmd) calls[#calls + 1] = "api " .. cmd; return reply end } end,
  consoleLog = function(level, text) if level == "ERR" then calls[#calls + 1] = "log " .. level end end,
}
dofile(script)
print(table.concat(calls, "\\n"))
`;

/** The set action's data, as FreeSWITCH reads it (xmllint unescapes the attribute). */
function streamAction(path: string, extension: string): string {
  return run([TOOLS?.xmllint ?? "xmllint", "--xpath", `string(//extension[@name="${extension}"]//action[@application="set"]/@data)`, path]).out.replace(/\n$/, "");
}

/** `uuid_audio_stream <uuid> start <url> <mix> <rate> <metadata>`, checked against what the module and voicebot accept. */
function checkStreamCommand(command: string, tenant: string, tokens: boolean): Record<string, string> {
  const m = /^uuid_audio_stream (\S+) start (\S+) (\S+) (\S+) (.*)$/.exec(command);
  if (!m) throw new Error(`not a uuid_audio_stream start: ${command}`);
  expect([m[1], m[3], m[4]]).toEqual([CALL, "mono", "16k"]);
  expect(m[2]).toStartWith(`ws://${HOST}:8085/stream/`);
  expect(parseStreamUrl(new URL(m[2] as string))).toEqual({ tenantId: tenant, callId: CALL, token: tokens ? STREAM_TOKEN : null, rate: 16000, mix: "mono" });
  expect(m[5]).not.toContain("'");
  return JSON.parse(m[5] as string) as Record<string, string>;
}

describe("freeswitch", () => {
  if (TOOLS === null) {
    test.skip("xmllint (Debian libxml2-utils) and lua5.4 with luac5.4 (Debian lua5.4) are missing: the rendered XML and Lua are not checked", () => {});
  }
  for (const tenantCount of TOOLS === null ? [] : [1, 3] as const) {
    for (const tokens of [true, false]) {
      test(`${tenantCount} tenant(s), tokens ${tokens ? "set" : "unset"}: well-formed XML, valid Lua, mono 16k over ws://, none of the seeds' mistakes`, () => {
        if (TOOLS === null) return;
        const { config, tenants } = setup(tenantCount, tokens, { ESL_HOST: "192.0.2.20", ESL_PASSWORD: "p<a&s>s" });
        const rendering = renderPbxConfig("freeswitch", { host: HOST, config, tenants });
        const paths = rendering.files.map((f) => f.path);
        expect(paths).toEqual(["freeswitch/voicebot_dialplan.xml", "freeswitch/voicebot.lua", "freeswitch/event_socket.conf.xml", "freeswitch/acl_voicebot.xml"]);
        for (const f of rendering.files.filter((f) => f.path.endsWith(".xml"))) {
          const path = tempFile(f.path.replace("/", "-"), f.content);
          expect(run([TOOLS.xmllint, "--noout", path])).toEqual({ code: 0, out: "" });
          expect(f.content).not.toMatch(/application="(uuid_)?audio_stream"/);
        }
        const dialplan = tempFile("dialplan.xml", file(rendering, "freeswitch/voicebot_dialplan.xml"));
        const extensions = tenantCount === 3 ? [["voicebot-acme", "acme"], ["voicebot-globex", "globex"], ["voicebot", "default"]] : [["voicebot", "default"]];
        for (const [extension, tenant] of extensions) {
          const data = streamAction(dialplan, extension as string);
          const api = /^vb_stream=\$\{(uuid_audio_stream)\((.*)\)\}$/.exec(data);
          expect(api?.[1]).toBe("uuid_audio_stream");
          const command = `uuid_audio_stream ${(api?.[2] ?? "").replaceAll("${uuid}", CALL).replace("${caller_id_number}", "0612").replace("${destination_number}", "8000").replace("${domain_name}", "acme.example.com")}`;
          expect(checkStreamCommand(command, tenant as string, tokens)).toMatchObject({ caller: "0612", dnis: "8000" });
        }
        if (tenantCount === 3) expect(file(rendering, "freeswitch/voicebot_dialplan.xml")).toContain(`expression="^(acme|acme\\.example\\.com|${FUSION_DOMAIN})$"`);

        const lua = tempFile("voicebot.lua", file(rendering, "freeswitch/voicebot.lua"));
        expect(run([TOOLS.luac, "-p", lua])).toEqual({ code: 0, out: "" });
        const harness = tempFile("harness.lua", LUA_HARNESS);
        const ok = run([TOOLS.lua, harness, lua, FUSION_DOMAIN, "+OK Success\n"]).out.trim().split("\n");
        expect(ok[0]).toBe("answer");
        expect(checkStreamCommand((ok[1] as string).replace(/^api /, ""), FUSION_DOMAIN, tokens)).toEqual({ caller: "OBrien x", dnis: "8000", domain: "acme.example.com" });
        expect(ok.at(-1)).toBe("execute park");
        const failed = run([TOOLS.lua, harness, lua, "", "-ERR Operation Failed"]).out.trim().split("\n");
        expect(failed[1]).toContain("/stream/default/");
        expect(failed.slice(2)).toEqual(["log ERR", "hangup DESTINATION_OUT_OF_ORDER"]);

        const esl = file(rendering, "freeswitch/event_socket.conf.xml");
        expect(esl).toContain(`<param name="password" value="p&lt;a&amp;s&gt;s"/>`);
        expect(esl).toContain(`<param name="apply-inbound-acl" value="voicebot"/>`);
        expect(file(rendering, "freeswitch/acl_voicebot.xml")).toContain(`<list name="voicebot" default="deny">\n  <node type="allow" cidr="${HOST}/32"/>\n  <node type="allow" cidr="127.0.0.1/32"/>\n</list>`);
        expect(rendering.files.map((f) => f.mode)).toEqual([tokens ? 0o640 : 0o644, tokens ? 0o640 : 0o644, 0o640, 0o644]);
        expect(rendering.warnings.some((w) => w.startsWith("AUDIOSTREAM_TOKEN is not set"))).toBe(!tokens);
        expect(rendering.warnings.some((w) => w.startsWith("FusionPBX"))).toBe(false);
      });
    }
  }

  test("warnings: no ESL, the module build each playback mode needs, tenants without a FusionPBX domain uuid", () => {
    const { config, tenants } = setup(1, true);
    const plain = renderPbxConfig("freeswitch", { host: HOST, config, tenants }).warnings.join("\n");
    expect(plain).toContain("ESL is not configured");
    expect(plain).toContain("AUDIOSTREAM_PLAYBACK=file: for amigniter's community mod_audio_stream");
    const stream = renderPbxConfig("freeswitch", { host: HOST, config: { ...config, audiostreamPlayback: "stream", audiostreamMix: "stereo" }, tenants }).warnings.join("\n");
    expect(stream).toContain("needs the voxcom-us fork of mod_audio_stream or amigniter's commercial build");
    expect(stream).toContain("AUDIOSTREAM_MIX=stereo does not apply");
    const named = setup(3, true);
    const globexOnly: Tenants = { ...named.tenants, all: named.tenants.all.filter((t) => t.id !== "acme") };
    expect(renderPbxConfig("freeswitch", { host: HOST, config: named.config, tenants: globexOnly }).warnings.join("\n")).toContain("add each FusionPBX domain's uuid");
  });

  test("3cx: the checklist, with the FreeSWITCH files for the public context", () => {
    const { config, tenants } = setup(1, true, { ESL_HOST: "192.0.2.20" });
    const rendering = renderPbxConfig("3cx", { host: HOST, config, tenants });
    expect(rendering.files.map((f) => f.path)).toEqual(["3cx/checklist.md", "freeswitch/voicebot_dialplan.xml", "freeswitch/event_socket.conf.xml", "freeswitch/acl_voicebot.xml"]);
    const checklist = file(rendering, "3cx/checklist.md");
    for (const needle of ["IP-based", "G.711 A-law", "DID → 8000", "<3CX IP>/32", "RTP", "Test call", `ws://${HOST}:8085`]) expect(checklist).toContain(needle);
    expect(rendering.steps.join("\n")).toContain("dialplan/public/00_voicebot.xml");
  });
});

describe("values the PBX configuration cannot hold are refused", () => {
  const { config, tenants } = setup(1, true, { AMI_HOST: "192.0.2.5", AMI_USER: "vb", AMI_SECRET: "s", ESL_HOST: "192.0.2.20" });
  const refused = (kind: PbxKind, changes: Partial<Config>, message: string, host = HOST, t: Tenants = tenants): void => {
    let error: unknown;
    try {
      renderPbxConfig(kind, { host, config: { ...config, ...changes }, tenants: t });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PbxConfigError);
    expect((error as Error).message).toContain(message);
  };

  test("without PBX_TOKEN the dialplan falls back to ADMIN_TOKEN, with a warning saying what to set", () => {
    const { config: adminOnly, tenants: one } = setup(1, false, { ADMIN_TOKEN });
    const rendering = renderPbxConfig("asterisk", { host: HOST, config: adminOnly, tenants: one });
    expect(file(rendering, "asterisk/extensions_voicebot.conf")).toContain("?token=adm%3Ain%2Ft%25k%26%3D");
    expect(rendering.warnings.find((w) => w.startsWith("PBX_TOKEN is not set"))).toContain("`dialplan show` prints");
  });

  test("hosts other than an IPv4 address, fixed ports", () => {
    refused("asterisk", {}, `host "::1" is not an IPv4 address`, "::1");
    refused("freeswitch", {}, `host "voicebot.example" is not an IPv4 address`, "voicebot.example");
    refused("asterisk", { http: { host: "0.0.0.0", port: 0 } }, "HTTP_PORT=0: the PBX needs a fixed port");
  });

  test("tokens and secrets with line breaks, spaces or quotes, never echoing them", () => {
    refused("asterisk", { pbxToken: "abc\ndef" }, "PBX_TOKEN cannot go into the PBX configuration: it contains a line break at position 4");
    refused("asterisk", { pbxToken: null, adminToken: "abc\ndef" }, "ADMIN_TOKEN cannot go into the PBX configuration: it contains a line break at position 4");
    refused("freeswitch", { audiostreamToken: "it's" }, "AUDIOSTREAM_TOKEN cannot go into the PBX configuration: it contains a single quote at position 3");
    refused("3cx", { audiostreamToken: "a\"b" }, "contains a double quote");
    refused("asterisk", { ami: { host: "h", port: 5038, username: "vb", secret: "x;y" } }, "AMI_SECRET cannot go into the PBX configuration: it contains a semicolon");
    refused("asterisk", { ami: { host: "h", port: 5038, username: "v b", secret: "x" } }, `AMI_USER "v b" cannot name a manager.conf section`);
    refused("freeswitch", { esl: { host: "h", port: 8021, password: "a b" } }, "ESL_PASSWORD cannot go into the PBX configuration: it contains a space");
    try {
      renderPbxConfig("asterisk", { host: HOST, config: { ...config, pbxToken: "top secret" }, tenants });
    } catch (err) {
      expect((err as Error).message).not.toContain("top secret");
    }
  });

  test("tenant ids a dialplan cannot hold", () => {
    const tenant = (id: string, aliases: string[] = []): Tenants => ({ ...tenants, all: [tenants.default, { ...tenants.default, id, aliases }] });
    refused("freeswitch", {}, `tenant "a b": its id cannot go into a stream URL path`, HOST, tenant("a b"));
    refused("freeswitch", {}, `tenant "acme": its alias "x/y" cannot go into`, HOST, tenant("acme", ["x/y"]));
    refused("asterisk", {}, "use 1 to 64 of A-Z a-z 0-9 . _ -", HOST, tenant("a".repeat(65)));
    expect(() => renderPbxConfig("freeswitch", { host: HOST, config, tenants: tenant("a".repeat(65)) })).not.toThrow();
  });
});

describe("voicebot pbx-config", () => {
  const cli = (args: string[]): { code: number; stdout: string; stderr: string } => {
    const p = Bun.spawnSync([process.execPath, join(REPO, "src/main.ts"), "pbx-config", ...args], { cwd: root, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root }, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  };
  const env = envFile({ AUDIOSTREAM_HOST: "0.0.0.0", AUDIOSTREAM_TOKEN: STREAM_TOKEN, ESL_HOST: "192.0.2.20", ESL_PASSWORD: "pw", PUBLIC_HOST: HOST, TENANTS_FILE: tempFile("tenants.toml", TENANTS_TOML) });

  test("--out writes the files with their modes and prints the steps", () => {
    const out = join(root, "out");
    const r = cli(["freeswitch", "--out", out, "--config", env]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Wrote 4 files under ${out}:\n  freeswitch/voicebot_dialplan.xml (0640)\n`);
    expect(r.stdout).toContain("1. Build and load mod_audio_stream");
    expect(r.stderr).toContain("warning: AUDIOSTREAM_PLAYBACK=file");
    for (const [path, mode] of [["freeswitch/voicebot_dialplan.xml", 0o640], ["freeswitch/voicebot.lua", 0o640], ["freeswitch/event_socket.conf.xml", 0o640], ["freeswitch/acl_voicebot.xml", 0o644]] as const) {
      expect(existsSync(join(out, path))).toBe(true);
      expect(statSync(join(out, path)).mode & 0o777).toBe(mode);
    }
    expect(readFileSync(join(out, "freeswitch/voicebot_dialplan.xml"), "utf8")).toContain(`ws://${HOST}:8085/stream/acme/\${uuid}`);
  });

  test("without --out prints each file under a header; --json gives files, steps, warnings", () => {
    const printed = cli(["asterisk", "--config", env, "--host", "198.51.100.7"]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toStartWith("# ---- asterisk/extensions_voicebot.conf\n");
    expect(printed.stdout).toContain("AudioSocket(${VB_UUID},198.51.100.7:9090)");
    expect(printed.stdout).toContain("# ---- steps\n1. ");
    const json = JSON.parse(cli(["3cx", "--config", env, "--json"]).stdout) as PbxRendering;
    expect(Object.keys(json)).toEqual(["files", "steps", "warnings"]);
    expect(json.files[0]?.path).toBe("3cx/checklist.md");
  });

  test("bad words and bad values: one line, status 2", () => {
    expect(cli(["pbx", "--config", env])).toMatchObject({ code: 2, stderr: `voicebot pbx-config: unknown PBX kind "pbx": asterisk, freeswitch, 3cx (see --help)\n` });
    const badHost = cli(["asterisk", "--config", env, "--host", "pbx.example"]);
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toStartWith(`voicebot pbx-config: host "pbx.example" is not an IPv4 address`);
  });
});
