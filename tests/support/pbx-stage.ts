/**
 * A staged PBX host for apply-on-pbx.sh: a temp root tree (PBX_ROOT) with the PBX's own files, and
 * stub `asterisk`, `fs_cli` and `systemctl` first in PATH that log what they are asked and answer
 * as the real ones do (main/loader.c `module show`, main/pbx.c `dialplan show`, main/manager.c
 * `manager show user`, mod_commands.c `version`/`module_exists`/`reloadxml`/`acl`), reading
 * their state (version, modules, the event socket's live password, calls up) from a state dir; and
 * a stub `curl` standing for voicebot's admin port (the test call through the PBX).
 */
import { afterAll } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { requireTool } from "./system-tools.ts";

const ASTERISK_STUB = `#!/bin/bash
cmd=$2
etc="$PBX_ROOT/etc/asterisk"
printf 'asterisk %s\\n' "$cmd" >> "$STUB_STATE/log"
if [ -f "$STUB_STATE/down" ]; then echo "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)"; exit 1; fi
included() { sed -n 's/^#include "\\{0,1\\}\\([^"]*\\)"\\{0,1\\}$/\\1/p' "$etc/$1" 2>/dev/null; }
case "$cmd" in
  "core show version") echo "Asterisk $(cat "$STUB_STATE/version") built by root @ pbx on a x86_64 running Linux on 2025-06-01 10:00:00 UTC" ;;
  "module show like "*)
    like=\${cmd#module show like }
    printf '%-30s %-40.40s %-10s %-11s %13s\\n' Module Description "Use Count" Status "Support Level"
    n=0
    while read -r name status; do
      case "$name" in *"$like"*) printf '%-30s %-40.40s %-10d %-11s %13s\\n' "$name.so" "a module" 0 "$status" core; n=$((n + 1)) ;; esac
    done < "$STUB_STATE/modules"
    echo "$n modules loaded" ;;
  "dialplan reload") echo "Dialplan reloaded." ;;
  "manager reload"|"module reload "*) ;;
  "dialplan show 777@"*)
    context=\${cmd#dialplan show 777@}
    for file in $(included extensions.conf); do
      if grep -q -x -F "[$context]" "$etc/$file"; then
        printf "[ Context '%s' created by 'pbx_config' ]\\n  '777' =>          1. Answer()        [%s:15]\\n\\n-= 1 extension (9 priorities) in 1 context. =-\\n" "$context" "$file"
        exit 0
      fi
    done
    echo "There is no existence of '$context' context" ;;
  "manager show user "*)
    user=\${cmd#manager show user }
    for file in $(included manager.conf); do
      if grep -q -x -F "[$user]" "$etc/$file"; then printf '\\n          username: %s\\n            secret: <Set>\\n               ACL: yes\\n' "$user"; exit 0; fi
    done
    echo "There is no manager called $user" ;;
  *) echo "No such command '$cmd'" ;;
esac
`;

const FS_CLI_STUB = `#!/bin/bash
password=$(cat "$STUB_STATE/cli-password")
while [ $# -gt 0 ]; do
  case "$1" in -H|-P) shift 2 ;; -p) password=$2; shift 2 ;; -x) cmd=$2; shift 2 ;; *) shift ;; esac
done
printf 'fs_cli %s\\n' "$cmd" >> "$STUB_STATE/log"
if [ "$password" != "$(cat "$STUB_STATE/live-password")" ]; then echo "[ERROR] fs_cli.c:1699 main() Error Connecting []"; exit 255; fi
conf="$PBX_ROOT/etc/freeswitch"
case "$cmd" in
  version) echo "FreeSWITCH Version $(cat "$STUB_STATE/version")+git~20240802T210227Z~a88d069d6f~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)" ;;
  "module_exists "*) if grep -q -x -F "\${cmd#module_exists }" "$STUB_STATE/modules"; then printf true; else printf false; fi ;;
  reloadxml) echo "+OK [Success]" ;;
  reloadacl) echo "+OK acl reloaded" ;;
  "show calls count") printf '\\n%s total.\\n\\n' "$(cat "$STUB_STATE/calls")" ;;
  "xml_locate dialplan context name "*)
    context=\${cmd#xml_locate dialplan context name }
    printf '<context name="%s">\\n' "$context"
    cat "$conf/dialplan/$context"/*.xml 2>/dev/null
    echo "</context>" ;;
  "acl "*)
    set -- $cmd
    if sed -n '/<list name="voicebot"/,/<\\/list>/p' "$conf/autoload_configs/acl.conf.xml" | grep -q "cidr=\\"$2/32\\""; then printf true; else printf false; fi ;;
  *) echo "-ERR $cmd Command not found!" ;;
esac
`;

/** systemctl restart freeswitch: the event socket now takes the password its (installed) file says. */
const SYSTEMCTL_STUB = `#!/bin/bash
printf 'systemctl %s\\n' "$*" >> "$STUB_STATE/log"
file="$PBX_ROOT/etc/freeswitch/autoload_configs/event_socket.conf.xml"
[ "$*" = "restart freeswitch" ] && sed -n 's/.*name="password" value="\\([^"]*\\)".*/\\1/p' "$file" > "$STUB_STATE/live-password.new" && mv "$STUB_STATE/live-password.new" "$STUB_STATE/live-password"
exit 0
`;

