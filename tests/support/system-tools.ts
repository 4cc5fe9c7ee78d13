/**
 * The Debian tools some tests check voicebot's output with (the real ones, not imitations):
 * xmllint and lua5.4 for the rendered FreeSWITCH/FusionPBX files, mpg123 to decode the MP3
 * recordings back, nft for the firewall table, systemd-analyze for the units, chromium for the
 * console, PostgreSQL's server for the shared store (tests/support/pg-cluster.ts). `npm test` installs the missing ones when it can (scripts/test.ts); a test that still
 * lacks one fails and names the command that fixes it, never skips.
 */
import { existsSync } from "node:fs";

export interface SystemTool {
  /** The command as tests run it. */
  readonly command: string;
  /**
   * Where it is looked for besides PATH (/usr/sbin is not on a normal user's PATH); a `*` matches
   * a version directory, the newest first (/usr/lib/postgresql/<version>/bin).
   */
  readonly paths: readonly string[];
  readonly debianPackage: string;
  /** A variable that names another build to use instead (then nothing needs installing). */
  readonly override?: string;
}

export const SYSTEM_TOOLS = {
  xmllint: { command: "xmllint", paths: [], debianPackage: "libxml2-utils" },
  luac: { command: "luac5.4", paths: [], debianPackage: "lua5.4" },
  lua: { command: "lua5.4", paths: [], debianPackage: "lua5.4" },
  mpg123: { command: "mpg123", paths: [], debianPackage: "mpg123" },
  nft: { command: "nft", paths: ["/usr/sbin/nft"], debianPackage: "nftables" },
  systemdAnalyze: { command: "systemd-analyze", paths: ["/usr/bin/systemd-analyze"], debianPackage: "systemd" },
  // apply-on-pbx.sh is checked as the other renderings are: by the tool that knows the language.
  shellcheck: { command: "shellcheck", paths: [], debianPackage: "shellcheck" },
  // What apply-on-pbx.sh asks voicebot's admin port with, as on a PBX host.
  curl: { command: "curl", paths: [], debianPackage: "curl" },
  // The installer's terminal in tests (util-linux `script`): essential on Debian, absent from slim images.
  script: { command: "script", paths: ["/usr/bin/script"], debianPackage: "bsdutils" },
  chromium: { command: "chromium", paths: ["/usr/bin/chromium"], debianPackage: "chromium", override: "CHROMIUM_PATH" },
  // The store suite's PostgreSQL; Debian keeps the server's binaries off PATH.
  postgres: { command: "postgres", paths: ["/usr/lib/postgresql/*/bin/postgres"], debianPackage: "postgresql" },
} as const satisfies Record<string, SystemTool>;

export type ToolName = keyof typeof SYSTEM_TOOLS;

/** The tool's path, or null when it is not installed. */
export function findTool(name: ToolName): string | null {
  const tool: SystemTool = SYSTEM_TOOLS[name];
  const chosen = tool.override === undefined ? undefined : process.env[tool.override];
  if (chosen) return chosen;
  return Bun.which(tool.command) ?? tool.paths.flatMap(expand).find((p) => existsSync(p)) ?? null;
}

/** A path with a `*` directory: the ones present, the highest version first. */
function expand(path: string): string[] {
  if (!path.includes("*")) return [path];
  const found = [...new Bun.Glob(path.slice(1)).scanSync({ cwd: "/", onlyFiles: true })].map((p) => `/${p}`);
  return found.sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
}

/** The one command that installs these packages. */
export function installCommand(packages: readonly string[]): string {
  return `sudo apt-get install -y --no-install-recommends ${[...new Set(packages)].join(" ")}`;
}

/** The tool's path; throws, naming the fix, when it is missing. */
export function requireTool(name: ToolName): string {
  const path = findTool(name);
  if (path !== null) return path;
  const tool: SystemTool = SYSTEM_TOOLS[name];
  throw new Error(`${tool.command} is not installed (Debian package ${tool.debianPackage}); run: ${installCommand([tool.debianPackage])} — or just npm test as root, which installs it`);
}

/** The Debian packages of the tools not installed. */
export function missingPackages(): string[] {
  const names = Object.keys(SYSTEM_TOOLS) as ToolName[];
  return [...new Set(names.filter((n) => findTool(n) === null).map((n) => SYSTEM_TOOLS[n].debianPackage))];
}
