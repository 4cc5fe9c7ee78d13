/**
 * `voicebot pbx-config`: the PBX configuration voicebot ships (the templates in asterisk/ and
 * freeswitch/ at the repo root, embedded in the binary), filled in with this appliance's address,
 * ports, tokens and tenants. Every value is checked against the syntax it lands in (dialplan
 * arguments, URLs, XML attributes, Lua strings) and refused when it cannot be held there, so what
 * is rendered is correct by construction.
 */
import { PBX_CHECK_PATH } from "../admin/pbx-check-route.ts";
import extensionsTemplate from "../../asterisk/extensions.conf.tmpl" with { type: "text" };
import managerTemplate from "../../asterisk/manager.conf.tmpl" with { type: "text" };
import { formatPbxNode } from "../config/pbx-nodes.ts";
import type { Config, HostPort, PbxNode, PbxNodeOrder } from "../config/schema.ts";
import type { Tenant, Tenants } from "../config/tenant.ts";
import { applyScriptStep, asteriskApplyScript, freeswitchApplyScript } from "./pbx-apply-script.ts";
import { renderFreeswitch, type FreeswitchValues } from "./pbx-render-freeswitch.ts";
import { renderNodesDialplan } from "./pbx-render-nodes.ts";
import { renderWebsocket } from "./pbx-render-websocket.ts";

export type PbxKind = "asterisk" | "freeswitch" | "3cx";

export const PBX_KINDS: readonly PbxKind[] = ["asterisk", "freeswitch", "3cx"];

export interface PbxRenderInput {
  /** The address the PBX reaches voicebot at (PUBLIC_HOST, else detected). */
  host: string;
  config: Config;
  tenants: Tenants;
  /** The appliances the dialplan spreads calls over (--node); unset = PBX_NODES; empty = this appliance only. */
  nodes?: readonly PbxNode[];
  /** Unset = PBX_NODE_ORDER. */
  order?: PbxNodeOrder;
}

/** `path` is relative to --out, e.g. "asterisk/extensions_voicebot.conf"; files holding a secret are 0640. */
export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

export interface PbxRendering {
  files: RenderedFile[];
  /** What the admin pastes where, in order: first, running `script` on the PBX, which does it all. */
  steps: string[];
  warnings: string[];
  /** The path of the apply-on-pbx.sh among `files`: the one file the admin copies to the PBX and runs. */
  script: string;
}

/** A rendering before its apply-on-pbx.sh is added. */
export type PbxParts = Omit<PbxRendering, "script">;

/** A value the PBX configuration cannot hold; the message names it and says what is allowed. */
export class PbxConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PbxConfigError";
  }
}

/** Fills `{{name}}` placeholders and repeats `{{#block}}…{{/block}}` once per item, in one pass. */
export type TemplateFill = (name: string, template: string, values: Record<string, string>, blocks?: Record<string, readonly Record<string, string>[]>) => string;

const SECRET_MODE = 0o640;
const PLAIN_MODE = 0o644;
/** Written into files when the real secret is not configured yet; a warning says so. */
const PLACEHOLDER_SECRET = "CHANGE-ME";

