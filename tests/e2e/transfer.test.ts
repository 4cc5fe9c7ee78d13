import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult } from "../../src/simulate/call-types.ts";
import { FakeFreeswitch } from "../../src/simulate/fake-freeswitch.ts";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";
import { startAiFakes, type AiFakes } from "./ai-fakes.ts";
import { E2E_TIMEOUT_MS, listenerOf, startServer, type RunningServer } from "./harness.ts";
import { eventKinds, handOffSettled, queryStore } from "./store-reads.ts";

/**
 * Hand-off to a technician through dist/voicebot: an AI call whose caller asks for a technician
 * during opening hours, on an Asterisk reached by AMI (a fake speaking its wire protocol) or by
 * the shipped dialplan's /api/calls/{uuid}/next.
 */
const ASK = "Je voudrais parler à un technicien s'il vous plaît.";
const ALWAYS_OPEN = { TECH_HOURS: "mon-sun 00:00-23:59", TZ: "UTC", TRANSFER_TARGET: "200@techs" };

let fakes: AiFakes;
let ami: FakeAmi;
let withAmi: RunningServer;
let withDialplan: RunningServer;
let freeswitch: FakeFreeswitch;
let withEsl: RunningServer;

beforeAll(async () => {
  fakes = await startAiFakes([ASK]);
  ami = await startFakeAmi({ username: "voicebot", secret: "s3cret" });
  withAmi = await startServer({ ...fakes.env, ...ALWAYS_OPEN, AMI_HOST: ami.host, AMI_PORT: String(ami.port), AMI_USER: "voicebot", AMI_SECRET: "s3cret" });
  withDialplan = await startServer({ ...fakes.env, ...ALWAYS_OPEN, ADMIN_TOKEN: "tok" });
  freeswitch = await FakeFreeswitch.start();
  withEsl = await startServer({ ...fakes.env, ...ALWAYS_OPEN, ...freeswitch.serverEnv(), AUDIOSTREAM_PLAYBACK: "file" });
  await freeswitch.waitForVoicebot(10_000);
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  for (const server of [withAmi, withDialplan, withEsl]) {
    expect(server.logs()).not.toContain("unhandled rejection");
    expect(await server.stop()).toBe(0);
  }
  await ami.stop();
  await freeswitch.stop();
  await fakes.stop();
}, E2E_TIMEOUT_MS);

function askForTechnician(server: RunningServer, uuid: string, signal?: AbortSignal): Promise<CallResult> {
  fakes.words = [ASK];
  return new SimulatedCaller({
    ...server.audiosocket, uuid, signal, greetingTimeoutMs: 10_000,
    script: [{ say: fakes.audio.get(ASK) as Int16Array }, { hangupAfter: 60 }],
  }).run();
}

/** The call's row once the server has closed it. */
async function ended(server: RunningServer, uuid: string): Promise<{ id: number; end_reason: string; caller: string | null; dnis: string | null; tenant: string }> {
  for (let i = 0; i < 100; i++) {
    const [row] = queryStore<{ id: number; end_reason: string | null; caller: string | null; dnis: string | null; tenant: string }>(server, "SELECT id, end_reason, caller, dnis, tenant FROM calls WHERE uuid = ?", uuid);
    if (row && row.end_reason !== null) return row as { id: number; end_reason: string; caller: string | null; dnis: string | null; tenant: string };
    await Bun.sleep(50);
  }
  throw new Error(`call ${uuid} never ended`);
}

/** The call's event kinds once its hand-off has settled (see handOffSettled). */
async function events(server: RunningServer, callId: number): Promise<string[]> {
  for (let i = 0; ; i++) {
    const kinds = eventKinds(server, callId);
    if (handOffSettled(kinds) || i >= 100) return kinds;
    await Bun.sleep(50);
  }
}

