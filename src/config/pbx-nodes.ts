/**
 * The list of appliances a PBX spreads calls over (PBX_NODES, `pbx-config --node`): `host` or
 * `host:port`, checked here once so the dialplan renderers and the simulated PBX get clean values.
 */
import { isIP } from "node:net";
import type { PbxNode } from "./schema.ts";

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** The node, or what is wrong with it in words. */
export function parsePbxNode(text: string): PbxNode | string {
  const v = text.trim();
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(v);
  if (m === null) return `${JSON.stringify(v)} is not host or host:port (IPv4 address or host name, then an optional port)`;
  const host = m[1] as string;
  if (isIP(host) !== 4 && (isIP(host) !== 0 || !HOST_NAME.test(host) || /^[\d.]+$/.test(host))) {
    return `${JSON.stringify(host)} is not an IPv4 address or a host name`;
  }
  if (m[2] === undefined) return { host, port: null };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${m[2]} of ${JSON.stringify(v)} is not from 1 to 65535`;
  return { host, port };
}

/** A comma-separated list; the same node twice is refused (the PBX would try it twice). */
export function parsePbxNodes(list: string): PbxNode[] | string {
  const nodes: PbxNode[] = [];
  for (const item of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const node = parsePbxNode(item);
    if (typeof node === "string") return node;
    if (nodes.some((n) => n.host === node.host && n.port === node.port)) return `${JSON.stringify(item)} is listed twice`;
    nodes.push(node);
  }
  return nodes;
}

export function formatPbxNode(node: PbxNode): string {
  return node.port === null ? node.host : `${node.host}:${node.port}`;
}
