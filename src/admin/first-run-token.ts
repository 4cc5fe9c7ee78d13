import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log.ts";

/** In the data dir, 0600: the console's token when ADMIN_TOKEN is not set. */
export const ADMIN_TOKEN_FILE = "admin-token";

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/**
 * The token that opens the admin API and the console: ADMIN_TOKEN when set; else the one stored in
 * the data dir, made (and printed in the log, once) on the first start without it, so a fresh
 * install is never open and the admin can still sign in from the log.
 */
export function consoleToken(configured: string | null, dataDir: string, log: Logger): string {
  if (configured !== null) return configured;
  const path = adminTokenPath(dataDir);
  const stored = readStoredToken(dataDir);
  if (stored !== null) {
    chmodSync(path, 0o600);
    return stored;
  }
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  log.warn("ADMIN_TOKEN is not set: a first-run admin token was made; sign in to the console with it (it is kept, and not shown again)", { token, file: path });
  return token;
}

/** The stored first-run token, or null when there is none (for doctor and the CLI). */
export function readStoredToken(dataDir: string): string | null {
  const path = adminTokenPath(dataDir);
  if (!existsSync(path)) return null;
  const token = readFileSync(path, "utf8").trim();
  return token === "" ? null : token;
}
