/** How one signs in to the admin API and the console, and that the first-run token is private. */
import { statSync } from "node:fs";
import { adminTokenPath, readStoredToken } from "../admin/first-run-token.ts";
import type { Check } from "./doctor-check.ts";
import { fail, pass } from "./doctor.ts";

export const adminTokenCheck: Check = {
  id: "admin-token",
  async run(ctx) {
    const config = ctx.config;
    if (!config) return fail("admin-token", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    if (config.adminToken !== null) return pass("admin-token", "ADMIN_TOKEN opens the admin API and signs in to the console");
    const path = adminTokenPath(config.dataDir);
    if (readStoredToken(config.dataDir) === null) {
      return pass("admin-token", `no ADMIN_TOKEN: serve makes a first-run token at its next start, logs it once and keeps it in ${path}`);
    }
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) return fail("admin-token", `${path} is ${mode.toString(8).padStart(4, "0")}: other users can read the console's token`, `sudo chmod 0600 ${path}`);
    return pass("admin-token", `no ADMIN_TOKEN: the console's first-run token is in ${path} (0600)`);
  },
};
