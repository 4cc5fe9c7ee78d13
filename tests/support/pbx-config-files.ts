/**
 * What the pbx-config tests share: the appliance's address, tokens that need escaping, and a config
 * and tenants loaded from throw-away env and TOML files (removed after the test file).
 */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { Tenants } from "../../src/config/tenant.ts";
import { loadTenants } from "../../src/config/tenants.ts";
import type { PbxRendering } from "../../src/install/pbx-render.ts";
import { findTool } from "./system-tools.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const HOST = "192.0.2.10";
export const CALL = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
export const FUSION_DOMAIN = "3f1c2b9a-1234-4abc-9def-0123456789ab";
export const ADMIN_TOKEN = "adm:in/t%k&=";
export const PBX_TOKEN = "pbx:on/ly%&=";
export const STREAM_TOKEN = "st&re=am?x";

export const TENANTS_TOML = `[tenants.acme]\ncompany_name = "ACME"\naliases = ["acme.example.com", "${FUSION_DOMAIN}"]\n\n`
  + `[tenants.globex]\ncompany_name = "Globex"\n`;

export interface PbxFiles {
  /** The temp dir itself (a cwd, an --out target). */
  root: string;
  tempFile(name: string, text: string): string;
  envFile(values: Record<string, string>): string;
  setup(tenantCount: 1 | 3, tokens: boolean, extra?: Record<string, string>): { config: Config; tenants: Tenants };
}

/** A temp dir for this test file's env and TOML files, removed after it. */
export function pbxFiles(): PbxFiles {
  const root = mkdtempSync(join(tmpdir(), "voicebot-pbx-config-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let serial = 0;
  const tempFile = (name: string, text: string): string => {
    const path = join(root, `${++serial}-${name}`);
    writeFileSync(path, text);
    return path;
  };
  const envFile = (values: Record<string, string>): string => tempFile("voicebot.env", Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
  const setup = (tenantCount: 1 | 3, tokens: boolean, extra: Record<string, string> = {}): { config: Config; tenants: Tenants } => {
    const env: Record<string, string> = { HTTP_HOST: "0.0.0.0", AUDIOSTREAM_HOST: "0.0.0.0", TENANTS_FILE: tempFile("tenants.toml", tenantCount === 3 ? TENANTS_TOML : ""), ...extra };
    if (tokens) Object.assign(env, { ADMIN_TOKEN, PBX_TOKEN, AUDIOSTREAM_TOKEN: STREAM_TOKEN });
    const config = loadConfig({ config: envFile(env) }, {});
    return { config, tenants: loadTenants(config) };
  };
  return { root, tempFile, envFile, setup };
}

export function file(rendering: PbxRendering, path: string): string {
  const found = rendering.files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} not rendered; got ${rendering.files.map((f) => f.path).join(", ")}`);
  return found.content;
}

/** Debian's libxml2-utils and lua5.4 (npm test installs them when it can); null when one is missing. */
export function freeswitchTools(): { xmllint: string; luac: string; lua: string } | null {
  const [xmllint, luac, lua] = [findTool("xmllint"), findTool("luac"), findTool("lua")];
  return xmllint && luac && lua ? { xmllint, luac, lua } : null;
}

/** A checking tool's exit code and everything it printed. */
export function run(cmd: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}
