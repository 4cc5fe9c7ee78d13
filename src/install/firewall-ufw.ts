/** The ufw side of the firewall: one `allow` per source and port, each commented as ours. */
import type { FirewallRule } from "./firewall.ts";
import type { System } from "./system.ts";

export type UfwRule = string[];

export function ufwRules(rules: readonly FirewallRule[]): UfwRule[] {
  const out: UfwRule[] = [];
  for (const rule of rules) {
    const comment = ["comment", `voicebot ${rule.label}`];
    if (rule.sources.length === 0) out.push(["allow", "proto", rule.proto, "to", "any", "port", String(rule.port), ...comment]);
    for (const source of rule.sources) out.push(["allow", "proto", rule.proto, "from", source, "to", "any", "port", String(rule.port), ...comment]);
  }
  return out;
}

const key = (r: UfwRule): string => r.join(" ");

/** Adds what is wanted (ufw itself skips a rule it already has) and deletes what the last install added and is no longer wanted. */
export function applyUfw(sys: System, rules: readonly FirewallRule[], previous: readonly FirewallRule[]): void {
  const wanted = ufwRules(rules);
  const wantedKeys = new Set(wanted.map(key));
  for (const old of ufwRules(previous)) {
    if (!wantedKeys.has(key(old))) ufw(sys, ["delete", ...old]);
  }
  const present = sys.run(["ufw", "status"], { probe: true }).stdout;
  for (const rule of wanted) {
    if (!sys.dryRun && ufwHas(present, rule)) continue;
    ufw(sys, rule);
  }
}

export function removeUfw(sys: System, rules: readonly FirewallRule[]): void {
  for (const rule of ufwRules(rules)) ufw(sys, ["delete", ...rule]);
}

/** `ufw status` lists a rule as "9090/tcp  ALLOW  192.0.2.10  # voicebot audiosocket". */
export function ufwHas(status: string, rule: UfwRule): boolean {
  const port = rule[rule.indexOf("port") + 1];
  const fromAt = rule.indexOf("from");
  const from = fromAt >= 0 ? rule[fromAt + 1] : "Anywhere";
  return status.split("\n").some((line) => {
    const [rule0, comment] = line.split(" # ");
    const cols = (rule0 ?? "").trim().split(/\s{2,}/);
    return cols[0] === `${port}/tcp` && cols[1] === "ALLOW" && cols[2] === from && (comment ?? "").startsWith("voicebot");
  });
}

function ufw(sys: System, args: string[]): void {
  const r = sys.run(["ufw", ...args]);
  if (r.code !== 0) throw new Error(`ufw ${args.join(" ")} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
}
