import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startAdminServer } from "../../src/admin/server.ts";
import { CallDirectory, formatNextStep } from "../../src/call/call-directory.ts";
import type { Config } from "../../src/config/schema.ts";
import type { Tenants } from "../../src/config/tenant.ts";
import { detectHostAddress } from "../../src/install/host-address.ts";
import { fillTemplate, PbxConfigError, renderPbxConfig, type PbxKind, type PbxRendering } from "../../src/install/pbx-render.ts";
import { rootLogger } from "../../src/log.ts";
import { parseChanWebsocketUrl } from "../../src/transports/chan-websocket.ts";
import { REPO, HOST, CALL, ADMIN_TOKEN, PBX_TOKEN, STREAM_TOKEN, TENANTS_TOML, file, pbxFiles } from "../support/pbx-config-files.ts";
import { ASTERISK_APPLICATIONS, ASTERISK_FUNCTIONS, CURLOPT_KEYS, functionsIn, parseExtensions, type Priority } from "../support/asterisk-apps.ts";

const { root, tempFile, envFile, setup } = pbxFiles();

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
          expect(file(rendering, "asterisk/manager_voicebot.conf")).toContain("permit = 127.0.0.1/255.255.255.255\nread = call,dialplan\nwrite = call,originate\n");
          expect(rendering.files.map((f) => [f.path, f.mode])).toEqual([
            ["asterisk/extensions_voicebot.conf", tokens ? 0o640 : 0o644], ["asterisk/manager_voicebot.conf", 0o640],
            ["asterisk/websocket_client_voicebot.conf", 0o644], ["asterisk/extensions_voicebot_websocket.conf", tokens ? 0o640 : 0o644],
            ["asterisk/apply-on-pbx.sh", 0o700],
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
      .toEqual(["[vb-ami]", "secret = s3cret", "deny = 0.0.0.0/0.0.0.0", `permit = ${HOST}/255.255.255.255`, "read = call,dialplan", "write = call,originate"]);
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
      expect(priorities.map((p) => p.app)).toEqual(["Set", "Set", "Set", "Dial", "Set", "GotoIf", "Hangup", "Goto"]);
      const dial = priorities[3]!;
      // As Asterisk expands it: VB_UUID, URIENCODE(CALLERID(num)), then v()'s commas become the query's &.
      const m = /^WebSocket\/voicebot\/c\(slin16\)v\((.*)\),,g$/.exec(dial.args.replace("${VB_UUID}", CALL).replace("${URIENCODE(${CALLERID(num)})}", encodeURIComponent("+33 6 12")).replace("${URIENCODE(${EXTEN})}", "777"));
      expect(m).not.toBeNull();
      const url = new URL(`${client[3]!.slice("uri = ".length)}?${m![1]!.replaceAll(",", "&")}`);
      const tenant = context === "voicebot-websocket" ? "default" : context.slice("voicebot-websocket-".length);
      expect(parseChanWebsocketUrl(url)).toEqual({ tenantId: null, tenantParam: tenant, caller: "+33 6 12", dnis: "777", uuid: CALL, token: null });
      // After Dial() the call asks /next under the same VB_UUID, as the AudioSocket dialplan does.
      expect(priorities[4]!.args).toContain("/api/calls/${VB_UUID}/next");
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
    expect(r.stdout).toContain(`Wrote 5 files under ${out}:\n  freeswitch/voicebot_dialplan.xml (0640)\n`);
    expect(r.stdout).toContain("1. Copy freeswitch/apply-on-pbx.sh to the PBX host and run it as root");
    expect(r.stdout).toContain("2. Build and load mod_audio_stream");
    // ESL is configured: file playback (the default) needs nothing more, and nothing is worth a warning.
    expect(r.stderr).toBe("");
    for (const [path, mode] of [["freeswitch/voicebot_dialplan.xml", 0o640], ["freeswitch/voicebot.lua", 0o640], ["freeswitch/event_socket.conf.xml", 0o640], ["freeswitch/acl_voicebot.xml", 0o644], ["freeswitch/apply-on-pbx.sh", 0o700]] as const) {
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
    expect(Object.keys(json)).toEqual(["files", "steps", "warnings", "script"]);
    expect(json.script).toBe("freeswitch/apply-on-pbx.sh");
    expect(json.files[0]?.path).toBe("3cx/checklist.md");
  });

  test("bad words and bad values: one line, status 2", () => {
    expect(cli(["pbx", "--config", env])).toMatchObject({ code: 2, stderr: `voicebot pbx-config: unknown PBX kind "pbx": asterisk, freeswitch, 3cx (see --help)\n` });
    const badHost = cli(["asterisk", "--config", env, "--host", "pbx.example"]);
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toStartWith(`voicebot pbx-config: host "pbx.example" is not an IPv4 address`);
  });
});