const IPV4_OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);
/** What a URL query carries as is; everything else in a token is percent-encoded. */
const UNRESERVED = /^[A-Za-z0-9._~-]$/;
/** No PBX syntax survives these in a token: line ends, spaces, quotes (single quotes are stripped by FreeSWITCH). */
const TOKEN_FORBIDDEN = /[\u0000-\u0020\u007f'"`]/;
/** Asterisk config values end at a `;` (a comment) or a line end. */
const AMI_SECRET_FORBIDDEN = /[\u0000-\u001f\u007f;]/;
const AMI_USER = /^[A-Za-z0-9._-]{1,64}$/;
/** `auth <password>` is one line; `$${…}` would be expanded by FreeSWITCH's XML preprocessor. */
const ESL_PASSWORD_FORBIDDEN = /[\u0000-\u0020\u007f$]/;
/** voicebot's /api/calls takes tenant ids of at most 64 characters; Asterisk contexts hold 79. */
const ASTERISK_TENANT_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** A path segment of the stream URL (transports/audiostream-url.ts). */
const STREAM_TENANT_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function renderPbxConfig(kind: PbxKind, input: PbxRenderInput): PbxRendering {
  const host = checkHost(input.host);
  const fleet = { nodes: input.nodes ?? input.config.pbxNodes, order: input.order ?? input.config.pbxNodeOrder };
  if (kind === "asterisk") return renderAsterisk(host, input.config, input.tenants, fleet);
  const values = freeswitchValues(host, input.config, input.tenants, fleet);
  const parts = renderFreeswitch(kind, values, fillTemplate);
  return withScript(parts, freeswitchApplyScript(parts.files, {
    kind, host, checkUrl: pbxCheckUrl(host, input.config), eslConfigured: values.eslConfigured, eslPort: values.eslPort, eslPassword: input.config.esl?.password ?? PLACEHOLDER_SECRET,
  }, fillTemplate));
}

function withScript(parts: PbxParts, script: RenderedFile): PbxRendering {
  return { files: [...parts.files, script], steps: [applyScriptStep(script.path), ...parts.steps], warnings: parts.warnings, script: script.path };
}

export const fillTemplate: TemplateFill = (name, template, values, blocks = {}) => {
  const lookup = (source: Record<string, string>, key: string): string => {
    const value = source[key];
    if (value === undefined) throw new Error(`template ${name}: no value for {{${key}}}`);
    return value;
  };
  const fillValues = (text: string, source: Record<string, string>): string =>
    text.replace(/\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g, (_, key: string) => lookup(source, key));
  return template.replace(/\{\{#([A-Za-z][A-Za-z0-9]*)\}\}\n?([\s\S]*?)\{\{\/\1\}\}\n?|\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g,
    (_, block: string | undefined, body: string | undefined, key: string | undefined) => {
      if (key !== undefined) return lookup(values, key);
      const items = blocks[block as string];
      if (items === undefined) throw new Error(`template ${name}: no items for block {{#${block}}}`);
      return items.map((item) => fillValues(body as string, { ...values, ...item })).join("");
    });
};

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function checkHost(host: string): string {
  if (!IPV4.test(host)) {
    throw new PbxConfigError(`host ${JSON.stringify(host)} is not an IPv4 address: the PBX configuration needs the IPv4 address `
      + "the PBX reaches voicebot at (manager.conf's permit and FreeSWITCH's ACL take addresses, and mod_audio_stream refuses "
      + "IPv6 literals); give one with --host or PUBLIC_HOST, e.g. 192.0.2.10");
  }
  return host;
}

function checkPort(variable: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PbxConfigError(`${variable}=${port}: the PBX needs a fixed port to reach voicebot at, a whole number from 1 to 65535`);
  }
  return port;
}

const CHARACTER_NAMES: Record<string, string> = {
  "\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space", "'": "a single quote",
  "\"": "a double quote", "`": "a backquote", ";": "a semicolon", "$": "a dollar sign",
};

/** Secrets are never echoed: the message names the variable, the character and where it is. */
function refuseCharacters(variable: string, value: string, forbidden: RegExp, allowed: string): void {
  const m = forbidden.exec(value);
  if (m === null) return;
  const char = m[0];
  const what = CHARACTER_NAMES[char] ?? `the control character U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
  throw new PbxConfigError(`${variable} cannot go into the PBX configuration: it contains ${what} at position ${m.index + 1}; ${allowed}`);
}

function percentEncode(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    out += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** `?token=…` / `&token=…` for a URL the PBX requests, or "" when the token is not set. */
function tokenQuery(variable: string, token: string | null, lead: "?" | "&"): string {
  if (token === null) return "";
  refuseCharacters(variable, token, TOKEN_FORBIDDEN, "use printable characters without spaces or quotes");
  return `${lead}token=${percentEncode(token)}`;
}

/**
 * Where apply-on-pbx.sh asks for the test call through the PBX, with PBX_TOKEN (never ADMIN_TOKEN:
 * the script stays on the PBX host). null when the PBX cannot reach the admin port, or only
 * ADMIN_TOKEN would open it.
 */
function pbxCheckUrl(host: string, config: Config): string | null {
  if (isLoopback(config.http.host) && !isLoopback(host)) return null;
  if (config.pbxToken === null && config.adminToken !== null) return null;
  return `http://${host}:${checkPort("HTTP_PORT", config.http.port)}${PBX_CHECK_PATH}${tokenQuery("PBX_TOKEN", config.pbxToken, "?")}`;
}

function xmlAttribute(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function checkTenantKeys(tenants: Tenants, pattern: RegExp, longest: number, why: string): void {
  for (const tenant of tenants.all) {
    for (const key of [tenant.id, ...tenant.aliases]) {
      if (pattern.test(key) && key !== "." && key !== "..") continue;
      const what = key === tenant.id ? "id" : `alias ${JSON.stringify(key)}`;
      throw new PbxConfigError(`tenant ${JSON.stringify(tenant.id)}: its ${what} cannot go into ${why}: use 1 to ${longest} of A-Z a-z 0-9 . _ - (not "." or "..")`);
    }
  }
}

/** A PBX on another host cannot reach a listener bound to loopback. */
function reachWarning(variable: string, bind: HostPort, host: string, what: string, fix: string): string[] {
  if (!isLoopback(bind.host) || isLoopback(host)) return [];
  return [`${variable}=${bind.host}: ${what} at ${host}:${bind.port} cannot be reached from the PBX; set ${variable}=0.0.0.0 (or ${host})${fix} in voicebot.env and restart voicebot`];
}

function asteriskContext(tenants: Tenants, tenant: Tenant): string {
  return tenant === tenants.default ? "voicebot" : `voicebot-${tenant.id}`;
}

interface Fleet {
  nodes: readonly PbxNode[];
  order: PbxNodeOrder;
}

function renderAsterisk(host: string, config: Config, tenants: Tenants, fleet: Fleet): PbxRendering {
  checkTenantKeys(tenants, ASTERISK_TENANT_ID, 64, "an Asterisk context name and voicebot's /api/calls");
  const adminUrl = `http://${host}:${checkPort("HTTP_PORT", config.http.port)}`;
  const audiosocket = `${host}:${checkPort("AUDIOSOCKET_PORT", config.audiosocket.port)}`;
  const contexts = tenants.all.map((tenant) => ({ tenant: tenant.id, context: asteriskContext(tenants, tenant) }));
  // The dialplan only registers calls and asks /next: PBX_TOKEN, good for nothing else, is what it carries.
  const [tokenVariable, token] = config.pbxToken !== null ? ["PBX_TOKEN", config.pbxToken] : ["ADMIN_TOKEN", config.adminToken];
  const apiQuery = tokenQuery(tokenVariable, token, "?");
  const nodes = fleet.nodes.length === 0 ? null : {
    nodes: fleet.nodes.map((n) => ({ adminUrl: `http://${n.host}:${config.http.port}`, audiosocket: `${n.host}:${n.port ?? config.audiosocket.port}` })),
    order: fleet.order, tokenQuery: apiQuery, nodeList: fleet.nodes.map(formatPbxNode).join(", "),
  };
  const extensions = nodes === null
    ? fillTemplate("extensions.conf.tmpl", extensionsTemplate, { host, adminUrl, audiosocket, tokenQuery: apiQuery }, { tenants: contexts })
    : renderNodesDialplan({ ...nodes, contexts }, fillTemplate);
  // Every appliance hands calls off through AMI: manager.conf lets each one in (addresses only), and this one.
  const amiPeers = [...new Set([...fleet.nodes.map((n) => n.host).filter((h) => IPV4.test(h)), host])];

  const user = config.ami?.username ?? "voicebot";
  if (!AMI_USER.test(user)) {
    throw new PbxConfigError(`AMI_USER ${JSON.stringify(user)} cannot name a manager.conf section: use 1 to 64 of A-Z a-z 0-9 . _ -`);
  }
  const secret = config.ami?.secret ?? PLACEHOLDER_SECRET;
  refuseCharacters("AMI_SECRET", secret, AMI_SECRET_FORBIDDEN, "manager.conf ends a value at a semicolon or a line break");
  const manager = fillTemplate("manager.conf.tmpl", managerTemplate, {
    user, secret, from: amiPeers.length === 1 ? `this appliance, ${amiPeers[0]}` : `these appliances: ${amiPeers.join(", ")}`,
  }, { permits: amiPeers.map((address) => ({ address })) });

  const files: RenderedFile[] = [
    { path: "asterisk/extensions_voicebot.conf", content: extensions, mode: token === null ? PLAIN_MODE : SECRET_MODE },
    { path: "asterisk/manager_voicebot.conf", content: manager, mode: SECRET_MODE },
  ];
  const routes = contexts.map((c) => `${c.tenant} → ${c.context},777,1`).join("; ");
  const dialplanApi = { adminUrl, tokenQuery: apiQuery, secret: token !== null };
  const websocketFleet = nodes === null ? null : { dialplan: nodes, hosts: fleet.nodes.map((n) => n.host) };
  const websocket = renderWebsocket(host, checkPort("WEBSOCKET_PORT", config.websocket.port), config, tenants, fillTemplate, { secret: SECRET_MODE, plain: PLAIN_MODE }, dialplanApi, websocketFleet);
  files.push(...websocket.files);
  const steps = [
    "Check the PBX: Asterisk 20.14+, 21.9+, 22.4+ or 23+ (`asterisk -rx 'core show version'`; older releases have no UUID() "
      + "or hang up when voicebot ends the call), and `asterisk -rx 'module show like audiosocket'` and "
      + "`asterisk -rx 'module show like func_curl'` list app_audiosocket, res_audiosocket and func_curl as running.",
    "Copy asterisk/extensions_voicebot.conf to /etc/asterisk/extensions_voicebot.conf (owner asterisk, mode "
      + `${files[0]?.mode === SECRET_MODE ? `0640: it holds ${tokenVariable}` : "0644"}), add the line \`#include extensions_voicebot.conf\` `
      + "at the end of /etc/asterisk/extensions.conf, then `asterisk -rx 'dialplan reload'`.",
    `Send each company's calls to its context, extension 777 (e.g. a DID's Goto or an inbound route's custom destination): ${routes}. `
      + "Check with `asterisk -rx 'dialplan show 777@voicebot'`.",
    "Copy asterisk/manager_voicebot.conf to /etc/asterisk/manager_voicebot.conf (owner asterisk, mode 0640: it holds the AMI secret), "
      + "add `#include manager_voicebot.conf` at the end of /etc/asterisk/manager.conf, make sure its [general] section has "
      + `enabled = yes and a bindaddr/port voicebot reaches (AMI_PORT, default 5038), then \`asterisk -rx 'manager reload'\` and `
      + `\`asterisk -rx 'manager show user ${user}'\`.`,
    `Call 777 (or a DID routed to it): \`voicebot calls\` lists the call with its caller and tenant.`,
    ...websocket.steps,
  ];
  const warnings = [
    ...reachWarning("HTTP_HOST", config.http, host, "the admin port the dialplan's CURL() registers calls with", ` and ${tokenVariable}`),
    ...reachWarning("AUDIOSOCKET_HOST", config.audiosocket, host, "the AudioSocket listener", ""),
    ...reachWarning("WEBSOCKET_HOST", config.websocket, host, "the chan_websocket listener", ""),
    ...websocket.warnings,
  ];
  if (config.adminToken === null) {
    warnings.push(`ADMIN_TOKEN is not set: anyone who reaches ${adminUrl}/api/calls can register calls and read what comes next; `
      + "set ADMIN_TOKEN and PBX_TOKEN in voicebot.env and render again (the dialplan then sends PBX_TOKEN as ?token=)");
  } else if (config.pbxToken === null) {
    warnings.push("PBX_TOKEN is not set: the dialplan carries ADMIN_TOKEN, which `dialplan show` prints to anyone with Asterisk CLI access; "
      + "set PBX_TOKEN in voicebot.env (voicebot install generates it), restart voicebot and render again");
  }
  const named = fleet.nodes.filter((n) => !IPV4.test(n.host)).map((n) => n.host);
  if (named.length > 0) {
    warnings.push(`manager.conf's permit takes addresses: add a permit line for ${named.join(", ")} to manager_voicebot.conf by hand, or give --node its IPv4 address`);
  }
  if (config.audiosocketAllow === "") {
    warnings.push(`AUDIOSOCKET_ALLOW is empty: any host may open AudioSocket calls to ${audiosocket}; set it to the Asterisk server's address`);
  }
  if (config.ami === null) {
    warnings.push(`AMI is not configured (AMI_HOST is unset): manager_voicebot.conf has the secret ${PLACEHOLDER_SECRET}; choose a secret, `
      + `put it there and in voicebot.env as AMI_HOST=<Asterisk address>, AMI_USER=${user}, AMI_SECRET=<secret>. Until then `
      + "hand-offs use the dialplan's /next answer, which needs Asterisk 20.14+, 21.9+, 22.4+ or 23+");
  }
  const script = asteriskApplyScript(files, { host, checkUrl: pbxCheckUrl(host, config), loopback: isLoopback(host), amiUser: user, amiConfigured: config.ami !== null }, fillTemplate);
  return withScript({ files, steps, warnings }, script);
}

function freeswitchValues(host: string, config: Config, tenants: Tenants, fleet: Fleet): FreeswitchValues {
  checkTenantKeys(tenants, STREAM_TENANT_ID, 128, "a stream URL path or a dialplan condition");
  const port = checkPort("AUDIOSTREAM_PORT", config.audiostream.port);
  const rate = config.audiostreamRate;
  const token = tokenQuery("AUDIOSTREAM_TOKEN", config.audiostreamToken, "&");
  const esl = config.esl;
  const password = esl?.password ?? PLACEHOLDER_SECRET;
  refuseCharacters("ESL_PASSWORD", password, ESL_PASSWORD_FORBIDDEN, "use printable characters without spaces or $");
  // Loopback on both ends keeps the event socket off the network; otherwise the ACL does the guarding.
  const eslLoopback = (esl === null ? isLoopback(host) : isLoopback(esl.host)) && fleet.nodes.every((n) => isLoopback(n.host));
  return {
    host,
    port,
    rate,
    moduleRate: rate === 8000 ? "8k" : rate === 16000 ? "16k" : String(rate),
    tokenQuery: token,
    streamQueryXml: xmlAttribute(`?rate=${rate}&mix=mono${token}`),
    defaultTenant: tenants.default.id,
    domainTenants: tenants.all.filter((t) => t !== tenants.default).map((t) => ({ id: t.id, keys: [t.id, ...t.aliases] })),
    eslConfigured: esl !== null,
    eslPort: esl?.port ?? 8021,
    eslPassword: xmlAttribute(password),
    eslListenIp: eslLoopback ? "127.0.0.1" : "0.0.0.0",
    nodes: fleet.nodes.map((n) => `${n.host}:${n.port ?? port}`),
    roundRobin: fleet.order === "round-robin",
    warnings: [
      ...reachWarning("AUDIOSTREAM_HOST", config.audiostream, host, "the mod_audio_stream WebSocket listener", ""),
      ...modeWarnings(config, host, port),
    ],
  };
}

function modeWarnings(config: Config, host: string, port: number): string[] {
  const out: string[] = [];
  if (config.audiostreamToken === null) {
    out.push(`AUDIOSTREAM_TOKEN is not set: anyone who reaches ws://${host}:${port} can stream calls to voicebot; set it in voicebot.env and render again`);
  }
  if (config.esl === null) {
    out.push("ESL is not configured (ESL_HOST is unset): without FreeSWITCH's event socket voicebot gets no DTMF, cannot hang up, "
      + `transfer or play files (AUDIOSTREAM_PLAYBACK=file); event_socket.conf.xml has the password ${PLACEHOLDER_SECRET}: choose one, `
      + "put it there and in voicebot.env as ESL_HOST=<FreeSWITCH address>, ESL_PASSWORD=<password>");
  }
  if (config.audiostreamPlayback === "file") {
    // With ESL configured, file playback simply works: nothing to warn about.
    if (config.esl === null) out.push("AUDIOSTREAM_PLAYBACK=file: for amigniter's community mod_audio_stream, which only writes each reply to a file; "
      + "voicebot plays them through ESL (uuid_broadcast), so ESL must be configured");
  } else {
    out.push("AUDIOSTREAM_PLAYBACK=stream: needs the voxcom-us fork of mod_audio_stream or amigniter's commercial build; "
      + "the community module would play nothing (use AUDIOSTREAM_PLAYBACK=file with it)");
  }
  if (config.audiostreamMix !== "mono") {
    out.push(`AUDIOSTREAM_MIX=${config.audiostreamMix} does not apply to these calls: the dialplan asks for mono (and says mix=mono in the URL), `
      + "because mixed and stereo send no audio while the call is parked");
  }
  return out;
}
