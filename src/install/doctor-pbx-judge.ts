/**
 * What the doctor's call through the PBX says, link by link in the order a call crosses them:
 * the control connection, the dialplan, the modules, the registration, the audio stream, the
 * greeting, the hang-up. The first broken link is the FAIL, with the fix for that link.
 */
import type { Config } from "../config/schema.ts";
import { PROBE_CALLER } from "../transports/caller-id.ts";
import type { CheckResult } from "./doctor-check.ts";
import type { AmiCallTrace } from "./doctor-pbx-ami.ts";
import type { EslCallTrace } from "./doctor-pbx-esl.ts";
import { fail, pass } from "./doctor.ts";

const ID = "pbx.call";

/** The call as voicebot's admin API shows it (GET /api/calls/{uuid}). */
export interface VoicebotRecord {
  caller: string | null;
  tenant: string;
  startedAt: number;
  endedAt: number | null;
  turns: { speaker: string; startedAt: number }[];
}

interface Context {
  config: Config;
  /** The tenant the rendered default context/extension registers calls under. */
  tenant: string;
  /** "Asterisk at 192.0.2.5:5038". */
  where: string;
}

const RERUN = "re-run apply-on-pbx.sh on the PBX with the files `voicebot pbx-config` renders now";

/** The voicebot half, common to both PBXes: the call arrived with its registration and was greeted. */
function judgeVoicebot(record: VoicebotRecord | null | string, x: Context, noStream: CheckResult): CheckResult | string {
  if (typeof record === "string") return fail(ID, `${x.where}: the call ran, but ${record}`, "run `voicebot doctor` as root (it reads the console's token), or set ADMIN_TOKEN in voicebot.env");
  if (record === null) return noStream;
  if (record.caller !== PROBE_CALLER || record.tenant !== x.tenant) {
    return fail(ID, `${x.where}: voicebot got the call as caller ${record.caller ?? "(none)"} tenant ${record.tenant}, not caller ${PROBE_CALLER} tenant ${x.tenant}: the registration did not reach it`,
      `the PBX must reach voicebot's admin port (HTTP_HOST=0.0.0.0, port ${x.config.http.port} open to the PBX) with PBX_TOKEN; ${RERUN}`);
  }
  const greeting = record.turns.find((t) => t.speaker === "bot");
  if (greeting === undefined) return fail(ID, `${x.where}: voicebot got the call (caller ${record.caller}, tenant ${record.tenant}) but never greeted it`, "look at `journalctl -u voicebot -n 50`: the phrase cache or the voice may be failing");
  return `voicebot registered caller ${record.caller} tenant ${record.tenant}, greeted after ${Math.max(0, Math.round(greeting.startedAt - record.startedAt))} ms`;
}

export function judgeAsterisk(t: AmiCallTrace, record: VoicebotRecord | null | string, x: Context): CheckResult {
  const c = x.config;
  const user = c.ami?.username ?? "voicebot";
  if (t.broke !== null) {
    const { link, detail } = t.broke;
    if (link === "unreachable") return fail(ID, `${x.where}: AMI unreachable (${detail})`, "open the AMI port from this host to the PBX in its firewall, and check manager.conf's [general]: enabled = yes, a bindaddr this host reaches (apply-on-pbx.sh sets them)");
    if (link === "login") return fail(ID, `${x.where}: AMI refused the login as "${user}" (${detail})`, `AMI_SECRET does not match manager_voicebot.conf (or this host is not permitted): ${RERUN}`);
    if (link === "permission") return fail(ID, `${x.where}: AMI user "${user}" may not Originate (${detail})`, `manager_voicebot.conf needs write = call,originate: ${RERUN}`);
    if (link === "refused") return fail(ID, `${x.where}: Originate refused (${detail})`, "check `asterisk -rx 'manager show user " + user + "'` and the Asterisk log");
    return fail(ID, `${x.where}: ${detail}`, "Asterisk may be overloaded or the call stuck: `asterisk -rx 'core show channels'` and the Asterisk log");
  }
  const local = "Local/777@voicebot";
  if (t.originate !== null && !t.originate.success) {
    if (t.originate.reason === "0") return fail(ID, `${x.where}: ${local} failed: no such extension or context (the dialplan is not loaded)`, `${RERUN} (it installs extensions_voicebot.conf and reloads the dialplan); check: asterisk -rx 'dialplan show 777@voicebot'`);
    return fail(ID, `${x.where}: ${local} was not answered (OriginateResponse Reason ${t.originate.reason})`, "the dialplan's first step is Answer(): check `asterisk -rx 'dialplan show 777@voicebot'`");
  }
  if (t.uuid === null) {
    const ran = t.apps.length > 0 ? t.apps.join(", ") : "nothing";
    return fail(ID, `${x.where}: the dialplan stopped before AudioSocket() (it ran ${ran}): the AudioSocket application is missing`, "load it on the PBX: asterisk -rx 'module load res_audiosocket.so' and 'module load app_audiosocket.so' (apply-on-pbx.sh checks the modules)");
  }
  const join = t.join ?? "";
  if (join === "") {
    return fail(ID, `${x.where}: the registration never arrived: the dialplan's CURL() got no answer from voicebot's admin port`,
      `voicebot must listen where the PBX reaches it (HTTP_HOST=0.0.0.0, now ${c.http.host}) with port ${c.http.port} open to the PBX in the firewall; func_curl must be loaded on the PBX`);
  }
  if (join !== "joined" && join !== "waiting") {
    const token = /^(unauthorized|forbidden)/.test(join);
    return fail(ID, `${x.where}: voicebot refused the registration: ${join}`, token ? `the dialplan's token is not voicebot's PBX_TOKEN: ${RERUN}` : "check tenants.toml and UNKNOWN_TENANT");
  }
  const noStream = fail(ID, `${x.where}: registered, but voicebot never got the audio stream (AudioSocket to port ${c.audiosocket.port})`,
    `open AUDIOSOCKET_PORT ${c.audiosocket.port} to the PBX in the firewall, AUDIOSOCKET_HOST must not be loopback, and AUDIOSOCKET_ALLOW must list the PBX`);
  const voicebot = judgeVoicebot(record, x, noStream);
  if (typeof voicebot !== "string") return voicebot;
  if (t.hangup === null || t.hangup.cause !== "16") {
    const how = t.hangup === null ? "did not hang up" : `hung up with cause ${t.hangup.cause} ${t.hangup.text}`;
    return fail(ID, `${x.where}: ${voicebot}, but the call ${how}`, "look at the Asterisk log for the doctor's call (caller voicebot-doctor)");
  }
  return pass(ID, `${x.where}: ${local} answered, ${voicebot}, ended cleanly`);
}

