/**
 * The firewall rules voicebot needs, applied with ufw when the host uses it, else with an nftables
 * table of our own (`inet voicebot`): the call ports open only to the PBX addresses, the admin port
 * kept on this host unless a remote Asterisk must reach it.
 */
import { isIP } from "node:net";
import type { Config } from "../config/schema.ts";
import { applyNft, removeNft } from "./firewall-nft.ts";
import { applyUfw, removeUfw } from "./firewall-ufw.ts";
import type { System } from "./system.ts";

export interface FirewallRule {
  port: number;
  proto: "tcp";
  /** Addresses or CIDRs allowed in; [] = from anywhere. */
  sources: string[];
  /** What the port is for, e.g. "audiosocket". */
  label: string;
}

export interface FirewallState {
  backend: "ufw" | "nft";
  rules: FirewallRule[];
}

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** The PBX addresses: AUDIOSOCKET_ALLOW, the one list of peers allowed to stream calls here. */
function pbxSources(config: Config): string[] {
  return config.audiosocketAllow.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * Loopback peers (the doctor's test call, a PBX on this host) need no rule. A PBX list of only
 * loopback addresses means the PBX is here: nothing is opened at all.
 */
export function firewallRules(config: Config): FirewallRule[] {
  const all = pbxSources(config);
  const sources = all.filter((s) => !isLoopbackHost(s));
  if (all.length > 0 && sources.length === 0) return [];
  const rules: FirewallRule[] = [];
  if (config.pbx !== "freeswitch" && !isLoopbackHost(config.audiosocket.host)) {
    rules.push({ port: config.audiosocket.port, proto: "tcp", sources, label: "audiosocket" });
  }
  if (config.pbx !== "freeswitch" && !isLoopbackHost(config.websocket.host)) {
    rules.push({ port: config.websocket.port, proto: "tcp", sources, label: "websocket" });
  }
  if (config.pbx !== "asterisk" && !isLoopbackHost(config.audiostream.host)) {
    rules.push({ port: config.audiostream.port, proto: "tcp", sources, label: "audiostream" });
  }
  // The PABX Docker media server (ASP) runs beside either PBX, from the same addresses.
  if (!isLoopbackHost(config.asp.host)) {
    rules.push({ port: config.asp.port, proto: "tcp", sources, label: "asp" });
  }
  // A remote Asterisk without AMI asks /api/calls/{uuid}/next here: only the PBX may.
  if (!isLoopbackHost(config.http.host)) {
    rules.push({ port: config.http.port, proto: "tcp", sources, label: "admin" });
  }
  return rules;
}

function ufwActive(sys: System): boolean {
  const r = sys.run(["ufw", "status"], { probe: true });
  return r.code === 0 && /^Status:\s*active/m.test(r.stdout);
}

/** ufw when it is installed and active (the admin already manages the host with it), else nft. */
export function detectBackend(sys: System): "ufw" | "nft" {
  return ufwActive(sys) ? "ufw" : "nft";
}

export function applyFirewall(sys: System, rules: FirewallRule[], previous: FirewallState | null): FirewallState {
  const backend = detectBackend(sys);
  if (previous && previous.backend !== backend) removeFirewall(sys, previous);
  const kept = previous?.backend === backend ? previous.rules : [];
  if (rules.some((r) => r.sources.length === 0)) {
    sys.say("warning: AUDIOSOCKET_ALLOW is empty, so the call ports are open to every address; set it to the PBX addresses");
  }
  if (backend === "ufw") applyUfw(sys, rules, kept);
  else applyNft(sys, rules);
  return { backend, rules };
}

export function removeFirewall(sys: System, state: FirewallState): void {
  if (state.backend === "ufw") removeUfw(sys, state.rules);
  else removeNft(sys);
}

/** v4 and v6 sources apart, as nftables sets and ufw rules need them. */
export function splitFamilies(sources: readonly string[]): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const s of sources) (isIP(s.split("/")[0] ?? "") === 6 ? v6 : v4).push(s);
  return { v4, v6 };
}
