import { version } from "../version.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, printJson } from "./command.ts";

export const versionCommand: Command = {
  name: "version",
  summary: "print the version",
  async run(argv) {
    const args = parseCommandArgs(argv, { json: { type: "boolean" } }, "Usage: voicebot version [--json]\n\nPrints voicebot's version, and Bun's.");
    if (!args) return 0;
    if (args.values.json) printJson({ version, bun: Bun.version, platform: `${process.platform}-${process.arch}` });
    else process.stdout.write(`voicebot ${version} (bun ${Bun.version}, ${process.platform}-${process.arch})\n`);
    return 0;
  },
};