/** voicebot's admin port as the PBX host's curl reaches it: the answer in voicebot-answer, else no connection. */
const CURL_STUB = `#!/bin/bash
printf 'curl %s\\n' "$*" >> "$STUB_STATE/log"
if [ -f "$STUB_STATE/voicebot-answer" ]; then cat "$STUB_STATE/voicebot-answer"; exit 0; fi
echo "curl: (7) Failed to connect to 192.0.2.10 port 9091 after 3 ms: Couldn't connect to server" >&2
exit 7
`;

export const PASSING_TEST_CALL = "PASS  pbx.call  Asterisk at 192.0.2.5:5038: Local/777@voicebot answered, greeted after 240 ms, ended cleanly\n";

export interface Stage {
  root: string;
  state: string;
  /** Writes a file of the staged host (path absolute on the PBX, e.g. /etc/asterisk/manager.conf). */
  put(path: string, content: string, mode?: number): void;
  read(path: string): string;
  /** A stub's state file: version, modules (one a line, Asterisk: "name status"), live-password, calls, voicebot-answer. */
  setState(name: string, content: string): void;
  clearState(name: string): void;
  /** What the stubs were asked, then forgotten. */
  takeLog(): string[];
  /** Runs the script with `shell`; stdout and stderr apart. */
  run(shell: string, script: string, args?: string[]): { code: number; stdout: string; stderr: string };
  /** The same, leaving this process's event loop free (for peers living in it, e.g. a fake Asterisk). */
  runAsync(shell: string, script: string, args?: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Every file and directory of the staged tree: path → mode and content (directories: mode only). */
  tree(skip?: string): Record<string, string>;
}

/**
 * One staged PBX host; each test file gets its own temp dir, removed after it. `realCurl`: the
 * script's curl reaches a real voicebot (else the stub answers for it).
 */
export function stagePbx(o: { realCurl?: boolean } = {}): Stage {
  const top = mkdtempSync(join(tmpdir(), "voicebot-apply-on-pbx-"));
  afterAll(() => rmSync(top, { recursive: true, force: true }));
  const root = join(top, "root");
  const state = join(top, "state");
  const bin = join(top, "bin");
  for (const dir of [root, state, bin]) mkdirSync(dir);
  const stubs = [["asterisk", ASTERISK_STUB], ["fs_cli", FS_CLI_STUB], ["systemctl", SYSTEMCTL_STUB], ...(o.realCurl ? [] : [["curl", CURL_STUB]])];
  for (const [name, text] of stubs) writeFileSync(join(bin, name as string), text as string, { mode: 0o755 });
  writeFileSync(join(state, "voicebot-answer"), PASSING_TEST_CALL);
  const put = (path: string, content: string, mode = 0o644): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    chmodSync(join(root, path), mode);
  };
  const tree = (skip = "/var/backups"): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (dir: string): void => {
      for (const name of readdirSync(join(root, dir)).sort()) {
        const path = `${dir}/${name}`;
        if (path === skip) continue;
        const stat = lstatSync(join(root, path));
        const mode = (stat.mode & 0o7777).toString(8);
        if (stat.isDirectory()) {
          out[`${path}/`] = mode;
          walk(path);
        } else {
          out[path] = `${mode} ${readFileSync(join(root, path), "base64")}`;
        }
      }
    };
    walk("");
    return out;
  };
  const env = { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, PBX_ROOT: root, STUB_STATE: state, HOME: top };
  return {
    root,
    state,
    put,
    read: (path) => readFileSync(join(root, path), "utf8"),
    setState: (name, content) => writeFileSync(join(state, name), content),
    clearState: (name) => rmSync(join(state, name), { force: true }),
    takeLog: () => {
      const file = join(state, "log");
      if (!existsSync(file)) return [];
      const lines = readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
      rmSync(file);
      return lines;
    },
    run: (shell, script, args = []) => {
      const p = Bun.spawnSync([shell, script, ...args], { env, stdout: "pipe", stderr: "pipe" });
      return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
    },
    runAsync: async (shell, script, args = []) => {
      const p = Bun.spawn([shell, script, ...args], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, stdout, stderr };
    },
    tree,
  };
}

/** The shells the script is run with: bash, and dash (Debian's sh, what `sudo sh` runs) when present. */
export const SHELLS = ["/bin/bash", "/bin/dash"].filter((s) => existsSync(s));

/** A script's output, one line an entry, blank lines dropped. */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/** shellcheck's findings for a POSIX sh script (what `sudo sh` runs): "" when it has none. */
export function shellcheck(script: string): string {
  const p = Bun.spawnSync([requireTool("shellcheck"), "--shell=sh", "--format=gcc", script], { stdout: "pipe", stderr: "pipe" });
  return `${p.stdout.toString()}${p.stderr.toString()}`.trim();
}
