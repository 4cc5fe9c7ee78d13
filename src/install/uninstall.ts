/** `voicebot uninstall`: removes what install added, by its manifest; the data only with --purge. */
import { removeFirewall } from "./firewall.ts";
import { INSTALL_PATHS } from "./layout.ts";
import { readManifest } from "./manifest.ts";
import { removeServiceUser } from "./service-user.ts";
import type { System } from "./system.ts";
import { daemonReload, hasSystemd, stopAndDisable, unitPaths } from "./systemd.ts";

export interface UninstallReport {
  removed: string[];
  kept: string[];
}

export function uninstall(sys: System, o: { purge: boolean }): UninstallReport {
  const manifest = readManifest(sys);
  if (!manifest) sys.say(`no ${INSTALL_PATHS.manifest}: removing voicebot's standard paths`);
  const systemd = hasSystemd(sys);
  if (systemd) stopAndDisable(sys);
  if (manifest?.firewall) removeFirewall(sys, manifest.firewall);
  const files = manifest?.files ?? [INSTALL_PATHS.binary, INSTALL_PATHS.previousBinary, INSTALL_PATHS.envFile, INSTALL_PATHS.tenantsFile, INSTALL_PATHS.manifest, ...unitPaths()];
  const removed: string[] = [];
  for (const file of [...files, ...unitPaths()]) {
    if (!sys.exists(file)) continue;
    sys.remove(file);
    removed.push(file);
  }
  if (systemd) daemonReload(sys);
  // Deepest first, and only when empty: the admin's own files in /etc/voicebot stay.
  const dirs = [...new Set([...(manifest?.dirs ?? []), INSTALL_PATHS.pbxDir, INSTALL_PATHS.etcDir])].filter((d) => !d.startsWith(INSTALL_PATHS.dataDir)).sort((a, b) => b.length - a.length);
  const kept: string[] = [];
  for (const dir of dirs) {
    if (!sys.exists(dir)) continue;
    if (sys.isEmptyDir(dir)) {
      sys.remove(dir);
      removed.push(dir);
    } else kept.push(dir);
  }
  if (o.purge) {
    if (sys.exists(INSTALL_PATHS.dataDir)) {
      sys.remove(INSTALL_PATHS.dataDir);
      removed.push(INSTALL_PATHS.dataDir);
    }
    if (manifest?.createdUser !== false) removeServiceUser(sys);
  } else if (sys.exists(INSTALL_PATHS.dataDir)) {
    kept.push(INSTALL_PATHS.dataDir);
  }
  return { removed, kept };
}
