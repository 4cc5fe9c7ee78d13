/**
 * The nftables side of the firewall: a table of our own, `inet voicebot`, in /etc/voicebot/firewall.nft.
 *
 * nftables runs every base chain on a hook, and a packet dropped by any of them is gone: our
 * `accept` does not override another table's drop. So on a host whose own rules drop by default,
 * the admin must also open these ports there; `voicebot doctor` shows what we apply. Our table only
 * narrows: it drops the call ports from anyone but the PBX, and the admin port from off-host.
 */
import { splitFamilies, type FirewallRule } from "./firewall.ts";
import { INSTALL_PATHS } from "./layout.ts";
import type { System } from "./system.ts";

export const NFT_TABLE = "voicebot";

export function renderNft(rules: readonly FirewallRule[]): string {
  const lines = [
    "# voicebot's own firewall table, written by `voicebot install` and loaded by the service at every start.",
    "# Re-loading replaces the whole table atomically: the first two lines make sure it exists, then drop it.",
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
  ];
  for (const rule of rules) {
    const { v4, v6 } = splitFamilies(rule.sources);
    if (v4.length > 0) lines.push(`  set ${rule.label}_v4 {`, "    type ipv4_addr", "    flags interval", `    elements = { ${v4.join(", ")} }`, "  }");
    if (v6.length > 0) lines.push(`  set ${rule.label}_v6 {`, "    type ipv6_addr", "    flags interval", `    elements = { ${v6.join(", ")} }`, "  }");
  }
  lines.push("  chain input {", "    type filter hook input priority filter; policy accept;");
  for (const rule of rules) {
    const dport = `${rule.proto} dport ${rule.port}`;
    if (rule.sources.length === 0) continue;
    const { v4, v6 } = splitFamilies(rule.sources);
    lines.push(`    # ${rule.label}: only from ${rule.sources.join(", ")}`);
    lines.push(`    iif "lo" ${dport} accept`);
    if (v4.length > 0) lines.push(`    ip saddr @${rule.label}_v4 ${dport} accept`);
    if (v6.length > 0) lines.push(`    ip6 saddr @${rule.label}_v6 ${dport} accept`);
    lines.push(`    ${dport} drop`);
  }
  lines.push("  }", "}", "");
  return lines.join("\n");
}

export function applyNft(sys: System, rules: readonly FirewallRule[]): void {
  sys.write(INSTALL_PATHS.nftFile, renderNft(rules), { mode: 0o640, owner: "root", group: "root" });
  const r = sys.run(["nft", "-f", sys.path(INSTALL_PATHS.nftFile)]);
  if (r.code !== 0) throw new Error(`nft -f ${INSTALL_PATHS.nftFile} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
}

export function removeNft(sys: System): void {
  const listed = sys.run(["nft", "list", "table", "inet", NFT_TABLE], { probe: true });
  if (listed.code === 0) {
    const r = sys.run(["nft", "delete", "table", "inet", NFT_TABLE]);
    if (r.code !== 0) sys.say(`warning: nft delete table inet ${NFT_TABLE} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  sys.remove(INSTALL_PATHS.nftFile);
}
