/**
 * Runs one extension of a rendered extensions.conf the way Asterisk's pbx does, for the functions
 * and applications voicebot's templates use: innermost ${…} first, then $[…]; CURL() really
 * requests the URL (the body whatever the status, trimmed; "" when it cannot connect, as
 * func_curl.c does); GLOBAL() lives as long as the runner (Asterisk's globals).
 */
import type { Priority } from "./asterisk-apps.ts";

export interface DialplanRun {
  /** Each AudioSocket() call's arguments (uuid,host:port), in order. */
  sockets: string[];
  /** Each Playback() call's argument. */
  played: string[];
  /** Each Dial() call's arguments. */
  dialed: string[];
  /** Each CURL() URL, in order. */
  requested: string[];
  /** "hangup", "goto <context,exten,priority>" or "fell off the end". */
  outcome: string;
}

export interface DialplanWorld {
  uuid: () => string;
  callerNumber: string;
  exten: string;
  /** DIALSTATUS after Dial(args); unset = CHANUNAVAIL (nothing answers). */
  dial?: (args: string) => string;
}

const EXPRESSION_TOKEN = /\s*("[^"]*"|\d+|>=|<=|!=|[=<>+\-*/%|&()])/y;

/** Asterisk's $[…] for what the templates write: numbers, quoted strings, comparison, | & and arithmetic. */
export function evaluateExpression(text: string): string {
  let js = "";
  EXPRESSION_TOKEN.lastIndex = 0;
  while (EXPRESSION_TOKEN.lastIndex < text.trimEnd().length) {
    const m = EXPRESSION_TOKEN.exec(text);
    if (m === null) throw new Error(`$[${text}]: cannot parse at ${EXPRESSION_TOKEN.lastIndex}`);
    const t = m[1] as string;
    js += t === "=" ? "===" : t === "|" ? "||" : t === "&" ? "&&" : /^\d+$/.test(t) ? String(Number(t)) : t;
    js += " ";
  }
  const value: unknown = new Function(`return (${js});`)();
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return String(Math.trunc(value));
  throw new Error(`$[${text}]: gave ${String(value)}`);
}

export class AsteriskRunner {
  readonly globals = new Map<string, string>();

  constructor(private readonly world: DialplanWorld) {}

  async run(priorities: Priority[]): Promise<DialplanRun> {
    const vars = new Map<string, string>([["EXTEN", this.world.exten]]);
    const run: DialplanRun = { sockets: [], played: [], dialed: [], requested: [], outcome: "fell off the end" };
    const call = async (name: string, args: string): Promise<string> => {
      if (name === "UUID") return this.world.uuid();
      if (name === "CALLERID" && args === "num") return this.world.callerNumber;
      if (name === "URIENCODE") return encodeURIComponent(args);
      if (name === "GLOBAL") return this.globals.get(args) ?? "";
      if (name !== "CURL") throw new Error(`no simulation for ${name}(${args})`);
      const [url, post] = args.split(",");
      run.requested.push(url as string);
      try {
        const res = await fetch(url as string, post === undefined ? {} : { method: "POST", body: post, headers: { "content-type": "application/x-www-form-urlencoded" } });
        return (await res.text()).trim();
      } catch {
        return "";
      }
    };
    const expand = async (text: string): Promise<string> => {
      for (;;) {
        const v = /\$\{([^${}]*)\}/.exec(text);
        if (v !== null) {
          const inner = v[1] as string;
          const f = /^([A-Za-z_]+)\((.*)\)$/.exec(inner);
          const sub = /^([A-Za-z_]+)(?::(\d+)(?::(\d+))?)?$/.exec(inner);
          let value: string;
          if (f !== null) value = await call(f[1] as string, f[2] as string);
          else if (sub !== null) {
            const whole = vars.get(sub[1] as string) ?? "";
            const from = Number(sub[2] ?? 0);
            value = whole.slice(from, sub[3] === undefined ? undefined : from + Number(sub[3]));
          } else throw new Error(`cannot expand \${${inner}}`);
          text = text.slice(0, v.index) + value + text.slice(v.index + v[0].length);
          continue;
        }
        const e = /\$\[([^$[\]]*)\]/.exec(text);
        if (e === null) return text;
        text = text.slice(0, e.index) + evaluateExpression(e[1] as string) + text.slice(e.index + e[0].length);
      }
    };
    const jump = (label: string): number => {
      const at = priorities.findIndex((q) => q.label === label);
      if (at < 0) throw new Error(`no priority labelled ${label}`);
      return at - 1;
    };
    for (let pc = 0, steps = 0; pc < priorities.length; pc++) {
      if (++steps > 500) throw new Error("the dialplan loops");
      const p = priorities[pc] as Priority;
      if (p.app === "Set" && p.args.startsWith("CURLOPT(")) continue;
      const args = await expand(p.args);
      if (p.app === "Set") {
        const name = args.slice(0, args.indexOf("="));
        const value = args.slice(args.indexOf("=") + 1);
        const global = /^GLOBAL\((.+)\)$/.exec(name);
        if (global) this.globals.set(global[1] as string, value);
        else vars.set(name, value);
      } else if (p.app === "AudioSocket") run.sockets.push(args);
      else if (p.app === "Playback") run.played.push(args);
      else if (p.app === "Dial") {
        run.dialed.push(args);
        vars.set("DIALSTATUS", this.world.dial?.(args) ?? "CHANUNAVAIL");
      }
      else if (p.app === "GotoIf") {
        const [cond, label] = args.split("?");
        if (cond === "1") pc = jump(label as string);
      } else if (p.app === "Goto") {
        if (args.includes(",")) return { ...run, outcome: `goto ${args}` };
        pc = jump(args);
      } else if (p.app === "Hangup") return { ...run, outcome: "hangup" };
    }
    return run;
  }
}
