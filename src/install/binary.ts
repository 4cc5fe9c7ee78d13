/** The installed executable, with the one before it kept beside it so an upgrade can be undone. */
import { readFileSync } from "node:fs";
import { INSTALL_PATHS } from "./layout.ts";
import type { System } from "./system.ts";

const BINARY_SPEC = { mode: 0o755, owner: "root", group: "root" };

/** Same bytes: nothing happens. Otherwise the current binary becomes the rollback copy, then the new one lands atomically. */
export function installBinary(sys: System, source: string): { changed: boolean; previous: string | null } {
  const current = sys.path(INSTALL_PATHS.binary);
  if (sys.exists(INSTALL_PATHS.binary) && sameBytes(source, current)) return { changed: false, previous: null };
  let previous: string | null = null;
  if (sys.exists(INSTALL_PATHS.binary)) {
    sys.copyIn(current, INSTALL_PATHS.previousBinary, BINARY_SPEC);
    previous = INSTALL_PATHS.previousBinary;
  }
  sys.copyIn(source, INSTALL_PATHS.binary, BINARY_SPEC);
  return { changed: true, previous };
}

/** Puts the rollback copy back in place (upgrade's undo). */
export function restorePreviousBinary(sys: System): boolean {
  if (!sys.exists(INSTALL_PATHS.previousBinary)) return false;
  sys.copyIn(sys.path(INSTALL_PATHS.previousBinary), INSTALL_PATHS.binary, BINARY_SPEC);
  return true;
}

function sameBytes(a: string, b: string): boolean {
  try {
    return Bun.hash(readFileSync(a)) === Bun.hash(readFileSync(b));
  } catch {
    return false;
  }
}
