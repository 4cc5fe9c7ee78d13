/**
 * The fake Asterisk's Originate of a Local channel, played against a real voicebot: the ";2" half
 * runs the rendered dialplan (extensions_voicebot.conf) as Asterisk does — `${…}` substitution
 * with UUID(), CALLERID(num), EXTEN, URIENCODE() and CURL() (func_curl: a form POST with
 * postdata, a GET without; the body with trailing blanks trimmed, "" when the request fails),
 * Set, Answer, AudioSocket (the UUID message, then 20 ms of slin silence every 20 ms until the
 * channel hangs up or voicebot ends the stream, then on to the next priority), GotoIf, Goto,
 * Hangup — while the ";1" half runs the originate's application (Wait(n)). The ";2" half's caller
 * number is Originate's CallerID number as Asterisk shrinks it ("-" dropped). Events as Asterisk
 * words them: Newchannel, Newexten, VarSet, OriginateResponse (Reason 4 answered, 0 when the
 * call could not be placed), Hangup with Cause. Bundled into the binary: no test-only imports.
 */
import type { Socket } from "bun";
import { randomUUID } from "node:crypto";
import { AudioSocketParser, encodeMessage, Kind, uuidFromString, writeAudioMessage } from "../../src/transports/audiosocket-codec.ts";
import { variableEnd } from "./dialplan-variables.ts";

export interface FakeAsteriskDialplan {
  /** The rendered extensions_voicebot.conf. */
  text: string;
  /** Applications whose module is not loaded (e.g. "AudioSocket"): the dialplan stops there, as Asterisk's does. */
  missingApps?: string[];
}

type Fields = [string, string][];
interface Step { label: string | null; app: string; args: string }
type Dialplan = Map<string, Map<string, Step[]>>;

/** `[context]`, `exten => 777,1,App(args)` and `same => n(label),App(args)` lines. */
function parseDialplan(text: string): Dialplan {
  const plan: Dialplan = new Map();
  let context: Map<string, Step[]> | null = null;
  let steps: Step[] | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith(";")) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      context = new Map();
      plan.set(section[1]!, context);
      continue;
    }
    const m = /^(exten|same)\s*=>\s*(.*)$/.exec(line);
    if (!m || context === null) continue;
    let rest = m[2]!;
    if (m[1] === "exten") {
      const exten = rest.slice(0, rest.indexOf(","));
      rest = rest.slice(exten.length + 1);
      steps = context.get(exten) ?? [];
      context.set(exten, steps);
    }
    const priority = rest.slice(0, rest.indexOf(","));
    const call = rest.slice(priority.length + 1);
    const open = call.indexOf("(");
    const label = /\((\w+)\)$/.exec(priority)?.[1] ?? null;
    steps?.push({ label, app: open < 0 ? call : call.slice(0, open), args: open < 0 ? "" : call.slice(open + 1, call.lastIndexOf(")")) });
  }
  return plan;
}

interface Half {
  name: string;
  uniqueid: string;
  state: "Down" | "Ring" | "Up";
  exten: string;
  context: string;
  priority: number;
  callerNum: string;
}

const STATE_CODE = { Down: "0", Ring: "4", Up: "6" } as const;

let sequence = 0;

/**
 * Runs one async Originate to its end. `emit` sends an event to the logged-in clients; `fields`
 * are the action's (Channel, Application, Data, CallerID, ChannelId, OtherChannelId, ActionID).
 */
