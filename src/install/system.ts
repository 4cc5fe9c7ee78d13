/**
 * What the installer, uninstall and upgrade may do to a machine, and nothing else: every change
 * goes through a System so that `--dry-run` prints it instead, and `--root DIR` does it inside a
 * staging root. Paths are always given as they are on the target machine ("/etc/voicebot/…");
 * the System puts them under its root.
 */

export interface FileSpec {
  /** Octal mode, e.g. 0o640. */
  mode: number;
  /** Owner and group names; applied only when running as root on the real root ("/"). */
  owner?: string;
  group?: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What changed, as printed by --dry-run and by the summary ("write /etc/voicebot/voicebot.env (0640 root:voicebot)"). */
export interface Change {
  kind: "write" | "mkdir" | "copy" | "remove" | "run" | "rename";
  /** One line naming the path or the command; never contains a secret. */
  what: string;
}

export interface System {
  /** "/" or the staging root. */
  readonly root: string;
  readonly dryRun: boolean;
  /** Every change made (or, in dry-run, that would have been made), in order. */
  readonly changes: readonly Change[];
  /** The path on this machine for a target path (root-prefixed). */
  path(target: string): string;
  exists(target: string): boolean;
  /** True for a directory with nothing in it (in dry-run: after the removals listed so far). */
  isEmptyDir(target: string): boolean;
  /** The file's text, or null when absent. */
  read(target: string): string | null;
  /**
   * Writes atomically (temp file in the same directory, fsync, rename) with the mode and owner.
   * Returns false and records no change when the file already has exactly this content, mode
   * and owner (re-running install changes nothing). `secret` true: dry-run prints the path only.
   */
  write(target: string, content: string | Uint8Array, spec: FileSpec, secret?: boolean): boolean;
  mkdir(target: string, spec: FileSpec): void;
  /** Copies a file from this machine (an absolute path, NOT under root) atomically. */
  copyIn(source: string, target: string, spec: FileSpec): void;
  rename(fromTarget: string, toTarget: string): void;
  /** Removes a file or a directory tree; absent is fine. */
  remove(target: string): void;
  /**
   * Runs a command from PATH (tests put stand-ins first on PATH). In dry-run a command that
   * changes something is printed, not run, and answers code 0 with empty output; `probe` true
   * marks a read-only command (`ufw status`, `id -u voicebot`) that runs even in dry-run.
   */
  run(argv: readonly string[], options?: { probe?: boolean; input?: string }): CommandResult;
  /** A line for the admin (the CLI prints it; tests collect it). */
  say(line: string): void;
}
