/**
 * The fake FreeSWITCH's `originate {vars}loopback/<exten>/<context> &app(arg)`, played against a
 * real voicebot: mod_loopback's "-b" leg runs the rendered voicebot_dialplan.xml as FreeSWITCH
 * does (the first extension whose conditions all match; `${var}` and `${api(args)}` expansion,
 * innermost first; answer, set, log, park), where `uuid_audio_stream <uuid> start <url> <mix>
 * <rate> <metadata>` opens the WebSocket mod_audio_stream would (metadata text first, then L16
 * frames every 20 ms, silence) and answers "+OK Success" before it connects. The "-a" leg answers
 * with "-b", runs `&sleep(ms)` and hangs up; both legs end with CHANNEL_HANGUP_COMPLETE. The
 * result is originate's: "+OK <a-leg uuid>" once answered, "-ERR <CAUSE>" (CHAN_NOT_IMPLEMENTED
 * without mod_loopback, NO_ROUTE_DESTINATION without a matching extension). Bundled into the
 * binary: no test-only imports.
 */
import { randomUUID } from "node:crypto";
import { variableEnd } from "./dialplan-variables.ts";

export interface FakeFreeswitchDialplan {
  /** The rendered voicebot_dialplan.xml, installed in `context` (e.g. dialplan/default/). */
  xml: string;
  context: string;
  /** Modules not loaded: "mod_loopback", "mod_audio_stream". */
  missingModules?: string[];
}

export interface FakeEslEvent {
  name: string;
  uuid?: string;
  headers?: Record<string, string>;
}

interface Action { application: string; data: string }

function xmlText(value: string): string {
  return value.replace(/&quot;/g, "\"").replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** The actions of the first extension whose conditions all match (`fields` gives each field's value). */
function route(xml: string, fields: Record<string, string>): Action[] | null {
  for (const ext of xml.matchAll(/<extension\b[^>]*>([\s\S]*?)<\/extension>/g)) {
    const conditions = [...ext[1]!.matchAll(/<condition field="([^"]*)" expression="([^"]*)"/g)];
    const matches = conditions.every(([, field = "", expression = ""]) => new RegExp(xmlText(expression)).test(fields[xmlText(field)] ?? ""));
    if (!matches) continue;
    return [...ext[1]!.matchAll(/<action application="([^"]*)" data="([^"]*)"\/>/g)].map(([, application = "", data = ""]) => ({ application, data: xmlText(data) }));
  }
  return null;
}

export async function originateLoopback(plan: FakeFreeswitchDialplan, command: string, emit: (event: FakeEslEvent) => void): Promise<string> {
  const m = /^(?:\{([^}]*)\})?(\w+)\/([^/\s]+)\/?(\S*)\s*(?:&(\w+)\(([^)]*)\))?/.exec(command.trim());
  if (!m || m[2] !== "loopback" || (plan.missingModules ?? []).includes("mod_loopback")) return "-ERR CHAN_NOT_IMPLEMENTED\n";
  const vars = new Map((m[1] ?? "").split(",").filter((v) => v.includes("=")).map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)] as [string, string]));
  const exten = m[3]!;
  const context = m[4] || "default";
  const a = vars.get("origination_uuid") ?? randomUUID();
  const b = randomUUID();
  const caller = vars.get("origination_caller_id_number") ?? "0000000000";
  const channel = (uuid: string, extra: Record<string, string> = {}): FakeEslEvent["headers"] => ({
    "Channel-Name": `loopback/${exten}-${uuid === a ? "a" : "b"}`, "Caller-Caller-ID-Number": caller, "Caller-Destination-Number": exten,
    "Caller-Context": context, ...extra,
  });
  const hangUp = (cause: string): void => {
    for (const uuid of [b, a]) emit({ name: "CHANNEL_HANGUP_COMPLETE", uuid, headers: channel(uuid, { "Hangup-Cause": cause }) });
  };
  emit({ name: "CHANNEL_CREATE", uuid: a, headers: channel(a) });
  emit({ name: "CHANNEL_CREATE", uuid: b, headers: channel(b) });
  const actions = context === plan.context ? route(plan.xml, { destination_number: exten, "${domain_name}": "" }) : null;
  if (actions === null) {
    hangUp("NO_ROUTE_DESTINATION");
    return "-ERR NO_ROUTE_DESTINATION\n";
  }

  const channelVars = new Map<string, string>([["uuid", b], ["caller_id_number", caller], ["destination_number", exten], ["domain_name", ""]]);
  const answered = Promise.withResolvers<void>();
  const ended = Promise.withResolvers<void>();
  let stream: WebSocket | null = null;
  const api = (name: string, args: string): string | null => {
    if (name !== "uuid_audio_stream" || (plan.missingModules ?? []).includes("mod_audio_stream")) return null; // "Command not found"
    const [, verb, url = "", , rate = "8k", ...metadata] = args.split(" ");
    if (verb !== "start" || !/^wss?:\/\/[A-Za-z0-9.-]+(:\d+)?\//.test(url)) return "-ERR Operation Failed\n";
    stream = openStream(url, rate === "16k" ? 16000 : rate === "8k" ? 8000 : Number(rate), metadata.join(" "));
    return "+OK Success\n";
  };
  void (async () => {
    for (const action of actions) {
      const data = expand(action.data, channelVars, api);
      emit({ name: "CHANNEL_EXECUTE", uuid: b, headers: channel(b, { Application: action.application, "Application-Data": data }) });
      if (action.application === "answer") answered.resolve();
      else if (action.application === "set") channelVars.set(data.slice(0, data.indexOf("=")), data.slice(data.indexOf("=") + 1));
      else if (action.application === "park") break;
    }
    answered.resolve();
  })();
  await answered.promise;
  emit({ name: "CHANNEL_ANSWER", uuid: a, headers: channel(a) });
  const sleepMs = m[5] === "sleep" ? Number(m[6] ?? "0") : 0;
  setTimeout(() => ended.resolve(), sleepMs);
  void ended.promise.then(() => {
    (stream as WebSocket | null)?.close(1000, "Normal closure");
    hangUp("NORMAL_CLEARING");
  });
  return `+OK ${a}\n`;
}

/** `${name}` and `${api(args)}`, innermost first; an API that fails expands to nothing (switch_channel.c). */
function expand(text: string, vars: Map<string, string>, api: (name: string, args: string) => string | null): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "$" || text[i + 1] !== "{") {
      out += text[i];
      continue;
    }
    const j = variableEnd(text, i);
    const inner = expand(text.slice(i + 2, j - 1), vars, api);
    const fn = /^(\w+)\((.*)\)$/s.exec(inner);
    out += fn ? (api(fn[1]!, fn[2]!) ?? "").trim() : vars.get(inner) ?? "";
    i = j - 1;
  }
  return out;
}

/** mod_audio_stream's client: metadata as one text frame, then a frame of silence every 20 ms. */
function openStream(url: string, rate: number, metadata: string): WebSocket {
  const ws = new WebSocket(url);
  const frame = new Uint8Array((rate / 50) * 2);
  let timer: ReturnType<typeof setInterval> | undefined;
  ws.onopen = () => {
    if (metadata !== "") ws.send(metadata);
    timer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(frame), 20);
  };
  ws.onclose = () => clearInterval(timer);
  ws.onerror = () => clearInterval(timer);
  return ws;
}
