/**
 * `pbx.call`: doctor places a call from the PBX itself into voicebot's extension (AMI Originate of
 * a Local channel, ESL originate of a loopback channel) and follows the chain link by link: the
 * PBX answers the control connection, the dialplan is loaded, the modules are there, voicebot got
 * the call with its caller and tenant, greeted it, and the PBX saw it end cleanly. A FAIL names
 * the first broken link and its fix.
 */
import { readStoredToken } from "../admin/first-run-token.ts";
import type { Config } from "../config/schema.ts";
import { loadTenants } from "../config/tenants.ts";
import type { Check, CheckResult, DoctorContext } from "./doctor-check.ts";
import { judgeAsterisk, judgeFreeswitch, type VoicebotRecord } from "./doctor-pbx-judge.ts";
import { amiDoctorCall } from "./doctor-pbx-ami.ts";
import { eslDoctorCall, type EslCallTrace } from "./doctor-pbx-esl.ts";
import { fail, warn } from "./doctor.ts";
import { adminUrl, fetchHealth } from "./health.ts";

/** How long the PBX keeps the doctor's call up: the greeting starts well within it. */
const CALL_SECONDS = 3;
/** The store writes in batches: a call just ended may take a moment to read back. */
const READ_BACK_MS = 2000;

/** ADMIN_TOKEN, else the console's first-run token (readable by root only: null for anyone else). */
function adminToken(config: Config): string | null {
  if (config.adminToken !== null) return config.adminToken;
  try {
    return readStoredToken(config.dataDir);
  } catch {
    return null;
  }
}

type Turn = VoicebotRecord["turns"][number];
const isTurn = (t: unknown): t is Turn => typeof t === "object" && t !== null
  && typeof (t as Record<string, unknown>).speaker === "string" && typeof (t as Record<string, unknown>).startedAt === "number";
const isTimeOrNull = (v: unknown): v is number | null => v === null || typeof v === "number";

/** The fields pbx.call reads of GET /api/calls/{uuid}, checked: the port may not be voicebot's. */
function asRecord(json: unknown): VoicebotRecord | string {
  const r = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const { caller, tenant, startedAt, endedAt, turns } = r;
  if ((caller === null || typeof caller === "string") && typeof tenant === "string" && typeof startedAt === "number"
    && isTimeOrNull(endedAt) && Array.isArray(turns)) {
    return { caller, tenant, startedAt, endedAt, turns: turns.filter(isTurn) };
  }
  return "voicebot's admin API answered GET /api/calls/{uuid} with an unexpected shape (is HTTP_PORT voicebot's?)";
}

/** The call as voicebot stored it; null when voicebot has no such call; a string says why it could not be read. */
async function readCall(config: Config, uuid: string, signal: AbortSignal): Promise<VoicebotRecord | null | string> {
  const token = adminToken(config);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const deadline = performance.now() + READ_BACK_MS;
  for (;;) {
    const res = await fetch(adminUrl(config, `/api/calls/${uuid}`), { headers, signal }).catch((err: unknown) => String(err));
    if (typeof res === "string") return `voicebot's admin API did not answer: ${res}`;
    if (res.status === 401 || res.status === 403) return `voicebot's admin API refused the doctor (HTTP ${res.status}): run doctor as root, or set ADMIN_TOKEN`;
    if (res.status === 200) {
      const call = asRecord(await res.json().catch(() => null));
      if (typeof call === "string" || call.endedAt !== null || performance.now() > deadline) return call;
    } else {
      await res.body?.cancel();
      if (performance.now() > deadline) return null;
    }
    await Bun.sleep(150);
  }
}

/** The default tenant's id: the rendered dialplan's "voicebot" context and extension 8000 register calls under it. */
function expectedTenant(config: Config): string {
  try {
    return loadTenants(config).default.id;
  } catch {
    return "default";
  }
}

async function asteriskCall(c: Config, ami: NonNullable<Config["ami"]>, signal: AbortSignal): Promise<CheckResult> {
  const trace = await amiDoctorCall({ ...ami, context: "voicebot", exten: "777", waitSeconds: CALL_SECONDS, signal });
  const record = trace.uuid === null ? null : await readCall(c, trace.uuid, signal);
  return judgeAsterisk(trace, record, { config: c, tenant: expectedTenant(c), where: `Asterisk at ${ami.host}:${ami.port}` });
}

/** Plain FreeSWITCH has voicebot's extension in the default context, one fed by a trunk (3CX) in public: either will do. */
async function freeswitchCall(c: Config, esl: NonNullable<Config["esl"]>, signal: AbortSignal): Promise<CheckResult> {
  const call = (context: string): Promise<EslCallTrace> => eslDoctorCall({ ...esl, exten: "8000", context, waitSeconds: CALL_SECONDS, signal });
  const noRoute = (t: EslCallTrace): boolean => t.job?.includes("NO_ROUTE_DESTINATION") === true;
  let trace = await call("default");
  if (noRoute(trace)) {
    const inPublic = await call("public");
    if (!noRoute(inPublic)) trace = inPublic;
  }
  const record = trace.uuid === null || trace.stream === null ? null : await readCall(c, trace.uuid, signal);
  return judgeFreeswitch(trace, record, { config: c, tenant: expectedTenant(c), where: `FreeSWITCH at ${esl.host}:${esl.port}` });
}

export const pbxCallCheck: Check = {
  id: "pbx.call",
  timeoutMs: 12_000,
  async run(ctx: DoctorContext) {
    const c = ctx.config;
    if (!c || (c.ami === null && c.esl === null)) return [];
    if (!(await fetchHealth(c, ctx.signal))) {
      return warn("pbx.call", "the service is not running here: the call through the PBX was skipped", "sudo systemctl start voicebot, then `voicebot doctor` again");
    }
    const calls: Promise<CheckResult>[] = [];
    if (c.ami !== null) calls.push(asteriskCall(c, c.ami, ctx.signal));
    if (c.esl !== null) calls.push(freeswitchCall(c, c.esl, ctx.signal));
    return Promise.all(calls).catch((err: unknown) => fail("pbx.call", `the call through the PBX failed: ${String(err)}`, "report this with `voicebot version`"));
  },
};
