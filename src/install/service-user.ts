/** The `voicebot` system user the service runs as: no shell, no home of its own, no login. */
import { INSTALL_PATHS, SERVICE_USER } from "./layout.ts";
import type { System } from "./system.ts";

function serviceUserExists(sys: System): boolean {
  return sys.run(["getent", "passwd", SERVICE_USER], { probe: true }).code === 0;
}

export function ensureServiceUser(sys: System): { created: boolean } {
  if (serviceUserExists(sys)) return { created: false };
  const r = sys.run(["useradd", "--system", "--user-group", "--home-dir", INSTALL_PATHS.dataDir, "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER]);
  if (r.code !== 0) throw new Error(`useradd ${SERVICE_USER} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return { created: true };
}

export function removeServiceUser(sys: System): void {
  if (!serviceUserExists(sys)) return;
  const r = sys.run(["userdel", SERVICE_USER]);
  if (r.code !== 0) sys.say(`warning: userdel ${SERVICE_USER} failed (exit ${r.code}): ${r.stderr.trim()}`);
}
