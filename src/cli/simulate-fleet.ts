/**
 * `voicebot simulate --node HOST:PORT[/ADMIN_PORT] …`: one call placed the way the dialplan that
 * `pbx-config asterisk --node …` renders places it — registered with each appliance in turn until
 * one takes it, then streamed there over AudioSocket — and the timeline of what the caller heard.
 */
import { parsePbxNode } from "../config/pbx-nodes.ts";
import type { CallSettings } from "../simulate/call-types.ts";
import { SimulatedPbx, type FleetCall, type FleetNode } from "../simulate/pbx-fleet.ts";
import { printJson, UsageError } from "./command.ts";
import { formatTimeline } from "./simulate-report.ts";

/** `HOST:PORT[/ADMIN_PORT]`: PORT is the appliance's AudioSocket port, ADMIN_PORT its HTTP_PORT (else --admin-port). */
export function parseFleetNodes(given: readonly string[], adminPort: string | undefined): FleetNode[] {
  const defaultAdmin = adminPort === undefined ? 9091 : Number(adminPort);
  if (!Number.isInteger(defaultAdmin) || defaultAdmin < 1 || defaultAdmin > 65535) throw new UsageError(`--admin-port "${adminPort}" is not a port from 1 to 65535`);
  return given.map((text) => {
    const m = /^([^/]+)(?:\/(\d{1,5}))?$/.exec(text.trim());
    const node = m === null ? null : parsePbxNode(m[1] as string);
    if (m === null || node === null || typeof node === "string" || node.port === null) {
      throw new UsageError(`--node "${text}" is not HOST:PORT[/ADMIN_PORT] (the appliance's AudioSocket port, then its admin port)${typeof node === "string" ? `: ${node}` : ""}`);
    }
    const admin = m[2] === undefined ? defaultAdmin : Number(m[2]);
    if (admin < 1 || admin > 65535) throw new UsageError(`--node "${text}": admin port ${admin} is not from 1 to 65535`);
    return { name: `${node.host}:${node.port}`, admin: `http://${node.host}:${admin}`, audiosocket: { host: node.host, port: node.port } };
  });
}

export interface FleetRun {
  nodes: FleetNode[];
  settings: CallSettings & { sampleRate: number };
  hangupAfterS: number;
  json: boolean;
}

/** Places the call, prints the result; the exit status. */
export async function runFleetCall(o: FleetRun): Promise<number> {
  const token = process.env.VOICEBOT_PBX_TOKEN || process.env.PBX_TOKEN || process.env.VOICEBOT_ADMIN_TOKEN || process.env.ADMIN_TOKEN || null;
  const placed: FleetCall = await new SimulatedPbx({ nodes: o.nodes, order: "in-turn", token }).call(o.settings);
  const attempts = placed.attempts.map((a) => `${a.node} ${a.outcome} (${a.detail})`);
  if (o.json) {
    printJson({ ...placed.result, uuid: placed.uuid, node: placed.node?.name ?? null, attempts: placed.attempts, next: placed.next });
  } else {
    process.stdout.write(`appliances tried: ${attempts.join("; ")}\n`);
    if (placed.result === null) process.stdout.write("no appliance took the call: the caller hears the PBX's busy message\n");
    else process.stdout.write(`${formatTimeline(placed.result, { target: placed.node?.name ?? "", rate: o.settings.sampleRate, hangupAfterS: o.hangupAfterS, playback: null, browser: false, asp: false, websocket: false })}\nnext            ${placed.next ?? "(no answer)"}\n`);
  }
  const result = placed.result;
  return result !== null && result.connected && result.hungUpBy !== "error" ? 0 : 1;
}
