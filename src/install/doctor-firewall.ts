/** Whether the firewall holds the rules the configuration needs (what install applied). */
import type { Check } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";
import { detectBackend, firewallRules } from "./firewall.ts";
import { NFT_TABLE, renderNft } from "./firewall-nft.ts";
import { ufwHas, ufwRules } from "./firewall-ufw.ts";
import { INSTALL_PATHS } from "./layout.ts";
import { readManifest } from "./manifest.ts";
import { createSystem } from "./system-host.ts";

const REAPPLY = "sudo voicebot install --yes re-applies the rules from the current configuration";

export const firewallCheck: Check = {
  id: "firewall",
  async run(ctx) {
    if (!ctx.config) return fail("firewall", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    const sys = createSystem({ root: ctx.root, dryRun: true, say: () => undefined, env: ctx.env });
    const rules = firewallRules(ctx.config);
    if (rules.length === 0) return pass("firewall", "every listener is on loopback: nothing to open");
    const describe = rules.map((r) => `${r.port}/tcp from ${r.sources.length > 0 ? r.sources.join(",") : "anywhere"}`).join("; ");
    const applied = readManifest(sys)?.firewall ?? null;
    const backend = applied?.backend ?? detectBackend(sys);
    if (backend === "ufw") {
      const status = sys.run(["ufw", "status"], { probe: true }).stdout;
      const missing = ufwRules(rules).filter((r) => !ufwHas(status, r));
      if (missing.length > 0) return fail("firewall", `ufw lacks ${missing.length} of voicebot's rules (${describe})`, REAPPLY);
      return pass("firewall", `ufw: ${describe}`);
    }
    const listed = sys.run(["nft", "list", "table", "inet", NFT_TABLE], { probe: true });
    if (listed.code === 127) return warn("firewall", "neither ufw nor nft is installed: the call ports are open to every address", "sudo apt install nftables, then sudo voicebot install --yes");
    if (listed.code !== 0 && applied === null) {
      return warn("firewall", `no firewall rules of voicebot's: the call ports are open to every address (${describe} wanted)`, "sudo voicebot install applies them (ufw when active, else an nftables table of its own)");
    }
    if (listed.code !== 0) return fail("firewall", `the nftables table inet ${NFT_TABLE} is not loaded`, `sudo nft -f ${INSTALL_PATHS.nftFile} (the service loads it at start); if the file is missing: ${REAPPLY}`);
    if (sys.read(INSTALL_PATHS.nftFile) !== renderNft(rules)) return fail("firewall", `${INSTALL_PATHS.nftFile} does not match the configuration (${describe})`, REAPPLY);
    const absent = rules.filter((r) => !listed.stdout.includes(`dport ${r.port}`));
    if (absent.length > 0) return fail("firewall", `the loaded table lacks port ${absent.map((r) => r.port).join(", ")}`, `sudo nft -f ${INSTALL_PATHS.nftFile}`);
    return pass("firewall", `nftables table inet ${NFT_TABLE}: ${describe}`);
  },
};
