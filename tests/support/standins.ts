/**
 * Stand-ins for the system commands the installer runs (systemctl, ufw, nft, useradd, userdel,
 * getent): shell scripts first on PATH that log their arguments and keep just enough state to
 * answer the installer's probes the way the real tools would.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StandinOptions {
  /** ufw installed and active, installed but inactive, or not installed (default absent). */
  ufw?: "active" | "inactive" | "absent";
  /** The voicebot user already exists. */
  userExists?: boolean;
  /** Commands that exit 1, as "name firstArg" (e.g. "systemctl restart") or "name". */
  failOn?: string[];
  /** Shell run (in the background) when `systemctl restart|start voicebot.service` is called. */
  onStart?: string;
  /** Shell run, and waited for, when the service stops (`stop`, `restart`, `disable --now`): as systemd does. */
  onStop?: string;
}

export interface Standins {
  binDir: string;
  stateDir: string;
  env: Record<string, string>;
  /** Each command run so far, as [name, ...args]. */
  calls(): string[][];
  cleanup(): void;
}

const LOG = `printf '%s' "$(basename "$0")" >> "$STANDIN_STATE/log"; for a in "$@"; do printf '\\t%s' "$a" >> "$STANDIN_STATE/log"; done; printf '\\n' >> "$STANDIN_STATE/log"`;

function failCheck(name: string): string {
  return `for f in $STANDIN_FAIL; do if [ "$f" = "${name}" ] || [ "$f" = "${name}:$1" ]; then echo "${name}: failing as asked" >&2; exit 1; fi; done`;
}

const SCRIPTS: Record<string, string> = {
  systemctl: `${failCheck("systemctl")}
case "$1" in
  is-active) if [ -f "$STANDIN_STATE/active" ]; then echo active; else echo inactive; exit 3; fi ;;
  is-enabled) if [ -f "$STANDIN_STATE/enabled" ]; then echo enabled; else echo disabled; exit 1; fi ;;
  enable) touch "$STANDIN_STATE/enabled"; for a in "$@"; do [ "$a" = "--now" ] && touch "$STANDIN_STATE/active"; done; [ -f "$STANDIN_STATE/active" ] && [ -n "$STANDIN_ON_START" ] && (sh -c "$STANDIN_ON_START" >/dev/null 2>&1 &) ;;
  disable) rm -f "$STANDIN_STATE/enabled"; for a in "$@"; do [ "$a" = "--now" ] && rm -f "$STANDIN_STATE/active" && sh -c "$STANDIN_ON_STOP"; done ;;
  start) touch "$STANDIN_STATE/active"; [ -n "$STANDIN_ON_START" ] && (sh -c "$STANDIN_ON_START" >/dev/null 2>&1 &) ;;
  restart) sh -c "$STANDIN_ON_STOP"; touch "$STANDIN_STATE/active"; [ -n "$STANDIN_ON_START" ] && (sh -c "$STANDIN_ON_START" >/dev/null 2>&1 &) ;;
  stop) rm -f "$STANDIN_STATE/active"; sh -c "$STANDIN_ON_STOP" ;;
esac
exit 0`,
  ufw: `${failCheck("ufw")}
case "$1" in
  status) if [ -f "$STANDIN_STATE/ufw-active" ]; then echo "Status: active"; echo; echo "To                         Action      From"; echo "--                         ------      ----"; [ -f "$STANDIN_STATE/ufw-rules" ] && awk '{ port=""; proto="tcp"; from="Anywhere"; c=""; for (i=1;i<=NF;i++) { if ($i=="port") port=$(i+1); if ($i=="proto") proto=$(i+1); if ($i=="from") from=$(i+1); if ($i=="comment") { for (j=i+1;j<=NF;j++) c=c (j>i+1?" ":"") $j } } printf "%-26s ALLOW       %-26s # %s\\n", port "/" proto, from, c }' "$STANDIN_STATE/ufw-rules"; else echo "Status: inactive"; fi ;;
  allow) shift; line="$*"; if grep -qxF "$line" "$STANDIN_STATE/ufw-rules" 2>/dev/null; then echo "Skipping adding existing rule"; else echo "$line" >> "$STANDIN_STATE/ufw-rules"; echo "Rule added"; fi ;;
  delete) shift; [ "$1" = "allow" ] && shift; line="$*"; if grep -qxF "$line" "$STANDIN_STATE/ufw-rules" 2>/dev/null; then grep -vxF "$line" "$STANDIN_STATE/ufw-rules" > "$STANDIN_STATE/ufw-rules.new"; mv "$STANDIN_STATE/ufw-rules.new" "$STANDIN_STATE/ufw-rules"; echo "Rule deleted"; else echo "Could not delete non-existent rule"; fi ;;
esac
exit 0`,
  nft: `${failCheck("nft")}
case "$1" in
  -f) cp "$2" "$STANDIN_STATE/nft-table" ;;
  -c) exit 0 ;;
  list) [ -f "$STANDIN_STATE/nft-table" ] || { echo "Error: No such file or directory" >&2; exit 1; }; cat "$STANDIN_STATE/nft-table" ;;
  delete) rm -f "$STANDIN_STATE/nft-table" ;;
esac
exit 0`,
  useradd: `${failCheck("useradd")}
for last; do :; done; echo "$last:x:990:990::/var/lib/voicebot:/usr/sbin/nologin" >> "$STANDIN_STATE/passwd"; echo "$last:x:990:" >> "$STANDIN_STATE/group"
exit 0`,
  userdel: `${failCheck("userdel")}
rm -f "$STANDIN_STATE/passwd" "$STANDIN_STATE/group"
exit 0`,
  getent: `case "$2" in
  voicebot) if [ "$1" = passwd ] || [ "$1" = group ]; then [ -f "$STANDIN_STATE/$1" ] && grep "^voicebot:" "$STANDIN_STATE/$1" && exit 0; exit 2; fi ;;
esac
exec /usr/bin/getent "$@"`,
};

