/** pbx-config freeswitch and 3cx: the XML dialplan checked by xmllint, the FusionPBX Lua run by lua5.4. */
import { describe, expect, test } from "bun:test";
import type { Tenants } from "../../src/config/tenant.ts";
import { renderPbxConfig } from "../../src/install/pbx-render.ts";
import { parseStreamUrl } from "../../src/transports/audiostream-url.ts";
import { HOST, CALL, FUSION_DOMAIN, STREAM_TOKEN, file, freeswitchTools, pbxFiles, run } from "../support/pbx-config-files.ts";
import { requireTool } from "../support/system-tools.ts";

const { tempFile, setup } = pbxFiles();

const TOOLS = freeswitchTools();

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
    test("xmllint and lua5.4 are installed, to check the rendered XML and Lua", () => {
      for (const tool of ["xmllint", "luac", "lua"] as const) requireTool(tool);
    });
  }
  for (const tenantCount of TOOLS === null ? [] : [1, 3] as const) {
    for (const tokens of [true, false]) {
      test(`${tenantCount} tenant(s), tokens ${tokens ? "set" : "unset"}: well-formed XML, valid Lua, mono 16k over ws://, none of the seeds' mistakes`, () => {
        if (TOOLS === null) return;
        const { config, tenants } = setup(tenantCount, tokens, { ESL_HOST: "192.0.2.20", ESL_PASSWORD: "p<a&s>s" });
        const rendering = renderPbxConfig("freeswitch", { host: HOST, config, tenants });
        const paths = rendering.files.map((f) => f.path);
        expect(paths).toEqual(["freeswitch/voicebot_dialplan.xml", "freeswitch/voicebot.lua", "freeswitch/event_socket.conf.xml", "freeswitch/acl_voicebot.xml", "freeswitch/apply-on-pbx.sh"]);
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
        expect(rendering.files.map((f) => f.mode)).toEqual([tokens ? 0o640 : 0o644, tokens ? 0o640 : 0o644, 0o640, 0o644, 0o700]);
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
    expect(rendering.files.map((f) => f.path)).toEqual(["3cx/checklist.md", "freeswitch/voicebot_dialplan.xml", "freeswitch/event_socket.conf.xml", "freeswitch/acl_voicebot.xml", "freeswitch/apply-on-pbx.sh"]);
    const checklist = file(rendering, "3cx/checklist.md");
    for (const needle of ["IP-based", "G.711 A-law", "DID → 8000", "<3CX IP>/32", "RTP", "Test call", `ws://${HOST}:8085`]) expect(checklist).toContain(needle);
    expect(rendering.steps.join("\n")).toContain("dialplan/public/00_voicebot.xml");
  });
});
