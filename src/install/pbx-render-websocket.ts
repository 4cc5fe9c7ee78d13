/**
 * The Asterisk chan_websocket part of `voicebot pbx-config asterisk`: websocket_client.conf's
 * connection to voicebot's WEBSOCKET_PORT (the token as Basic auth's password, which voicebot
 * takes as WEBSOCKET_TOKEN) and a dialplan context per tenant that dials it, then asks voicebot's
 * admin port what comes next (a transfer, as the AudioSocket dialplan does).
 */
import extensionsTemplate from "../../asterisk/extensions_websocket.conf.tmpl" with { type: "text" };
import clientTemplate from "../../asterisk/websocket_client.conf.tmpl" with { type: "text" };
import type { Config } from "../config/schema.ts";
import type { Tenant, Tenants } from "../config/tenant.ts";
import { renderWebsocketNodesDialplan, websocketConnection, type NodesDialplan } from "./pbx-render-nodes.ts";
import type { RenderedFile, TemplateFill } from "./pbx-render.ts";

export interface WebsocketRendering {
  files: RenderedFile[];
  steps: string[];
  warnings: string[];
}

function context(tenants: Tenants, tenant: Tenant): string {
  return tenant === tenants.default ? "voicebot-websocket" : `voicebot-websocket-${tenant.id}`;
}

/** How the dialplan asks voicebot's admin port what comes next (the AudioSocket dialplan's `/next`). */
export interface DialplanApi {
  adminUrl: string;
  tokenQuery: string;
  /** The query carries a token: the file is then readable by Asterisk only. */
  secret: boolean;
}

/** Several appliances: the dialplan's shape, and each one's host (its chan_websocket listener is at WEBSOCKET_PORT). */
export interface WebsocketFleet {
  dialplan: Omit<NodesDialplan, "contexts">;
  hosts: readonly string[];
}

export function renderWebsocket(host: string, port: number, config: Config, tenants: Tenants, fill: TemplateFill, modes: { secret: number; plain: number }, api: DialplanApi, fleet: WebsocketFleet | null): WebsocketRendering {
  // Tenant ids were checked against Asterisk's context syntax, which needs no percent-encoding in v() either.
  const contexts = tenants.all.map((tenant) => ({ tenant: tenant.id, context: context(tenants, tenant) }));
  const token = config.websocketToken;
  // WEBSOCKET_TOKEN is validated at load: printable, no spaces, no ';'.
  const credentials = token === null ? "" : `username = asterisk\npassword = ${token}\n`;
  const connections = fleet === null
    ? [{ name: "voicebot", address: `${host}:${port}` }]
    : fleet.hosts.map((h, i) => ({ name: websocketConnection(i + 1), address: `${h}:${port}` }));
  const extensions = fleet === null
    ? fill("extensions_websocket.conf.tmpl", extensionsTemplate, { host, adminUrl: api.adminUrl, tokenQuery: api.tokenQuery }, { tenants: contexts })
    : renderWebsocketNodesDialplan({ ...fleet.dialplan, nodeList: connections.map((c) => c.address).join(", "), contexts }, fill);
  const files: RenderedFile[] = [
    {
      path: "asterisk/websocket_client_voicebot.conf",
      content: fill("websocket_client.conf.tmpl", clientTemplate, { host, credentials, what: fleet === null ? "connection" : "connections, one per appliance" }, { connections }),
      mode: token === null ? modes.plain : modes.secret,
    },
    {
      path: "asterisk/extensions_voicebot_websocket.conf",
      content: extensions,
      mode: api.secret ? modes.secret : modes.plain,
    },
  ];
  const routes = contexts.map((c) => `${c.tenant} → ${c.context},777,1`).join("; ");
  const steps = [
    "Asterisk chan_websocket (instead of AudioSocket, Asterisk 20.16+, 21.11+, 22.6+ or 23+): `asterisk -rx 'module show like websocket'` "
      + "lists chan_websocket and res_websocket_client as running.",
    "Append asterisk/websocket_client_voicebot.conf to /etc/asterisk/websocket_client.conf (owner asterisk, mode "
      + `${token === null ? "0644" : "0640: it holds WEBSOCKET_TOKEN"}), then \`asterisk -rx 'module reload res_websocket_client'\`.`,
    `Copy asterisk/extensions_voicebot_websocket.conf to /etc/asterisk/ (owner asterisk, mode ${api.secret ? "0640: it holds the dialplan's API token" : "0644"}), `
      + "add `#include extensions_voicebot_websocket.conf` at the end of "
      + `/etc/asterisk/extensions.conf, \`asterisk -rx 'dialplan reload'\`, and send each company's calls to its context: ${routes}.`,
  ];
  const warnings: string[] = [];
  if (token === null) warnings.push(`WEBSOCKET_TOKEN is not set: anyone who reaches ws://${host}:${port} can place calls over chan_websocket; set it in voicebot.env and render again`);
  return { files, steps, warnings };
}
