/**
 * The doctor's call through FreeSWITCH: authenticate on the event socket, `bgapi originate` a
 * loopback channel into voicebot's extension under the doctor's caller id, and follow the
 * dialplan leg (loopback's "-b" leg) until it hangs up.
 */
import { randomUUID } from "node:crypto";
import { PROBE_CALLER } from "../transports/caller-id.ts";
import { aclRejected, passwordRejected } from "../transports/esl-auth.ts";
import { EslDecoder, encodeCommand, type EslEvent, type EslMessage } from "../transports/esl-codec.ts";

type EslBreak = "unreachable" | "login" | "stalled";

export interface EslCallTrace {
  /** What was originated: "loopback/8000/default". */
  target: string;
  broke: { link: EslBreak; detail: string } | null;
  /** The BACKGROUND_JOB body: "+OK <uuid>" or "-ERR <CAUSE>"; null = none came. */
  job: string | null;
  /** The dialplan leg's uuid (the one in the stream URL). */
  uuid: string | null;
  /** What `set vb_stream=${uuid_audio_stream(…)}` expanded to; null = the set never ran. */
  stream: string | null;
  /** The dialplan leg's Hangup-Cause; null = not hung up yet. */
  hangup: string | null;
}

export interface EslCallOptions {
  host: string;
  port: number;
  password: string;
  exten: string;
  context: string;
  /** How long the originating leg stays (sleep) before it hangs up. */
  waitSeconds: number;
  signal: AbortSignal;
}

const CONNECT_MS = 3000;

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function eslDoctorCall(o: EslCallOptions): Promise<EslCallTrace> {
  const trace: EslCallTrace = { target: `loopback/${o.exten}/${o.context}`, broke: null, job: null, uuid: null, stream: null, hangup: null };
  const aLeg = randomUUID();
  const address = `${o.host}:${o.port}`;
  const { promise, resolve } = Promise.withResolvers<EslCallTrace>();
  let socket: { write(data: string): number; end(data?: string): void; localAddress: string } | null = null;
  let stage: "connecting" | "auth" | "subscribe" | "originate" | "call" = "connecting";
  let jobUuid: string | null = null;

  let done = false;
  const finish = (broke?: EslCallTrace["broke"]): void => {
    if (done) return;
    done = true;
    if (broke) trace.broke = broke;
    clearTimeout(connectTimer);
    o.signal.removeEventListener("abort", onAbort);
    socket?.end("exit\n\n");
    resolve(trace);
  };
  const onAbort = (): void => {
    const what = {
      connecting: socket === null ? `no TCP connection to ${address}` : "connected, but no auth/request came (not FreeSWITCH's event socket?)",
      auth: "no answer to auth",
      subscribe: "no answer to the event subscription",
      originate: "no answer to bgapi originate",
      call: trace.job === null ? "originate was queued but its BACKGROUND_JOB never came" : "the call did not end in time",
    }[stage];
    finish({ link: stage === "connecting" ? "unreachable" : "stalled", detail: what });
  };
  o.signal.addEventListener("abort", onAbort, { once: true });
  // A firewall that drops packets leaves a connect hanging for minutes: the PBX is unreachable after this.
  const connectTimer = setTimeout(() => (stage === "connecting") && onAbort(), CONNECT_MS);
  const send = (line: string): void => void socket?.write(encodeCommand(line));

  const onEvent = (e: EslEvent): void => {
    if (e.name === "BACKGROUND_JOB" && e.headers.get("Job-UUID") === jobUuid) {
      trace.job = e.body.trim();
      if (!trace.job.startsWith("+OK")) finish();
      return;
    }
    // Our leg's end only matters when the dialplan leg was never seen: then nothing else will end the wait.
    if (e.uuid === aLeg) {
      if (e.name === "CHANNEL_HANGUP_COMPLETE" && trace.uuid === null) {
        trace.hangup = e.headers.get("Hangup-Cause") ?? "";
        finish();
      }
      return;
    }
    // The loopback pair shares the caller id; the dialplan runs on the leg that is not ours.
    if (e.uuid === null || e.headers.get("Caller-Caller-ID-Number") !== PROBE_CALLER) return;
    if (!(e.headers.get("Channel-Name") ?? "").startsWith("loopback/")) return;
    trace.uuid ??= e.uuid;
    if (e.uuid !== trace.uuid) return;
    if (e.name === "CHANNEL_EXECUTE" && e.headers.get("Application") === "set") {
      const data = e.headers.get("Application-Data") ?? "";
      if (data.startsWith("vb_stream=")) trace.stream = data.slice("vb_stream=".length).trim();
    } else if (e.name === "CHANNEL_HANGUP_COMPLETE") {
      trace.hangup = e.headers.get("Hangup-Cause") ?? "";
      finish();
    }
  };
  const onMessage = (m: EslMessage): void => {
    const reply = m.headers.get("Reply-Text") ?? "";
    if (m.contentType === "auth/request") return void ((stage = "auth"), send(`auth ${o.password}`));
    if (m.contentType === "text/rude-rejection") return finish({ link: "login", detail: aclRejected(address, socket?.localAddress ?? "") });
    if (m.event) return onEvent(m.event);
    if (m.contentType !== "command/reply") return;
    if (stage === "auth") {
      if (!reply.startsWith("+OK")) return finish({ link: "login", detail: passwordRejected(address) });
      stage = "subscribe";
      return send("event plain BACKGROUND_JOB CHANNEL_EXECUTE CHANNEL_HANGUP_COMPLETE");
    }
    if (stage === "subscribe") {
      stage = "originate";
      const vars = `{origination_uuid=${aLeg},origination_caller_id_number=${PROBE_CALLER},origination_caller_id_name=${PROBE_CALLER},originate_timeout=5}`;
      return send(`bgapi originate ${vars}${trace.target} &sleep(${o.waitSeconds * 1000})`);
    }
    if (stage === "originate") {
      jobUuid = m.headers.get("Job-UUID") ?? reply.replace(/^\+OK Job-UUID: /, "");
      stage = "call";
    }
  };

  const decoder = new EslDecoder(onMessage);
  Bun.connect({
    hostname: o.host,
    port: o.port,
    socket: {
      binaryType: "uint8array",
      open: (s) => void (done ? s.end() : (socket = s)),
      data: (_s, chunk) => {
        try {
          decoder.push(chunk);
        } catch (error) {
          finish({ link: "stalled", detail: `FreeSWITCH sent a malformed message: ${describe(error)}` });
        }
      },
      close: () => finish({ link: stage === "auth" ? "login" : "stalled", detail: `FreeSWITCH closed the event socket during ${stage}` }),
      connectError: (_s, error) => finish({ link: "unreachable", detail: error.message }),
    },
  }).catch((error: unknown) => finish({ link: "unreachable", detail: describe(error) }));
  return promise;
}
