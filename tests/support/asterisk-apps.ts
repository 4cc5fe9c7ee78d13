/**
 * The Asterisk dialplan applications and functions voicebot's templates may use, each with the
 * source file that registers it. Checked in asterisk/asterisk (master f0c1c1a7) on the release tags
 * 20.14.0, 21.9.0, 22.4.0, 23.0.0 and 23.4.1 and the heads of branches 20 to 23: every name below
 * is registered in all of them. The shipped dialplan needs 20.14/21.9/22.4/23.0 anyway (AudioSocket()
 * going on in the dialplan after the server's 0x00), which is also where UUID() is present in every line.
 * Also a small extensions.conf reader, to check a rendered dialplan against these names.
 */
export interface AsteriskName {
  name: string;
  /** The file whose registration (ast_register_application / ast_custom_function) makes it exist. */
  source: string;
  /** First release of each line that has it, when that is later than the line's first release. */
  since?: string;
}

export const ASTERISK_APPLICATIONS: readonly AsteriskName[] = [
  { name: "Answer", source: "main/pbx_builtins.c" },
  { name: "AudioSocket", source: "apps/app_audiosocket.c" },
  { name: "Dial", source: "apps/app_dial.c" },
  { name: "Goto", source: "main/pbx_builtins.c" },
  { name: "GotoIf", source: "main/pbx_builtins.c" },
  { name: "Hangup", source: "main/pbx_builtins.c" },
  { name: "Log", source: "apps/app_verbose.c" },
  { name: "NoOp", source: "main/pbx_builtins.c" },
  { name: "Playback", source: "apps/app_playback.c" },
  { name: "Set", source: "main/pbx_variables.c" },
  { name: "Verbose", source: "apps/app_verbose.c" },
];

export const ASTERISK_FUNCTIONS: readonly AsteriskName[] = [
  { name: "CALLERID", source: "funcs/func_callerid.c" },
  { name: "CURL", source: "funcs/func_curl.c" },
  { name: "CURLOPT", source: "funcs/func_curl.c" },
  { name: "CUT", source: "funcs/func_cut.c" },
  { name: "GLOBAL", source: "funcs/func_global.c" },
  { name: "URIENCODE", source: "funcs/func_uri.c" },
  { name: "UUID", source: "funcs/func_uuid.c", since: "20.12.0, 21.7.0, 22.2.0, 23.0.0" },
];

/** The CURLOPT keys func_curl.c's parse_curlopt_key accepts that the templates set. */
export const CURLOPT_KEYS: readonly string[] = ["conntimeout", "httptimeout"];

/** One priority of an extension: `exten => 777,1,App(args)` or `same => n(label),App(args)`. */
export interface Priority {
  exten: string;
  label: string | null;
  app: string;
  args: string;
}

/** extensions.conf as pbx_config reads it: [context], exten =>/same =>, ; comments, App(args) balanced. */
export function parseExtensions(text: string): Map<string, Priority[]> {
  const contexts = new Map<string, Priority[]>();
  let current: Priority[] | null = null;
  let exten: string | null = null;
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/(?<!\\);.*$/, "").trim();
    if (line === "") return;
    const where = `extensions line ${i + 1} ${JSON.stringify(raw)}`;
    const context = /^\[([^\]]*)\]$/.exec(line);
    if (context) {
      const name = context[1] as string;
      if (!/^[A-Za-z0-9._-]{1,79}$/.test(name) || contexts.has(name)) throw new Error(`${where}: bad or repeated context`);
      current = [];
      contexts.set(name, current);
      exten = null;
      return;
    }
    const m = /^(exten|same)\s*=>\s*(.*)$/.exec(line);
    if (!m || current === null) throw new Error(`${where}: not a dialplan line inside a context`);
    let rest = m[2] as string;
    if (m[1] === "exten") {
      exten = rest.slice(0, rest.indexOf(","));
      rest = rest.slice(rest.indexOf(",") + 1);
    }
    const p = /^(\d+|n)(?:\(([A-Za-z_][A-Za-z0-9_-]*)\))?,([A-Za-z][A-Za-z0-9_]*)\((.*)\)$/.exec(rest);
    if (!p || exten === null || (m[1] === "exten") !== (p[1] === "1")) throw new Error(`${where}: expected exten => X,1,App(args) or same => n[(label)],App(args)`);
    checkBalanced(p[4] as string, where);
    current.push({ exten, label: p[2] ?? null, app: p[3] as string, args: p[4] as string });
  });
  return contexts;
}

function checkBalanced(args: string, where: string): void {
  const stack: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const c = args[i] as string;
    if (c === "$" && (args[i + 1] === "{" || args[i + 1] === "[")) stack.push(args[++i] === "{" ? "}" : "]");
    else if (c === "(") stack.push(")");
    else if (c === ")" || c === "}" || c === "]") {
      if (stack.pop() !== c) throw new Error(`${where}: unbalanced ${c} at ${i}`);
    } else if (c === "{" || c === "[") throw new Error(`${where}: a bare ${c} at ${i}`);
  }
  if (stack.length > 0) throw new Error(`${where}: ${stack.reverse().join("")} never closed`);
}

/** The functions a priority reads (`${NAME(…)}`) or writes (`Set(NAME(…)=…)`). */
export function functionsIn(p: Priority): string[] {
  const read = [...p.args.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\(/g)].map((m) => m[1] as string);
  const written = p.app === "Set" ? /^([A-Za-z_]+)\(/.exec(p.args)?.[1] : undefined;
  return written === undefined ? read : [...read, written];
}
