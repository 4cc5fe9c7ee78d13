import { ConfigError } from "./config/schema.ts";
import { UsageError, type Command } from "./cli/command.ts";
import { serveCommand } from "./cli/serve.ts";
import { simulateCommand } from "./cli/simulate.ts";
import { benchCommand } from "./cli/bench.ts";
import { callsCommand } from "./cli/calls.ts";
import { ticketsCommand } from "./cli/tickets.ts";
import { versionCommand } from "./cli/version.ts";
import { cacheCommand } from "./cli/cache.ts";
import { pbxConfigCommand } from "./cli/pbx-config.ts";
import { doctorCommand } from "./cli/doctor.ts";
import { installCommand } from "./cli/install.ts";
import { uninstallCommand } from "./cli/uninstall.ts";
import { upgradeCommand } from "./cli/upgrade.ts";
import { recordingsCommand } from "./cli/recordings.ts";
import { storeCommand } from "./cli/store.ts";

const commands: readonly Command[] = [
  serveCommand, installCommand, uninstallCommand, upgradeCommand, doctorCommand, simulateCommand, benchCommand,
  cacheCommand, recordingsCommand, callsCommand, ticketsCommand, storeCommand, pbxConfigCommand, versionCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: voicebot <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `voicebot <command> --help` for a command's options.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage() + "\n");
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") return versionCommand.run([]);
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`voicebot: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`voicebot ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exit(await main(process.argv.slice(2)));
