/**
 * The Asterisk dialplans for several appliances (`pbx-config asterisk --node …`, PBX_NODES): each
 * call tries one appliance after the other (in turn, or starting one further each call) until one
 * takes it — over AudioSocket, by registering the call first; over chan_websocket, by dialling
 * it — and asks /next of the one that did. pbx-render.ts has checked and escaped every value.
 */
import audiosocketTemplate from "../../asterisk/extensions_nodes.conf.tmpl" with { type: "text" };
import websocketTemplate from "../../asterisk/extensions_websocket_nodes.conf.tmpl" with { type: "text" };
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
  /** The header's list of the appliances. */
  nodeList: string;
}

/** The global variable round-robin keeps the last appliance a call started with in (1 to N). */
const ROUND_ROBIN_GLOBAL = "VB_LAST_NODE";

/** websocket_client.conf's connection to the i-th appliance (1-based). */
export function websocketConnection(i: number): string {
  return `voicebot-${i}`;
}

/** How one appliance is tried: lines that end in a GotoIf to `took<i>` when it took the call, and what runs there before /next. */
interface Wire {
  template: string;
  attempt(node: DialplanNode, i: number, tenant: string, d: NodesDialplan): string[];
  took(node: DialplanNode): string[];
}

/** Only these two bodies mean an appliance took the call: "full", an error text or nothing (unreachable) move on. */
const REGISTERED = '$["${VB_JOIN}" = "waiting" | "${VB_JOIN}" = "joined"]';
const CALLER_FIELDS = "caller=${URIENCODE(${CALLERID(num)})}";

const AUDIOSOCKET: Wire = {
  template: audiosocketTemplate,
  // AudioSocket() hangs the call up when it cannot connect: the registration decides first.
  attempt: (node, i, tenant, d) => [
    ` same => n,Set(VB_JOIN=\${CURL(${node.adminUrl}/api/calls/\${VB_UUID}${d.tokenQuery},${CALLER_FIELDS}&dnis=\${URIENCODE(\${EXTEN})}&tenant=${tenant})})`,
    ` same => n,GotoIf(${REGISTERED}?took${i})`,
  ],
  took: (node) => [` same => n,AudioSocket(\${VB_UUID},${node.audiosocket})`],
};

const WEBSOCKET: Wire = {
  template: websocketTemplate,
  // A refused upgrade or no connection fails the channel request: Dial() ends without ANSWER.
  attempt: (_node, i, tenant) => [
    ` same => n,Dial(WebSocket/${websocketConnection(i)}/c(slin16)v(uuid=\${VB_UUID},tenant=${tenant},${CALLER_FIELDS},dnis=\${URIENCODE(\${EXTEN})}),,g)`,
    ` same => n,GotoIf($["\${DIALSTATUS}" = "ANSWER"]?took${i})`,
  ],
  took: () => [],
};

function tries(wire: Wire, d: NodesDialplan, tenant: string): string {
  const n = d.nodes.length;
  const lines = d.nodes.flatMap((node, k) => [
    ` same => n(node${k + 1}),GotoIf($[\${VB_TRIES} >= ${n}]?busy)`,
    " same => n,Set(VB_TRIES=$[${VB_TRIES} + 1])",
    ...wire.attempt(node, k + 1, tenant, d),
  ]);
  // After the last appliance, back to the first: round-robin may have started further down the list.
  return `${lines.join("\n")}\n same => n,Goto(node1)\n`;
}

function took(wire: Wire, d: NodesDialplan): string {
  return d.nodes.flatMap((node, k) => {
    const lines = [
      ...wire.took(node),
      ` same => n,Set(VB_NEXT=\${CURL(${node.adminUrl}/api/calls/\${VB_UUID}/next${d.tokenQuery})})`,
      " same => n,Goto(next)",
    ];
    return [(lines[0] as string).replace(" same => n,", ` same => n(took${k + 1}),`), ...lines.slice(1)];
  }).join("\n") + "\n";
}

function start(d: NodesDialplan): string {
  if (d.order === "in-turn") return "";
  const g = `GLOBAL(${ROUND_ROBIN_GLOBAL})`;
  // Unset, 0 + 1 is the first; a call racing another may start where it does, which is harmless.
  return ` same => n,Set(${g}=$[(0\${${g}} % ${d.nodes.length}) + 1])\n same => n,Goto(node\${${g}})\n`;
}

function render(wire: Wire, name: string, d: NodesDialplan, fill: TemplateFill): string {
  const orderText = d.order === "in-turn"
    ? "tried in this order for every call"
    : `round-robin: each call starts one appliance further (the global variable ${ROUND_ROBIN_GLOBAL}) and tries them all`;
  return fill(name, wire.template, { nodeList: d.nodeList, orderText }, {
    tenants: d.contexts.map((c) => ({ tenant: c.tenant, context: c.context, start: start(d), tries: tries(wire, d, c.tenant), took: took(wire, d) })),
  });
}

/** extensions_voicebot.conf: register with each appliance in turn, then AudioSocket() to the one that took the call. */
export function renderNodesDialplan(d: NodesDialplan, fill: TemplateFill): string {
  return render(AUDIOSOCKET, "extensions_nodes.conf.tmpl", d, fill);
}

/** extensions_voicebot_websocket.conf: Dial() each appliance's chan_websocket connection in turn. */
export function renderWebsocketNodesDialplan(d: NodesDialplan, fill: TemplateFill): string {
  return render(WEBSOCKET, "extensions_websocket_nodes.conf.tmpl", d, fill);
}
