import { parseArgs, type ParseArgsConfig } from "node:util";

/** One CLI command: `voicebot <name> …`. `run` returns the process exit status. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

/** Wrong words on the command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * node:util parseArgs with `--help` handled the same way by every command: returns null after
 * printing `usage` when help was asked for; turns parse failures into a UsageError.
 */
export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
  usage: string,
  allowPositionals = false,
): { values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean; strict: true }>>["values"]; positionals: string[] } | null {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage.trimEnd() + "\n");
    return null;
  }
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)} (see --help)`);
  }
}

/** Scripts read `--json` output: one JSON document, nothing else on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