export function originateLocal(plan: FakeAsteriskDialplan, fields: Record<string, string>, emit: (fields: Fields) => void): void {
  const dialplan = parseDialplan(plan.text);
  const target = /^Local\/([^@]+)@([^/]+)/.exec(fields.Channel ?? "");
  const callerNum = shrinkPhoneNumber(/<([^>]*)>/.exec(fields.CallerID ?? "")?.[1] ?? "");
  const n = (++sequence).toString(16).padStart(8, "0");
  const exten = target?.[1] ?? "";
  const context = target?.[2] ?? "";
  const stamp = `${Math.floor(Date.now() / 1000)}.${sequence * 2}`;
  const one: Half = { name: `Local/${exten}@${context}-${n};1`, uniqueid: fields.ChannelId ?? stamp, state: "Down", exten, context, priority: 1, callerNum };
  const two: Half = { name: `Local/${exten}@${context}-${n};2`, uniqueid: fields.OtherChannelId ?? `${stamp}1`, state: "Down", exten, context, priority: 1, callerNum };
  const vars = new Map<string, string>();
  const id: Fields = fields.ActionID ? [["ActionID", fields.ActionID]] : [];
  let hungUp = false;
  let stopStream: (() => void) | null = null;

  const snapshot = (h: Half): Fields => [
    ["Channel", h.name], ["ChannelState", STATE_CODE[h.state]], ["ChannelStateDesc", h.state],
    ["CallerIDNum", h.callerNum || "<unknown>"], ["CallerIDName", h.callerNum || "<unknown>"],
    ["ConnectedLineNum", "<unknown>"], ["ConnectedLineName", "<unknown>"], ["Language", "en"], ["AccountCode", ""],
    ["Context", h.context], ["Exten", h.exten], ["Priority", String(h.priority)], ["Uniqueid", h.uniqueid], ["Linkedid", one.uniqueid],
  ];
  const event = (name: string, privilege: string, h: Half, extra: Fields = []): void => emit([["Event", name], ["Privilege", privilege], ...snapshot(h), ...extra]);
  const originateResponse = (success: boolean, reason: string, h: Half | null): void => emit([
    ["Event", "OriginateResponse"], ["Privilege", "call,all"], ...id, ["Response", success ? "Success" : "Failure"],
    ["Channel", h?.name ?? fields.Channel ?? ""], ["Context", ""], ["Exten", ""], ["Application", fields.Application ?? ""], ["Data", fields.Data ?? ""],
    ["Reason", reason], ["Uniqueid", h?.uniqueid ?? "<null>"], ["CallerIDNum", callerNum || "<unknown>"], ["CallerIDName", callerNum || "<unknown>"],
  ]);
  const hangUp = (cause: string, text: string): void => {
    if (hungUp) return;
    hungUp = true;
    stopStream?.();
    event("Hangup", "call,all", two, [["Cause", cause], ["Cause-txt", text]]);
    event("Hangup", "call,all", one, [["Cause", cause], ["Cause-txt", text]]);
  };

  const steps = dialplan.get(context)?.get(exten);
  event("Newchannel", "call,all", one);
  event("Newchannel", "call,all", two);
  if (target === null || steps === undefined) {
    // core_local.c: "No such extension/context … while calling Local channel"; the call is never placed.
    hungUp = true;
    event("Hangup", "call,all", two, [["Cause", "0"], ["Cause-txt", "Unknown"]]);
    event("Hangup", "call,all", one, [["Cause", "0"], ["Cause-txt", "Unknown"]]);
    return originateResponse(false, "0", null);
  }

  const answer = (): void => {
    if (two.state === "Up") return;
    two.state = one.state = "Up";
    event("Newstate", "call,all", two);
    event("Newstate", "call,all", one);
    originateResponse(true, "4", one);
    const seconds = fields.Application?.toLowerCase() === "wait" ? Number(fields.Data ?? "0") : 0;
    setTimeout(() => hangUp("16", "Normal Clearing"), seconds * 1000);
  };

  const run = async (): Promise<void> => {
    for (let i = 0; i < steps.length && !hungUp; i++) {
      const step = steps[i]!;
      two.priority = i + 1;
      const args = await expand(step.args, { vars, two, curlTimeoutMs: () => Number(vars.get("CURLOPT(httptimeout)") ?? "5") * 1000 });
      if (hungUp) return;
      if ((plan.missingApps ?? []).some((a) => a.toLowerCase() === step.app.toLowerCase())) break; // "No application 'X' for extension"
      event("Newexten", "dialplan,all", two, [["Extension", exten], ["Application", step.app], ["AppData", args]]);
      const app = step.app.toLowerCase();
      if (app === "answer") answer();
      else if (app === "set") {
        const eq = args.indexOf("=");
        const name = args.slice(0, eq);
        vars.set(name, args.slice(eq + 1));
        if (!name.includes("(")) event("VarSet", "dialplan,all", two, [["Variable", name], ["Value", args.slice(eq + 1)]]);
      } else if (app === "audiosocket") {
        if (!(await audioSocket(args, (stop) => (stopStream = stop)))) break;
      } else if (app === "gotoif" || app === "goto") {
        const [condition, label] = app === "gotoif" ? args.split("?") : ["1", args];
        if (condition?.trim() !== "1") continue;
        const at = steps.findIndex((s) => s.label === label);
        if (at < 0) break; // another context: the fake's call ends here
        i = at - 1;
      } else if (app === "hangup") break;
    }
    hangUp("16", "Normal Clearing");
  };
  void run();
}

