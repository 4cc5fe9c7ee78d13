/**
 * The FreeSWITCH side of `voicebot pbx-config` (kinds freeswitch and 3cx: 3CX reaches voicebot
 * through FreeSWITCH). pbx-render.ts has already checked and escaped every value it hands over.
 */
import checklistTemplate from "../../freeswitch/3cx-checklist.md.tmpl" with { type: "text" };
import aclTemplate from "../../freeswitch/acl.conf.xml.tmpl" with { type: "text" };
import eventSocketTemplate from "../../freeswitch/event_socket.conf.xml.tmpl" with { type: "text" };
import luaTemplate from "../../freeswitch/voicebot.lua.tmpl" with { type: "text" };
import dialplanTemplate from "../../freeswitch/voicebot-dialplan.xml.tmpl" with { type: "text" };
import nodesLuaTemplate from "../../freeswitch/voicebot-nodes.lua.tmpl" with { type: "text" };
import nodesDialplanTemplate from "../../freeswitch/voicebot-nodes-dialplan.xml.tmpl" with { type: "text" };
import type { PbxParts, RenderedFile, TemplateFill } from "./pbx-render.ts";

export interface FreeswitchValues {
  /** This appliance's IPv4 address. */
  host: string;
  /** AUDIOSTREAM_PORT. */
  port: number;
  rate: number;
  /** The rate as uuid_audio_stream takes it: 8k, 16k, or the number. */
  moduleRate: string;
  /** `&token=…` (percent-encoded), or "" when AUDIOSTREAM_TOKEN is not set. */
  tokenQuery: string;
  /** `?rate=…&mix=mono[&token=…]`, escaped for an XML attribute. */
  streamQueryXml: string;
  defaultTenant: string;
  /** Every tenant but the default one, with the ids and aliases a call's domain_name may match. */
  domainTenants: { id: string; keys: string[] }[];
  eslConfigured: boolean;
  eslPort: number;
  /** Escaped for an XML attribute. */
  eslPassword: string;
  eslListenIp: string;
  warnings: string[];
  /** The appliances calls are spread over (`host:port` of each one's mod_audio_stream listener); empty = this one only. */
  nodes: string[];
  roundRobin: boolean;
}

/** The header line of the several-appliances files: which ones, in what order. */
function fleetText(v: FreeswitchValues): { nodeList: string; orderText: string } {
  return {
    nodeList: v.nodes.join(", "),
    orderText: v.roundRobin ? "round-robin: each call starts one appliance further and tries them all" : "tried in this order for every call",
  };
}

function renderNodes(v: FreeswitchValues, fill: TemplateFill): { dialplan: string; lua: string } {
  const fleet = fleetText(v);
  const domainTenants = v.domainTenants.map((t) => ({
    extension: `voicebot-${t.id}`, tenant: t.id, domainExpression: `^(${t.keys.map((k) => k.replace(/\./g, "\\.")).join("|")})$`,
  }));
  return {
    dialplan: fill("voicebot-nodes-dialplan.xml.tmpl", nodesDialplanTemplate, { ...fleet, defaultTenant: v.defaultTenant }, { domainTenants }),
    lua: fill("voicebot-nodes.lua.tmpl", nodesLuaTemplate, {
      ...fleet, roundRobin: v.roundRobin ? "true" : "false", rate: String(v.rate), moduleRate: v.moduleRate, tokenQuery: v.tokenQuery, defaultTenant: v.defaultTenant,
    }, { nodes: v.nodes.map((address) => ({ address })) }),
  };
}

