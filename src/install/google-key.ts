/**
 * The Google Cloud service-account key (GOOGLE_APPLICATION_CREDENTIALS). The admin names a file
 * anywhere (often under /root, which the service user cannot read): install checks it and keeps a
 * copy beside voicebot.env, 0640 root:voicebot, and the env file points at the copy.
 */
import { readFileSync } from "node:fs";
import { readCredentials } from "../config/load-google.ts";
import { ConfigError } from "../config/schema.ts";
import type { Answers } from "./answers.ts";
import { INSTALL_PATHS, SERVICE_USER } from "./layout.ts";
import type { System } from "./system.ts";

const VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS";

/** Why a typed path is not a usable key (one line), or undefined when it is. */
export function googleKeyProblem(path: string): string | undefined {
  try {
    readCredentials({ variable: VARIABLE, value: path, source: "answer" });
    return undefined;
  } catch (error) {
    return error instanceof ConfigError ? `${path}: ${error.allowed}` : String(error);
  }
}

/**
 * The key as serve will read it: a path named by the admin is copied into place (a re-run that
 * names the copy itself keeps it). Returns the copy's path as the staged system sees it, or null
 * without a key.
 */
export function installGoogleKey(sys: System, answers: Answers): string | null {
  const named = answers.get(VARIABLE) ?? "";
  if (named === "") return null;
  if (named !== INSTALL_PATHS.googleKey) {
    sys.write(INSTALL_PATHS.googleKey, readFileSync(named, "utf8"), { mode: 0o640, owner: "root", group: SERVICE_USER }, true);
    answers.set(VARIABLE, INSTALL_PATHS.googleKey);
  }
  return sys.path(INSTALL_PATHS.googleKey);
}
