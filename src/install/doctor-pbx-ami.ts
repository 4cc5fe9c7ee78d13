/**
 * The doctor's call through Asterisk: log in to AMI, Originate a Local channel into voicebot's
 * context under the doctor's caller id, and follow that call's events until its dialplan half
 * hangs up. A one-shot client of its own: transports/ami.ts is the long-lived hand-off client.
 */
import { randomUUID } from "node:crypto";
import { AmiMessage, AmiParser, serializeAction } from "../transports/ami-codec.ts";
import { PROBE_CALLER } from "../transports/caller-id.ts";

/** The link that broke before the call could run. */
type AmiBreak = "unreachable" | "login" | "permission" | "refused" | "stalled";

export interface AmiCallTrace {
  broke: { link: AmiBreak; detail: string } | null;
  /** The OriginateResponse: null = none came. */
  originate: { success: boolean; reason: string } | null;
  /** Applications the dialplan half ran (Newexten), in order. */
  apps: string[];
  /** The AudioSocket call's UUID (the AudioSocket Newexten's AppData). */
  uuid: string | null;
  /** What the dialplan's registration CURL() returned (VarSet VB_JOIN); null = never set. */
  join: string | null;
  /** The dialplan half's Hangup cause ("16 Normal Clearing"); null = not hung up yet. */
  hangup: { cause: string; text: string } | null;
}

export interface AmiCallOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  context: string;
  exten: string;
  /** How long the originated half waits (Wait(n)) before it hangs up. */
  waitSeconds: number;
  signal: AbortSignal;
}

const CONNECT_MS = 3000;

const describe = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
};

export function amiDoctorCall(o: AmiCallOptions): Promise<AmiCallTrace> {
  const trace: AmiCallTrace = { broke: null, originate: null, apps: [], uuid: null, join: null, hangup: null };
  const tag = randomUUID().slice(0, 8);
  const ids = { login: `doctor-login-${tag}`, originate: `doctor-originate-${tag}`, local1: `voicebot-doctor-${tag}-1`, local2: `voicebot-doctor-${tag}-2` };
  const { promise, resolve } = Promise.withResolvers<AmiCallTrace>();
  let socket: { write(data: string): number; end(): void } | null = null;
  let stage: "connecting" | "banner" | "login" | "originate" | "call" = "connecting";

  let done = false;
  const finish = (broke?: AmiCallTrace["broke"]): void => {
    if (done) return;
    done = true;
    if (broke) trace.broke = broke;
    clearTimeout(connectTimer);
    o.signal.removeEventListener("abort", onAbort);
    socket?.end();
    resolve(trace);
  };
  const onAbort = (): void => {
    const what = {
      connecting: `no TCP connection to ${o.host}:${o.port}`,
      banner: "connected, but no AMI banner came",
      login: "no answer to Login",
      originate: "no answer to Originate",
      call: trace.originate === null ? "Originate was queued but no OriginateResponse came" : "the call did not end in time",
    }[stage];
    finish({ link: stage === "connecting" ? "unreachable" : "stalled", detail: what });
  };
  o.signal.addEventListener("abort", onAbort, { once: true });
  // A firewall that drops packets leaves a connect hanging for minutes: the PBX is unreachable after this.
  const connectTimer = setTimeout(() => (stage === "connecting" || stage === "banner") && onAbort(), CONNECT_MS);

  const send = (action: string, fields: Record<string, string>): void => void socket?.write(serializeAction(action, fields));
  const onMessage = (m: AmiMessage): void => {
    const id = m.get("ActionID");
    if (stage === "login" && id === ids.login) {
      if (m.get("Response")?.toLowerCase() !== "success") return finish({ link: "login", detail: m.get("Message") ?? "Login refused" });
      stage = "originate";
      // ChannelId names the Local channel's ";1" half (it runs Wait), OtherChannelId its ";2" half (it runs
      // the dialplan): the events are told apart by Uniqueid. Asterisk shrinks the CallerID number
      // (no "-"), and voicebot knows the doctor's marker in both spellings.
      return send("Originate", {
        Channel: `Local/${o.exten}@${o.context}`, Application: "Wait", Data: String(o.waitSeconds),
        CallerID: `"${PROBE_CALLER}" <${PROBE_CALLER}>`, Timeout: "5000", Async: "true",
        ChannelId: ids.local1, OtherChannelId: ids.local2, ActionID: ids.originate,
      });
    }
    if (stage === "originate" && id === ids.originate && !m.has("Event")) {
      if (m.get("Response")?.toLowerCase() === "success") return void (stage = "call");
      const message = m.get("Message") ?? "Originate refused";
      return finish({ link: /permission denied/i.test(message) ? "permission" : "refused", detail: message });
    }
    onEvent(m);
  };
  const onEvent = (m: AmiMessage): void => {
    const event = m.get("Event")?.toLowerCase();
    if (event === "originateresponse" && m.get("ActionID") === ids.originate) {
      trace.originate = { success: m.get("Response")?.toLowerCase() === "success", reason: m.get("Reason") ?? "" };
      if (!trace.originate.success) finish();
      return;
    }
    if (m.get("Uniqueid") !== ids.local2) return;
    if (event === "newexten") {
      const app = m.get("Application") ?? "";
      trace.apps.push(app);
      if (app.toLowerCase() === "audiosocket") trace.uuid = (m.get("AppData") ?? "").split(",")[0]?.trim().toLowerCase() || null;
    } else if (event === "varset" && m.get("Variable") === "VB_JOIN") {
      trace.join = (m.get("Value") ?? "").trim();
    } else if (event === "hangup") {
      trace.hangup = { cause: m.get("Cause") ?? "", text: m.get("Cause-txt") ?? "" };
      finish();
    }
  };

  const parser = new AmiParser({
    onBanner: () => {
      stage = "login";
      send("Login", { Username: o.username, Secret: o.secret, Events: "call,dialplan", ActionID: ids.login });
    },
    onMessage,
  }, { expectBanner: true });
  Bun.connect({
    hostname: o.host,
    port: o.port,
    socket: {
      binaryType: "uint8array",
      open: (s) => void (done ? s.end() : ((socket = s), (stage = "banner"))),
      data: (_s, chunk) => {
        try {
          parser.push(chunk);
        } catch (error) {
          finish({ link: "refused", detail: `not an Asterisk manager: ${describe(error)}` });
        }
      },
      close: () => finish({ link: stage === "login" ? "login" : "stalled", detail: `Asterisk closed the connection during ${stage}` }),
      error: (_s, error) => finish({ link: "unreachable", detail: describe(error) }),
    },
  }).catch((error: unknown) => finish({ link: "unreachable", detail: describe(error) }));
  return promise;
}