export function createStandins(options: StandinOptions = {}): Standins {
  const base = mkdtempSync(join(tmpdir(), "voicebot-standins-"));
  const binDir = join(base, "bin");
  const stateDir = join(base, "state");
  mkdirSync(binDir);
  mkdirSync(stateDir);
  const ufw = options.ufw ?? "absent";
  for (const [name, body] of Object.entries(SCRIPTS)) {
    if (name === "ufw" && ufw === "absent") continue;
    const path = join(binDir, name);
    // getent answers probes: it does not log, or every install would look busy.
    writeFileSync(path, `#!/bin/sh\n${name === "getent" ? "" : LOG + "\n"}${body}\n`);
    chmodSync(path, 0o755);
  }
  if (ufw === "active") writeFileSync(join(stateDir, "ufw-active"), "");
  if (options.userExists) {
    writeFileSync(join(stateDir, "passwd"), "voicebot:x:990:990::/var/lib/voicebot:/usr/sbin/nologin\n");
    writeFileSync(join(stateDir, "group"), "voicebot:x:990:\n");
  }
  return {
    binDir,
    stateDir,
    env: {
      PATH: `${binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: process.env.HOME ?? "/tmp",
      STANDIN_STATE: stateDir,
      STANDIN_FAIL: (options.failOn ?? []).map((f) => f.replace(" ", ":")).join(" "),
      STANDIN_ON_START: options.onStart ?? "",
      STANDIN_ON_STOP: options.onStop ?? "true",
      // npm test's marker: a service the stand-in systemctl started is found and stopped with its test.
      ...(process.env.VOICEBOT_TEST_JOB === undefined ? {} : { VOICEBOT_TEST_JOB: process.env.VOICEBOT_TEST_JOB }),
    },
    calls() {
      let text = "";
      try {
        text = readFileSync(join(stateDir, "log"), "utf8");
      } catch {
        return [];
      }
      return text.split("\n").filter((l) => l !== "").map((l) => l.split("\t"));
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}
