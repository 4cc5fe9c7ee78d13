/**
 * The Asterisk dialplan for several appliances (`pbx-config asterisk --node …`, PBX_NODES): each
 * call is registered with one appliance after the other (in turn, or starting one further each
 * call) until one takes it, then streamed to that one. pbx-render.ts has checked and escaped
 * every value it hands over.
 */
import template from "../../asterisk/extensions_nodes.conf.tmpl" with { type: "text" };
import type { PbxNodeOrder } from "../config/schema.ts";
import type { TemplateFill } from "./pbx-render.ts";

/** One appliance as the dialplan reaches it. */
export interface DialplanNode {
  /** `http://host:HTTP_PORT`. */
  adminUrl: string;
  /** `host:port` of its AudioSocket listener. */
  audiosocket: string;
}

export interface NodesDialplan {
  nodes: readonly DialplanNode[];
  order: PbxNodeOrder;
  /** `?token=…` or "". */
  tokenQuery: string;
  contexts: readonly { tenant: string; context: string }[];
}

/** The global variable round-robin keeps the last appliance a call started with in (1 to N). */
export const ROUND_ROBIN_GLOBAL = "VB_LAST_NODE";

/** Only these two bodies mean an appliance took the call: "full", an error text or nothing (unreachable) move on. */
const TAKEN = '$["${VB_JOIN}" = "waiting" | "${VB_JOIN}" = "joined"]';

function tries(d: NodesDialplan, tenant: string): string {
  const n = d.nodes.length;
  const lines = d.nodes.map((node, i) => [
    ` same => n(node${i + 1}),GotoIf($[\${VB_TRIES} >= ${n}]?busy)`,
    " same => n,Set(VB_TRIES=$[${VB_TRIES} + 1])",
    ` same => n,Set(VB_JOIN=\${CURL(${node.adminUrl}/api/calls/\${VB_UUID}${d.tokenQuery},caller=\${URIENCODE(\${CALLERID(num)})}&dnis=\${URIENCODE(\${EXTEN})}&tenant=${tenant})})`,
    ` same => n,GotoIf(${TAKEN}?stream${i + 1})`,
  ].join("\n"));
  // After the last appliance, back to the first: round-robin may have started further down the list.
  return `${lines.join("\n")}\n same => n,Goto(node1)\n`;
}

function streams(d: NodesDialplan): string {
  return d.nodes.map((node, i) => [
    ` same => n(stream${i + 1}),AudioSocket(\${VB_UUID},${node.audiosocket})`,
    ` same => n,Set(VB_NEXT=\${CURL(${node.adminUrl}/api/calls/\${VB_UUID}/next${d.tokenQuery})})`,
    " same => n,Goto(next)",
  ].join("\n")).join("\n") + "\n";
}

function start(d: NodesDialplan): string {
  if (d.order === "in-turn") return "";
  const g = `GLOBAL(${ROUND_ROBIN_GLOBAL})`;
  // Unset, 0 + 1 is the first; a call racing another may start where it does, which is harmless.
  return ` same => n,Set(${g}=$[(0\${${g}} % ${d.nodes.length}) + 1])\n same => n,Goto(node\${${g}})\n`;
}

export function renderNodesDialplan(d: NodesDialplan, fill: TemplateFill, nodeList: string): string {
  const orderText = d.order === "in-turn"
    ? "tried in this order for every call"
    : `round-robin: each call starts one appliance further (the global variable ${ROUND_ROBIN_GLOBAL}) and tries them all`;
  return fill("extensions_nodes.conf.tmpl", template, { nodeList, orderText }, {
    tenants: d.contexts.map((c) => ({ tenant: c.tenant, context: c.context, start: start(d), tries: tries(d, c.tenant), streams: streams(d) })),
  });
}
