/** The steps of `voicebot install` that put files in place, each idempotent and dry-run aware. */
import { loadTenants } from "../config/tenants.ts";
import type { Config } from "../config/schema.ts";
import { applyFirewall, firewallRules, type FirewallState } from "./firewall.ts";
import { INSTALL_PATHS, SERVICE_USER } from "./layout.ts";
import { renderPbxConfig, type PbxKind } from "./pbx-render.ts";
import type { System } from "./system.ts";

const ETC_DIR = { mode: 0o750, owner: "root", group: SERVICE_USER };
const DATA_DIR = { mode: 0o750, owner: SERVICE_USER, group: SERVICE_USER };

/** /etc/voicebot (root:voicebot, the service reads it) and the data dir (the service's own). */
export function makeDirs(sys: System): string[] {
  const dirs = [INSTALL_PATHS.etcDir, INSTALL_PATHS.pbxDir];
  for (const d of dirs) sys.mkdir(d, ETC_DIR);
  const data = [INSTALL_PATHS.dataDir, `${INSTALL_PATHS.dataDir}/recordings`, `${INSTALL_PATHS.dataDir}/cache`];
  for (const d of data) sys.mkdir(d, DATA_DIR);
  return [...dirs, ...data];
}

function pbxKinds(config: Config): PbxKind[] {
  return config.pbx === "both" ? ["asterisk", "freeswitch"] : [config.pbx];
}

export interface PbxFiles {
  files: string[];
  steps: string[];
  warnings: string[];
  /** Each kind's apply-on-pbx.sh (absolute path): the one file the admin copies to the PBX and runs. */
  scripts: string[];
}

/** The PBX configuration (the pbx-config renderer) under /etc/voicebot/pbx/, and what to paste where. */
export function writePbxConfig(sys: System, config: Config, host: string): PbxFiles {
  const tenants = loadTenants(config);
  const out: PbxFiles = { files: [], steps: [], warnings: [], scripts: [] };
  const made = new Set<string>([INSTALL_PATHS.pbxDir]);
  for (const kind of pbxKinds(config)) {
    const rendering = renderPbxConfig(kind, { host, config, tenants });
    for (const file of rendering.files) {
      const target = `${INSTALL_PATHS.pbxDir}/${file.path}`;
      const dir = target.slice(0, target.lastIndexOf("/"));
      if (!made.has(dir)) sys.mkdir(dir, ETC_DIR);
      made.add(dir);
      // The script and the 0640 files hold secrets: a dry run does not print them.
      sys.write(target, file.content, { mode: file.mode, owner: "root", group: SERVICE_USER }, file.mode === 0o640 || file.path === rendering.script);
      out.files.push(target);
    }
    out.scripts.push(`${INSTALL_PATHS.pbxDir}/${rendering.script}`);
    out.steps.push(...rendering.steps.map((step) => `${kind}: ${step}`));
    out.warnings.push(...rendering.warnings);
  }
  return out;
}

/** ufw or our nftables table; null (with a warning) when the host has neither tool. */
export function setUpFirewall(sys: System, config: Config, previous: FirewallState | null): FirewallState | null {
  const rules = firewallRules(config);
  const haveUfw = sys.run(["ufw", "--version"], { probe: true }).code !== 127;
  const haveNft = sys.run(["nft", "--version"], { probe: true }).code !== 127;
  if (!haveUfw && !haveNft) {
    sys.say("warning: neither ufw nor nft is installed: no firewall rules applied (sudo apt install nftables, then re-run install)");
    return previous;
  }
  const state = applyFirewall(sys, rules, previous);
  sys.say(rules.length === 0
    ? `firewall (${state.backend}): nothing to open, every listener is on loopback`
    : `firewall (${state.backend}): ${rules.map((r) => `${r.label} ${r.port}/tcp from ${r.sources.length > 0 ? r.sources.join(", ") : "anywhere"}`).join("; ")}`);
  return state;
}
