/**
 * pbx-config freeswitch for several appliances: the XML dialplan (xmllint) runs voicebot.lua, and
 * the Lua (lua5.4, against FreeSWITCH's Lua API as the script uses it) starts mod_audio_stream
 * towards one appliance after the other until the module's connect event for this call, moving on
 * on its error event (503 from a full appliance, connection refused) or when none comes in time.
 */
import { describe, expect, test } from "bun:test";
import { renderPbxConfig } from "../../src/install/pbx-render.ts";
import { parseStreamUrl } from "../../src/transports/audiostream-url.ts";
import { CALL, HOST, STREAM_TOKEN, file, freeswitchTools, pbxFiles, run } from "../support/pbx-config-files.ts";
import { requireTool } from "../support/system-tools.ts";

const { tempFile, setup } = pbxFiles();
const TOOLS = freeswitchTools();

/**
 * FreeSWITCH's Lua API as voicebot.lua uses it. argv: script, then each call's outcomes, calls
 * separated by ";", one outcome per start: connected | error | silent (no event) — each preceded
 * by another call's event, which the script must pass over. Globals live across calls. Prints
 * every call made, a "--" line after each call.
 */
const LUA_HARNESS = `local script, plan = arg[1], arg[2]
local out, globals, now = {}, {}, 0
local function record(s) out[#out + 1] = s end
for call in string.gmatch(plan, "[^;]+") do
  local outcomes, queue = {}, {}
  for o in string.gmatch(call, "[^,]+") do outcomes[#outcomes + 1] = o end
  local starts = 0
  local function event(uuid, subclass)
    return { getHeader = function(self, name) if name == "Unique-ID" then return uuid elseif name == "Event-Subclass" then return subclass end end }
  end
  session = {
    ready = function(self) return true end,
    answer = function(self) record("answer") end,
    get_uuid = function(self) return "${CALL}" end,
    getVariable = function(self, name) return ({ caller_id_number = "0612", destination_number = "8000", domain_name = "acme.example.com" })[name] end,
    execute = function(self, app, data) record("execute " .. app .. (data and (" " .. data) or "")) end,
    hangup = function(self, cause) record("hangup " .. cause) end,
  }
  argv = { "acme" }
  freeswitch = {
    API = function() return {
      executeString = function(self, cmd)
        record("api " .. cmd)
        if string.find(cmd, " start ", 1, true) then
          starts = starts + 1
          queue[#queue + 1] = event("another-call", "mod_audio_stream::connect")
          local o = outcomes[starts]
          if o == "connected" then queue[#queue + 1] = event("${CALL}", "mod_audio_stream::connect")
          elseif o == "error" then queue[#queue + 1] = event("${CALL}", "mod_audio_stream::error") end
        end
        return "+OK Success\\n"
      end,
      getTime = function(self) now = now + 100; return tostring(now) end,
    } end,
    EventConsumer = function() return {
      bind = function(self, name, subclass) record("bind " .. name .. " " .. subclass) end,
      cleanup = function(self) record("unbind") end,
      pop = function(self, block, timeout)
        if timeout <= 0 then error("pop with no time left") end
        return table.remove(queue, 1)
      end,
    } end,
    getGlobalVariable = function(name) return globals[name] end,
    setGlobalVariable = function(name, value) globals[name] = value end,
    consoleLog = function(level, text) if level ~= "INFO" then record("log " .. level) end end,
  }
  dofile(script)
  record("--")
end
print(table.concat(out, "\\n"))
`;

function render(order: "in-turn" | "round-robin"): { dialplan: string; lua: string } {
  const { config, tenants } = setup(3, true);
  const rendering = renderPbxConfig("freeswitch", {
    host: HOST, config, tenants, order,
    nodes: [{ host: "192.0.2.11", port: null }, { host: "192.0.2.12", port: 8185 }, { host: "vb3.example.net", port: null }],
  });
  expect(file(rendering, "freeswitch/acl_voicebot.xml")).toContain(`<node type="allow" cidr="192.0.2.11/32"/>\n  <node type="allow" cidr="192.0.2.12/32"/>\n  <node type="allow" cidr="${HOST}/32"/>\n  <node type="allow" cidr="127.0.0.1/32"/>`);
  expect(rendering.warnings.some((w) => w.includes("vb3.example.net:8085"))).toBe(true);
  expect(rendering.files.find((f) => f.path === "freeswitch/apply-on-pbx.sh")?.content).toContain("$FS_SCRIPTS/voicebot.lua");
  return { dialplan: tempFile("voicebot_dialplan.xml", file(rendering, "freeswitch/voicebot_dialplan.xml")), lua: tempFile("voicebot.lua", file(rendering, "freeswitch/voicebot.lua")) };
}

