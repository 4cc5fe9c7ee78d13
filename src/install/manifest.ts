/**
 * /etc/voicebot/install.json: what install created, so uninstall removes exactly that and a
 * re-run knows the firewall rules it applied before (to delete the ones no longer wanted).
 */
import type { FirewallState } from "./firewall.ts";
import { INSTALL_PATHS } from "./layout.ts";
import type { System } from "./system.ts";

export interface InstallManifest {
  version: string;
  installedAt: string;
  updatedAt: string;
  /** install created the voicebot user (uninstall --purge removes it only then). */
  createdUser: boolean;
  /** Files install wrote (target paths), removed by uninstall. */
  files: string[];
  /** Directories install created, removed by uninstall when empty (data dir: only with --purge). */
  dirs: string[];
  firewall: FirewallState | null;
  binary: string;
}

export function readManifest(sys: System): InstallManifest | null {
  const text = sys.read(INSTALL_PATHS.manifest);
  if (text === null) return null;
  try {
    const m = JSON.parse(text) as Partial<InstallManifest>;
    if (!Array.isArray(m.files) || !Array.isArray(m.dirs) || typeof m.binary !== "string") return null;
    return {
      version: String(m.version ?? "unknown"),
      installedAt: String(m.installedAt ?? ""),
      updatedAt: String(m.updatedAt ?? ""),
      createdUser: m.createdUser === true,
      files: m.files.filter((f): f is string => typeof f === "string"),
      dirs: m.dirs.filter((d): d is string => typeof d === "string"),
      firewall: m.firewall ?? null,
      binary: m.binary,
    };
  } catch {
    return null;
  }
}

export function writeManifest(sys: System, m: InstallManifest): void {
  sys.write(INSTALL_PATHS.manifest, JSON.stringify(m, null, 2) + "\n", { mode: 0o640, owner: "root", group: "root" });
}
