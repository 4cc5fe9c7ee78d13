/** `voicebot uninstall [--purge]`: removes what install added. */
import { confirm, isCancel } from "@clack/prompts";
import { resolve } from "node:path";
import { INSTALL_PATHS } from "../install/layout.ts";
import { createSystem } from "../install/system-host.ts";
import { uninstall } from "../install/uninstall.ts";
import { parseCommandArgs, printJson, type Command } from "./command.ts";

const USAGE = `Usage: sudo voicebot uninstall [--purge] [--yes] [--dry-run] [--root DIR] [--json]

Stops and disables the service and its recordings timer, removes the units, the firewall rules,
the binary (and its rollback copy) and the files install wrote in /etc/voicebot (files you added
there stay). The data (${INSTALL_PATHS.dataDir}: database, recordings, phrase cache) and the voicebot
user stay unless --purge.

Options:
  --purge       also delete ${INSTALL_PATHS.dataDir} and the voicebot user
  --yes         do not ask for confirmation
  --dry-run     print what it would remove; change nothing
  --root DIR    a staging root install wrote into
  --json        {removed, kept} on stdout
  --help        this text`;

export const uninstallCommand: Command = {
  name: "uninstall",
  summary: "remove what install added (the data too with --purge)",
  async run(argv) {
    const parsed = parseCommandArgs(argv, {
      purge: { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      "dry-run": { type: "boolean" },
      root: { type: "string" },
      json: { type: "boolean" },
    }, USAGE);
    if (!parsed) return 0;
    const v = parsed.values;
    const root = v.root !== undefined ? resolve(v.root) : "/";
    const dryRun = v["dry-run"] === true;
    if (root === "/" && !dryRun && process.getuid?.() !== 0) {
      process.stderr.write("voicebot uninstall: run it with sudo (or see what it would do with --dry-run)\n");
      return 1;
    }
    if (!v.yes && !dryRun) {
      if (!process.stdin.isTTY) {
        process.stderr.write("voicebot uninstall: no terminal to confirm on: add --yes\n");
        return 2;
      }
      const ok = await confirm({ message: v.purge ? `Remove voicebot AND its data (${INSTALL_PATHS.dataDir}: calls, tickets, recordings)?` : "Remove voicebot (the data stays)?", initialValue: false });
      if (isCancel(ok) || !ok) {
        process.stderr.write("nothing removed\n");
        return 130;
      }
    }
    const sys = createSystem({ root, dryRun, say: (line) => process.stderr.write(`${line}\n`) });
    const report = uninstall(sys, { purge: v.purge === true });
    if (v.json) printJson(report);
    else {
      process.stdout.write(`${dryRun ? "would remove" : "removed"}: ${report.removed.length > 0 ? report.removed.join(", ") : "nothing"}\n`);
      if (report.kept.length > 0) process.stdout.write(`kept: ${report.kept.join(", ")}${v.purge ? "" : " (the data stays: --purge deletes it)"}\n`);
    }
    return 0;
  },
};