/** Each call's lines, the stream URLs it tried reduced to their host:port. */
function calls(lua: string, plan: string): string[][] {
  const harness = tempFile("harness.lua", LUA_HARNESS);
  const result = run([TOOLS?.lua ?? "lua", harness, lua, plan]);
  expect(result.code).toBe(0);
  const out: string[][] = [[]];
  for (const line of result.out.trim().split("\n")) {
    if (line === "--") out.push([]);
    else if (line.startsWith("api uuid_audio_stream") && line.includes(" start ")) {
      const m = /^api uuid_audio_stream (\S+) start (\S+) mono 16k (\{.*\})$/.exec(line);
      if (m === null) throw new Error(`not a start: ${line}`);
      const url = new URL(m[2] as string);
      expect(parseStreamUrl(url)).toEqual({ tenantId: "acme", callId: CALL, token: STREAM_TOKEN, rate: 16000, mix: "mono" });
      expect(JSON.parse(m[3] as string)).toEqual({ caller: "0612", dnis: "8000", domain: "acme.example.com" });
      out.at(-1)!.push(`start ${url.host}`);
    } else out.at(-1)!.push(line.replace(` ${CALL}`, ""));
  }
  return out.slice(0, -1);
}

describe("freeswitch, several appliances", () => {
  if (TOOLS === null) {
    test("xmllint and lua5.4 are installed, to check the rendered XML and Lua", () => {
      for (const tool of ["xmllint", "luac", "lua"] as const) requireTool(tool);
    });
    return;
  }

  test("the XML runs voicebot.lua with each extension's tenant; both files are valid", () => {
    const { dialplan, lua } = render("in-turn");
    expect(run([TOOLS.xmllint, "--noout", dialplan])).toEqual({ code: 0, out: "" });
    expect(run([TOOLS.luac, "-p", lua])).toEqual({ code: 0, out: "" });
    const actions = (extension: string): string =>
      run([TOOLS.xmllint, "--xpath", `//extension[@name="${extension}"]//action`, dialplan]).out.trim();
    expect(actions("voicebot")).toBe('<action application="answer"/>\n<action application="lua" data="voicebot.lua default"/>');
    expect(actions("voicebot-acme")).toContain('data="voicebot.lua acme"');
  });

  test("in turn: an error event or no event in time moves the call on; the connect event parks it; none → busy sound", () => {
    const { lua } = render("in-turn");
    const [moved, none] = calls(lua, "error,silent,connected;error,error,error");
    expect(moved).toEqual([
      "answer", "bind CUSTOM mod_audio_stream::connect", "bind CUSTOM mod_audio_stream::error",
      "start 192.0.2.11:8085", "api uuid_audio_stream stop", "log WARNING",
      "start 192.0.2.12:8185", "api uuid_audio_stream stop", "log WARNING",
      "start vb3.example.net:8085", "unbind", "execute park",
    ]);
    expect(none!.filter((l) => l.startsWith("start")).length).toBe(3);
    expect(none!.slice(-5)).toEqual([
      "unbind", "log WARNING", "execute playback tone_stream://%(274,0,913.8);%(274,0,1370.6);%(380,0,1776.7)", "execute playback ivr/ivr-please_try_again.wav", "hangup NORMAL_TEMPORARY_FAILURE",
    ]);
  });

  test("round-robin: each call starts one appliance further and wraps", () => {
    const { lua } = render("round-robin");
    const firsts = calls(lua, "connected;connected;connected;connected").map((c) => c.find((l) => l.startsWith("start")));
    expect(firsts).toEqual(["start 192.0.2.11:8085", "start 192.0.2.12:8185", "start vb3.example.net:8085", "start 192.0.2.11:8085"]);
  });
});