/** main/callerid.c's ast_shrink_phone_number, which Originate applies to its CallerID number: no "( )", no "-" outside [ ], no "." but a last one. */
function shrinkPhoneNumber(n: string): string {
  let out = "";
  let bracketed = 0;
  for (let i = 0; i < n.length; i++) {
    const c = n[i]!;
    if (c === "[") bracketed++;
    else if (c === "]") bracketed--;
    if ((c === "-" && bracketed === 0) || (c === "." && i < n.length - 1) || "( )".includes(c)) continue;
    out += c;
  }
  return out;
}

/** `${…}` substitution, innermost first, then `$[ "a" = "b" ]`; functions the dialplan uses. */
async function expand(text: string, ctx: { vars: Map<string, string>; two: Half; curlTimeoutMs(): number }): Promise<string> {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "$" || text[i + 1] !== "{") {
      out += text[i];
      continue;
    }
    const j = variableEnd(text, i);
    const inner = await expand(text.slice(i + 2, j - 1), ctx);
    out += await evaluate(inner, ctx);
    i = j - 1;
  }
  return out.replace(/\$\[\s*"([^"]*)"\s*=\s*"([^"]*)"\s*\]/g, (_, a: string, b: string) => (a === b ? "1" : "0"));
}

async function evaluate(inner: string, ctx: { vars: Map<string, string>; two: Half; curlTimeoutMs(): number }): Promise<string> {
  const fn = /^([A-Z_]+)\((.*)\)$/s.exec(inner);
  if (fn) {
    const [, name, args = ""] = fn;
    if (name === "UUID") return randomUUID();
    if (name === "URIENCODE") return encodeURIComponent(args);
    if (name === "CALLERID") return args === "num" ? ctx.two.callerNum : "";
    if (name === "CURL") return curl(args, ctx.curlTimeoutMs());
    return ""; // "Function X not registered"
  }
  const [name = "", offset, length] = inner.split(":");
  const value = name === "EXTEN" ? ctx.two.exten : ctx.vars.get(name) ?? "";
  if (offset === undefined) return value;
  return value.substr(Number(offset), length === undefined ? undefined : Number(length));
}

async function curl(args: string, timeoutMs: number): Promise<string> {
  const comma = args.indexOf(",");
  const url = comma < 0 ? args : args.slice(0, comma);
  const headers: Record<string, string> = { "user-agent": "asterisk-libcurl-agent/1.0", accept: "*/*" };
  try {
    const res = comma < 0
      ? await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) })
      : await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/x-www-form-urlencoded" }, body: args.slice(comma + 1), signal: AbortSignal.timeout(timeoutMs) });
    return (await res.text()).trimEnd();
  } catch {
    return "";
  }
}

/**
 * AudioSocket(uuid,host:port): false when the app fails (bad UUID, no connection: the channel
 * hangs up); true when voicebot ended the stream (the dialplan goes on). `onStop` receives the
 * channel's hang-up, which closes the socket with no message (Asterisk sends none).
 */
function audioSocket(args: string, onStop: (stop: () => void) => void): Promise<boolean> {
  const [uuid = "", service = ""] = args.split(",");
  const colon = service.lastIndexOf(":");
  const { promise, resolve } = Promise.withResolvers<boolean>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let socket: Socket<undefined> | null = null;
  let stopped = false;
  const silence = new Uint8Array(3 + 320);
  writeAudioMessage(silence, Kind.Slin8, new Int16Array(160));
  const end = (byVoicebot: boolean): void => {
    clearInterval(timer);
    socket?.end();
    resolve(byVoicebot && !stopped);
  };
  onStop(() => {
    stopped = true;
    end(false);
  });
  const parser = new AudioSocketParser((kind) => {
    if (kind === Kind.Hangup) end(true);
  });
  let payload: Uint8Array;
  try {
    payload = uuidFromString(uuid);
  } catch {
    return Promise.resolve(false);
  }
  Bun.connect({
    hostname: service.slice(0, colon),
    port: Number(service.slice(colon + 1)),
    socket: {
      binaryType: "uint8array",
      open: (s) => {
        if (stopped) return void s.end();
        socket = s;
        s.write(encodeMessage(Kind.Uuid, payload));
        timer = setInterval(() => socket?.write(silence), 20);
      },
      data: (_s, chunk) => {
        try {
          parser.push(chunk);
        } catch {
          end(false);
        }
      },
      close: () => end(true),
      connectError: () => end(false),
    },
  }).catch(() => end(false));
  return promise;
}