describe("hand-off through AMI", () => {
  test("the caller hears the transfer phrase, then AMI redirects their channel to the target", async () => {
    const uuid = crypto.randomUUID();
    ami.addChannel({ channel: "PJSIP/trunk-00000042", uniqueid: "1700000000.42", uuid });
    const hangup = new AbortController();
    // Asterisk ends the AudioSocket of a redirected channel: the caller's side closes.
    ami.onRedirect(() => {
      setTimeout(() => hangup.abort(), 20);
      return { ok: true };
    });
    const r = await askForTechnician(withAmi, uuid, hangup.signal);
    expect(r.error).toBeNull();
    expect(r.serverSentHangup).toBe(false);
    const { fields, at } = await ami.waitForAction("Redirect");
    expect(fields).toMatchObject({ Channel: "PJSIP/trunk-00000042", Context: "techs", Exten: "200", Priority: "1" });
    const call = await ended(withAmi, uuid);
    // The README's transfer figure: the transfer phrase's last frame → the Redirect on the wire (printed, not asserted).
    const [phrase] = queryStore<{ ended_at: number }>(withAmi, "SELECT ended_at FROM turns WHERE call_id = ? AND speaker = 'bot' ORDER BY id DESC LIMIT 1", call.id);
    console.log(`transfer: last bot frame → AMI Redirect received ${(performance.timeOrigin + at - (phrase?.ended_at ?? 0)).toFixed(1)} ms`);
    expect(call.end_reason).toBe("transferred");
    expect(await events(withAmi, call.id)).toContain("transfer-sent");
    const [ticket] = queryStore<{ status: string; tenant: string }>(withAmi, "SELECT status, tenant FROM tickets WHERE call_id = ?", call.id);
    expect(ticket).toEqual({ status: "escalated", tenant: "default" });
  }, E2E_TIMEOUT_MS);

  test("Asterisk refuses the redirect: the caller is told, the ticket stays escalated, the bot hangs up", async () => {
    const uuid = crypto.randomUUID();
    ami.addChannel({ channel: "PJSIP/trunk-00000043", uniqueid: "1700000000.43", uuid });
    ami.onRedirect(() => ({ ok: false, message: "Redirect failed, channel not up." }));
    const r = await askForTechnician(withAmi, uuid);
    expect(r.error).toBeNull();
    expect(r.hungUpBy).toBe("server");
    expect(r.serverSentHangup).toBe(true);
    const call = await ended(withAmi, uuid);
    expect(call.end_reason).toBe("escalated");
    expect(await events(withAmi, call.id)).toContain("transfer-failed");
    const said = queryStore<{ text: string }>(withAmi, "SELECT text FROM turns WHERE call_id = ? AND speaker = 'bot'", call.id).map((t) => t.text).join(" ");
    expect(said).toContain("Je n'ai pas pu vous mettre en relation avec un technicien");
    expect(queryStore<{ status: string }>(withAmi, "SELECT status FROM tickets WHERE call_id = ?", call.id)).toEqual([{ status: "escalated" }]);
  }, E2E_TIMEOUT_MS);
});

describe("hand-off through the shipped dialplan (no AMI)", () => {
  test("the dialplan registers the caller, voicebot ends the socket with 0x00, and /next says where to go", async () => {
    const uuid = crypto.randomUUID();
    const registered = await fetch(`${withDialplan.http}/api/calls/${uuid}?token=tok`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "caller=0611223344&dnis=777&tenant=default",
    });
    expect(await registered.text()).toBe("waiting");
    const r = await askForTechnician(withDialplan, uuid);
    expect(r.error).toBeNull();
    expect(r.serverSentHangup).toBe(true);
    const call = await ended(withDialplan, uuid);
    expect(call).toMatchObject({ end_reason: "transferred", caller: "0611223344", dnis: "777", tenant: "default" });
    const next = await fetch(`${withDialplan.http}/api/calls/${uuid}/next?token=tok`);
    expect(await next.text()).toBe("transfer techs,200,1");
    expect(await (await fetch(`${withDialplan.http}/api/calls/${uuid}/next`)).text()).toContain("unauthorized");
  }, E2E_TIMEOUT_MS);
});

describe("hand-off on FreeSWITCH (ESL), community module playing files", () => {
  test("the transfer phrase is played out by FreeSWITCH, then uuid_transfer moves the caller and the stream stops", async () => {
    const uuid = crypto.randomUUID();
    const stream = await listenerOf(withEsl, "audiostream");
    fakes.words = [ASK];
    const r = await new SimulatedCaller({
      audiostream: { url: `ws://${stream}/stream/default/${uuid}`, playback: "file", freeswitch },
      uuid, sampleRate: 8000, greetingTimeoutMs: 10_000,
      script: [{ say: fakes.audio.get(ASK) as Int16Array }, { hangupAfter: 60 }],
    }).run();
    expect(r.error).toBeNull();
    expect(r.audiostream?.transfer?.destination).toBe("200 XML techs");
    expect(r.audiostream?.endedBy).toBe("uuid_transfer");
    // FreeSWITCH played the goodbye file before the transfer: voicebot waited for it.
    expect(r.audiostream?.filesPlayed).toBeGreaterThan(0);
    const call = await ended(withEsl, uuid);
    expect(call.end_reason).toBe("transferred");
    expect(await events(withEsl, call.id)).toContain("transfer-sent");
  }, E2E_TIMEOUT_MS);
});