export function judgeFreeswitch(t: EslCallTrace, record: VoicebotRecord | null | string, x: Context): CheckResult {
  const c = x.config;
  if (t.broke !== null) {
    const { link, detail } = t.broke;
    if (link === "unreachable") return fail(ID, `${x.where}: the event socket is unreachable (${detail})`, "open the ESL port from this host to the PBX in its firewall; event_socket.conf.xml's listen-ip must be one this host reaches (apply-on-pbx.sh renders it), then restart FreeSWITCH");
    if (link === "login") return fail(ID, `${x.where}: ${detail}`, RERUN);
    return fail(ID, `${x.where}: ${detail}`, "FreeSWITCH may be overloaded or the call stuck: `fs_cli -x 'show channels'` and the FreeSWITCH log");
  }
  const local = t.target;
  const job = t.job ?? "";
  if (job.startsWith("-ERR")) {
    const cause = job.slice(4).trim();
    if (cause === "CHAN_NOT_IMPLEMENTED") return fail(ID, `${x.where}: originate ${local} failed (${cause}): mod_loopback is not loaded`, "fs_cli -x 'load mod_loopback' (and enable it in modules.conf.xml)");
    if (cause === "NO_ROUTE_DESTINATION") return fail(ID, `${x.where}: originate ${local} failed (${cause}): extension 8000 is in neither the default nor the public context (the dialplan is not loaded)`, `${RERUN} (it installs 00_voicebot.xml in dialplan/default/ or dialplan/public/ and runs reloadxml)`);
    return fail(ID, `${x.where}: originate ${local} failed (${cause})`, "look at the FreeSWITCH log for the doctor's call (caller voicebot-doctor)");
  }
  if (t.stream === null) return fail(ID, `${x.where}: extension 8000 answered but never ran voicebot's uuid_audio_stream (another extension 8000 matched first?)`, `${RERUN}; check: fs_cli -x 'xml_locate dialplan'`);
  if (!t.stream.startsWith("+OK")) {
    return fail(ID, `${x.where}: uuid_audio_stream answered "${t.stream}": mod_audio_stream is missing or refused the stream`, "load it on the PBX: fs_cli -x 'load mod_audio_stream' (apply-on-pbx.sh checks the module)");
  }
  const noStream = fail(ID, `${x.where}: mod_audio_stream started, but voicebot never got the stream (WebSocket to port ${c.audiostream.port})`,
    `open AUDIOSTREAM_PORT ${c.audiostream.port} to the PBX in the firewall, AUDIOSTREAM_HOST must not be loopback, and AUDIOSTREAM_TOKEN must match the dialplan's`);
  const voicebot = judgeVoicebot(record, x, noStream);
  if (typeof voicebot !== "string") return voicebot;
  if (t.hangup !== "NORMAL_CLEARING") {
    return fail(ID, `${x.where}: ${voicebot}, but the call ${t.hangup === null ? "did not hang up" : `hung up with ${t.hangup}`}`, "look at the FreeSWITCH log for the doctor's call (caller voicebot-doctor)");
  }
  return pass(ID, `${x.where}: ${local} answered, ${voicebot}, ended cleanly`);
}
