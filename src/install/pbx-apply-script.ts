/**
 * apply-on-pbx.sh: the one script per PBX kind that the admin copies to the PBX host and runs as
 * root. It carries every rendered file of its kind (base64, so no quoting or heredoc can break
 * them) with its target path and mode, and the shell in install/ and asterisk|freeswitch/ that
 * checks the PBX, backs up, installs, reloads and verifies (and undoes).
 */
import asteriskTemplate from "../../asterisk/apply-on-pbx.sh.tmpl" with { type: "text" };
import freeswitchTemplate from "../../freeswitch/apply-on-pbx.sh.tmpl" with { type: "text" };
import commonTemplate from "../../install/apply-on-pbx-common.sh.tmpl" with { type: "text" };
import type { RenderedFile, TemplateFill } from "./pbx-render.ts";

/** It holds the PBX's secrets (AMI secret, ESL password, tokens): root's alone. */
export const APPLY_SCRIPT_MODE = 0o700;

export const APPLY_SCRIPT_NAME = "apply-on-pbx.sh";

/** What the steps lead with: the script does what the by-hand steps after it describe. */
export function applyScriptStep(path: string): string {
  return `Copy ${path} to the PBX host and run it as root (\`sudo sh ${APPLY_SCRIPT_NAME}\`): it backs up, installs, reloads and checks; `
    + "`--undo` reverts. The steps after this one do the same by hand.";
}

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** A shell word holding `value` as is. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}

function installLine(target: string, file: RenderedFile, indent = "  "): string {
  return `${indent}install_file "${target}" ${octal(file.mode)} "$OWNER" '${base64(file.content)}'`;
}

function rendered(files: readonly RenderedFile[], path: string): RenderedFile {
  const file = files.find((f) => f.path === path);
  if (file === undefined) throw new Error(`apply-on-pbx.sh: ${path} was not rendered`);
  return file;
}

/** The `[context]` headers of an Asterisk configuration file, in order. */
function sectionNames(content: string): string[] {
  return [...content.matchAll(/^\[([^\]\n]+)\]$/gm)].map((m) => m[1] as string);
}

export interface AsteriskScriptValues {
  host: string;
  /** POST here asks voicebot for the test call through the PBX; null when the PBX cannot reach it. */
  checkUrl: string | null;
  loopback: boolean;
  amiUser: string;
  /** False while AMI_HOST is unset: the AMI user (with a placeholder secret) is then left out. */
  amiConfigured: boolean;
}

export function asteriskApplyScript(files: readonly RenderedFile[], v: AsteriskScriptValues, fill: TemplateFill): RenderedFile {
  const asteriskFiles = files.filter((f) => f.path.startsWith("asterisk/") && (v.amiConfigured || f.path !== "asterisk/manager_voicebot.conf"));
  const installs = asteriskFiles.map((f) => installLine(`$ETC/${f.path.slice("asterisk/".length)}`, f));
  const contexts = asteriskFiles.filter((f) => f.path.includes("/extensions_")).flatMap((f) => sectionNames(f.content));
  const content = fill("apply-on-pbx.sh.tmpl", asteriskTemplate, {
    host: v.host,
    checkUrl: shellQuote(v.checkUrl ?? ""),
    user: v.amiUser,
    ami: v.amiConfigured ? "yes" : "no",
    loopback: v.loopback ? "yes" : "no",
    contexts: contexts.join(" "),
    installs: installs.join("\n"),
    common: commonTemplate,
  });
  return { path: `asterisk/${APPLY_SCRIPT_NAME}`, content, mode: APPLY_SCRIPT_MODE };
}

export interface FreeswitchScriptValues {
  kind: "freeswitch" | "3cx";
  host: string;
  checkUrl: string | null;
  eslConfigured: boolean;
  eslPort: number;
  /** As typed in ESL_PASSWORD (the rendered XML holds it escaped). */
  eslPassword: string;
}

export function freeswitchApplyScript(files: readonly RenderedFile[], v: FreeswitchScriptValues, fill: TemplateFill): RenderedFile {
  // Calls from 3CX come over a trunk, into the public context; plain FreeSWITCH users dial 8000 in default.
  const context = v.kind === "3cx" ? "public" : "default";
  const installs = [installLine("$DIALPLAN", rendered(files, "freeswitch/voicebot_dialplan.xml"))];
  const lua = files.find((f) => f.path === "freeswitch/voicebot.lua");
  if (lua !== undefined) installs.push(installLine("$FS_SCRIPTS/voicebot.lua", lua));
  // The dialplan for several appliances runs voicebot.lua itself: without mod_lua no call would be streamed.
  const luaCheck = rendered(files, "freeswitch/voicebot_dialplan.xml").content.includes('application="lua"')
    ? `  [ "$(cli 'module_exists mod_lua')" = true ] || fail "mod_lua is not loaded: the dialplan for several appliances runs voicebot.lua; \\\`fs_cli -x 'load mod_lua'\\\` and <load module=\\"mod_lua\\"/> in autoload_configs/modules.conf.xml. Nothing was changed."\n  say "OK: mod_lua is loaded"\n`
    : "";
  const content = fill("apply-on-pbx.sh.tmpl", freeswitchTemplate, {
    host: v.host,
    checkUrl: shellQuote(v.checkUrl ?? ""),
    kind: v.kind,
    context,
    luaUsage: lua === undefined ? "" : " and voicebot.lua (FusionPBX) to the scripts directory",
    luaCheck,
    eslConfigured: v.eslConfigured ? "yes" : "no",
    eslPort: String(v.eslPort),
    eslPassword: shellQuote(v.eslPassword),
    installs: installs.join("\n"),
    aclList: base64(rendered(files, "freeswitch/acl_voicebot.xml").content),
    eventSocketInstall: installLine("$EVENT_SOCKET", rendered(files, "freeswitch/event_socket.conf.xml"), "    "),
    common: commonTemplate,
  });
  return { path: `freeswitch/${APPLY_SCRIPT_NAME}`, content, mode: APPLY_SCRIPT_MODE };
}