const SECRET = 0o640;
const PLAIN = 0o644;
const DIALPLAN_PATH = "freeswitch/voicebot_dialplan.xml";
const UUID_SHAPED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function renderFreeswitch(kind: "freeswitch" | "3cx", v: FreeswitchValues, fill: TemplateFill): PbxParts {
  const streamBase = `ws://${v.host}:${v.port}/stream/`;
  const domainTenants = v.domainTenants.map((t) => ({
    extension: `voicebot-${t.id}`,
    tenant: t.id,
    domainExpression: `^(${t.keys.map((k) => k.replace(/\./g, "\\.")).join("|")})$`,
    streamUrl: `${streamBase}${t.id}/\${uuid}${v.streamQueryXml}`,
  }));
  const fleet = v.nodes.length === 0 ? null : renderNodes(v, fill);
  const dialplan = fleet?.dialplan ?? fill("voicebot-dialplan.xml.tmpl", dialplanTemplate, {
    host: v.host,
    moduleRate: v.moduleRate,
    defaultStreamUrl: `${streamBase}${v.defaultTenant}/\${uuid}${v.streamQueryXml}`,
  }, { domainTenants });
  // Every appliance opens its own event socket connection (host names cannot go into an ACL), and this one: apply-on-pbx.sh checks it.
  const eslPeers = [...v.nodes.map((n) => n.slice(0, n.lastIndexOf(":"))).filter((h) => /^[\d.]+$/.test(h)), v.host];
  const cidrs = [...new Set([...eslPeers.map((h) => `${h}/32`), "127.0.0.1/32"])].map((cidr) => ({ cidr }));
  const tokenMode = v.tokenQuery === "" ? PLAIN : SECRET;
  const shared: RenderedFile[] = [
    { path: DIALPLAN_PATH, content: dialplan, mode: tokenMode },
    {
      path: "freeswitch/event_socket.conf.xml",
      content: fill("event_socket.conf.xml.tmpl", eventSocketTemplate, {
        host: v.host, listenIp: v.eslListenIp, port: String(v.eslPort), password: v.eslPassword,
      }),
      mode: SECRET,
    },
    { path: "freeswitch/acl_voicebot.xml", content: fill("acl.conf.xml.tmpl", aclTemplate, {}, { cidrs }), mode: PLAIN },
  ];
  const eslSteps = [
    "Paste freeswitch/acl_voicebot.xml inside <network-lists> in /etc/freeswitch/autoload_configs/acl.conf.xml, then `fs_cli -x reloadacl`.",
    "Replace /etc/freeswitch/autoload_configs/event_socket.conf.xml with freeswitch/event_socket.conf.xml (mode 0640: it holds the "
      + `password), listening on ${v.eslListenIp}:${v.eslPort} for the "voicebot" ACL only, then \`systemctl restart freeswitch\` `
      + "(reloading mod_event_socket from fs_cli cuts fs_cli off). Anything else using the event socket (FusionPBX's "
      + "event socket password setting, scripts) must use the same password.",
  ];
  const warnings = [...v.warnings];
  const named = v.nodes.filter((n) => !/^[\d.]+:\d+$/.test(n));
  if (named.length > 0) {
    warnings.push(`FreeSWITCH's ACL takes addresses: add a node for ${named.join(", ")} to acl_voicebot.xml by hand (their event socket connections are refused otherwise)`);
  }
  const fleetSteps = fleet === null ? [] : [
    `Several appliances (${v.nodes.join(", ")}): the dialplan runs freeswitch/voicebot.lua, which tries them in turn; copy it to `
      + "/usr/share/freeswitch/scripts/voicebot.lua (the apply script does) and check `fs_cli -x 'module_exists mod_lua'` answers true. "
      + "Each appliance needs the same AUDIOSTREAM_TOKEN, and WHEN_FULL=refuse on all but the last so a full one passes the call on.",
  ];

  if (kind === "3cx") {
    const checklist = fill("3cx-checklist.md.tmpl", checklistTemplate, {
      host: v.host, audiostreamPort: String(v.port), eslPort: String(v.eslPort),
    });
    const lua3cx: RenderedFile[] = fleet === null ? [] : [{ path: "freeswitch/voicebot.lua", content: fleet.lua, mode: tokenMode }];
    return {
      files: [{ path: "3cx/checklist.md", content: checklist, mode: PLAIN }, ...shared.slice(0, 1), ...lua3cx, ...shared.slice(1)],
      steps: [
        moduleStep(),
        "Follow 3cx/checklist.md: the SIP trunk from 3CX to FreeSWITCH, codecs, the inbound rule DID → 8000, FreeSWITCH's ACL "
          + "for the 3CX IP, the RTP ports, then a test call.",
        `Copy ${DIALPLAN_PATH} to /etc/freeswitch/dialplan/public/00_voicebot.xml (calls from the 3CX trunk arrive in the public `
          + "context), then `fs_cli -x reloadxml`.",
        ...fleetSteps,
        ...eslSteps,
      ],
      warnings,
    };
  }

  const lua = fleet?.lua ?? fill("voicebot.lua.tmpl", luaTemplate, {
    host: v.host, port: String(v.port), rate: String(v.rate), moduleRate: v.moduleRate,
    tokenQuery: v.tokenQuery, defaultTenant: v.defaultTenant,
  });
  const byDomain = v.domainTenants.length === 0
    ? "every call goes to the default tenant"
    : `the call's domain_name picks the tenant: ${v.domainTenants.map((t) => `${t.id} for ${t.keys.join(", ")}`).join("; ")}; the default tenant for any other`;
  if (v.domainTenants.length > 0 && !v.domainTenants.some((t) => t.keys.some((k) => UUID_SHAPED.test(k)))) {
    warnings.push("FusionPBX: voicebot.lua names the tenant by the domain's uuid, and no tenant lists one as its id or an alias: "
      + "add each FusionPBX domain's uuid to its tenant's aliases in tenants.toml, or its calls go to the default tenant");
  }
  return {
    files: [...shared.slice(0, 1), { path: "freeswitch/voicebot.lua", content: lua, mode: tokenMode }, ...shared.slice(1)],
    steps: [
      moduleStep(),
      `Plain FreeSWITCH: copy ${DIALPLAN_PATH} to /etc/freeswitch/dialplan/default/00_voicebot.xml (dialplan/public/ for calls `
        + `that come from a trunk), then \`fs_cli -x reloadxml\`. Extension 8000: ${byDomain}.`,
      "FusionPBX: instead of the XML file, copy freeswitch/voicebot.lua to /usr/share/freeswitch/scripts/voicebot.lua and, in "
        + "Dialplan › Dialplan Manager, give each domain a dialplan with the condition destination_number ^8000$ and the action "
        + "lua voicebot.lua. The script names the tenant by the domain's uuid (list it in the tenant's aliases).",
      ...fleetSteps,
      ...eslSteps,
      "Call 8000: `fs_cli -x 'show channels'` shows it parked, the FreeSWITCH log says `uuid_audio_stream answered [+OK Success]` "
        + "(or `streaming <uuid>` from the Lua script), and `voicebot calls` lists it.",
    ],
    warnings,
  };
}

function moduleStep(): string {
  return "Build and load mod_audio_stream in FreeSWITCH (the build AUDIOSTREAM_PLAYBACK expects, see the warnings): "
    + "`fs_cli -x 'module_exists mod_audio_stream'` answers true, and modules.conf.xml loads it at start.";
}
