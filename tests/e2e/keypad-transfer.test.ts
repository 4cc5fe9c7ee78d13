import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult } from "../../src/simulate/call-types.ts";
import { AudioSocketParser, encodeMessage, isAudioKind, Kind, uuidFromString } from "../../src/transports/audiosocket-codec.ts";
import { FakeFreeswitch } from "../../src/simulate/fake-freeswitch.ts";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";
import { E2E_TIMEOUT_MS, listenerOf, startServer, type RunningServer } from "./harness.ts";
import { eventKinds, handOffSettled, queryStore } from "./store-reads.ts";

/**
 * The keypad (offline) dialog hands the caller to a technician during TECH_HOURS, through each
 * of the three paths the AI dialog uses (transfer.test.ts): AMI Redirect, the shipped dialplan's
 * /next, and FreeSWITCH ESL uuid_transfer. No provider key: the keypad dialog answers.
 */
const ALWAYS_OPEN = { TECH_HOURS: "mon-sun 00:00-23:59", TZ: "UTC", TRANSFER_TARGET: "200@techs" };
const TRANSFERRING = "Je vous transfère à un technicien";
// "Something else" (key 3) needs a technician at once: pressed during the menu, it cuts it short.
const PRESS_3 = [{ dtmf: "3", at: 1 }, { hangupAfter: 60 }] as const;

let ami: FakeAmi;
let withAmi: RunningServer;
let withDialplan: RunningServer;
let freeswitch: FakeFreeswitch;
let withEsl: RunningServer;

beforeAll(async () => {
  ami = await startFakeAmi({ username: "voicebot", secret: "s3cret" });
  freeswitch = await FakeFreeswitch.start();
  [withAmi, withDialplan, withEsl] = await Promise.all([
    startServer({ ...ALWAYS_OPEN, AMI_HOST: ami.host, AMI_PORT: String(ami.port), AMI_USER: "voicebot", AMI_SECRET: "s3cret" }),
    startServer({ ...ALWAYS_OPEN, ADMIN_TOKEN: "tok" }),
    startServer({ ...ALWAYS_OPEN, ...freeswitch.serverEnv(), AUDIOSTREAM_PLAYBACK: "file" }),
  ]);
  await freeswitch.waitForVoicebot(10_000);
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  for (const server of [withAmi, withDialplan, withEsl]) {
    expect(server.logs()).not.toContain("unhandled rejection");
    expect(await server.stop()).toBe(0);
  }
  await ami.stop();
  await freeswitch.stop();
}, E2E_TIMEOUT_MS);

interface Outcome {
  endReason: string;
  events: string[];
  said: string;
  ticket: string | undefined;
}

/**
 * The call's row, events, bot speech and ticket status once the server has closed it and, for a
 * transfer, stored its outcome (through /next the socket closes before the hand-off returns).
 */
async function outcome(server: RunningServer, uuid: string): Promise<Outcome> {
  for (let i = 0; i < 100; i++) {
    const [row] = queryStore<{ id: number; end_reason: string | null }>(server, "SELECT id, end_reason FROM calls WHERE uuid = ?", uuid);
    const events = row ? eventKinds(server, row.id) : [];
    if (row && row.end_reason !== null && handOffSettled(events)) {
      return {
        endReason: row.end_reason,
        events,
        said: queryStore<{ text: string }>(server, "SELECT text FROM turns WHERE call_id = ? AND speaker = 'bot' ORDER BY id", row.id).map((t) => t.text).join(" "),
        ticket: queryStore<{ status: string }>(server, "SELECT status FROM tickets WHERE call_id = ?", row.id)[0]?.status,
      };
    }
    await Bun.sleep(50);
  }
  throw new Error(`call ${uuid} never ended`);
}

function pressThree(server: RunningServer, uuid: string, signal?: AbortSignal): Promise<CallResult> {
  return new SimulatedCaller({ ...server.audiosocket, uuid, signal, greetingTimeoutMs: 10_000, script: [...PRESS_3] }).run();
}

function expectTransferred(o: Outcome): void {
  expect(o.endReason).toBe("transferred");
  expect(o.events).toContain("transfer");
  expect(o.events).toContain("transfer-sent");
  expect(o.said).toContain(TRANSFERRING);
  expect(o.said).not.toContain("vous rappellera");
  expect(o.ticket).toBe("escalated");
}

describe("keypad hand-off through AMI", () => {
  test("key 3 during opening hours: the transfer phrase, then AMI redirects the caller's channel", async () => {
    const uuid = crypto.randomUUID();
    ami.addChannel({ channel: "PJSIP/trunk-00000077", uniqueid: "1700000000.77", uuid });
    const hangup = new AbortController();
    // Asterisk ends the AudioSocket of a redirected channel: the caller's side closes.
    ami.onRedirect(() => {
      setTimeout(() => hangup.abort(), 20);
      return { ok: true };
    });
    const r = await pressThree(withAmi, uuid, hangup.signal);
    expect(r.error).toBeNull();
    expect(r.serverSentHangup).toBe(false);
    const { fields } = await ami.waitForAction("Redirect");
    expect(fields).toMatchObject({ Channel: "PJSIP/trunk-00000077", Context: "techs", Exten: "200", Priority: "1" });
    expectTransferred(await outcome(withAmi, uuid));
  }, E2E_TIMEOUT_MS);

  test("once the Redirect has succeeded, voicebot writes no more frames on that AudioSocket", async () => {
    const uuid = crypto.randomUUID();
    ami.addChannel({ channel: "PJSIP/trunk-00000079", uniqueid: "1700000000.79", uuid });
    let redirectedAt: number | null = null;
    ami.onRedirect(() => {
      redirectedAt = performance.now();
      return { ok: true };
    });
    // Asterisk's side, raw: a frame every 20 ms in, the arrival time of every frame out.
    const arrivals: number[] = [];
    const parser = new AudioSocketParser((kind) => {
      if (isAudioKind(kind)) arrivals.push(performance.now());
    });
    const socket = await Bun.connect({
      hostname: withAmi.audiosocket.host, port: withAmi.audiosocket.port,
      socket: { data: (_s, chunk) => parser.push(chunk) },
    });
    socket.write(encodeMessage(Kind.Uuid, uuidFromString(uuid)));
    const silence = encodeMessage(Kind.Slin8, new Uint8Array(320));
    const pacer = setInterval(() => socket.write(silence), 20);
    try {
      await Bun.sleep(1000);
      socket.write(encodeMessage(Kind.Dtmf, new Uint8Array(["3".charCodeAt(0)])));
      for (let i = 0; i < 600 && redirectedAt === null; i++) await Bun.sleep(50);
      expect(redirectedAt).not.toBeNull();
      // Asterisk keeps the socket a moment after a Redirect: voicebot must stay quiet on it.
      await Bun.sleep(1000);
    } finally {
      clearInterval(pacer);
      socket.end();
    }
    const at = redirectedAt ?? 0;
    expect(arrivals.filter((t) => t < at).length).toBeGreaterThan(50);
    // A frame already on its way when the answer left may land just after it; none once voicebot has read it.
    expect(arrivals.filter((t) => t > at + 200)).toEqual([]);
    expect((await outcome(withAmi, uuid)).endReason).toBe("transferred");
  }, E2E_TIMEOUT_MS);

  test("Asterisk refuses: the caller is told, types a number, the technician calls back", async () => {
    const uuid = crypto.randomUUID();
    ami.addChannel({ channel: "PJSIP/trunk-00000078", uniqueid: "1700000000.78", uuid });
    ami.onRedirect(() => ({ ok: false, message: "Redirect failed, channel not up." }));
    const r = await new SimulatedCaller({
      ...withAmi.audiosocket, uuid, greetingTimeoutMs: 10_000,
      script: [{ dtmf: "3", at: 1 }, { dtmf: "0612345678#" }, { dtmf: "1" }, { hangupAfter: 90 }],
    }).run();
    expect(r.error).toBeNull();
    expect(r.hungUpBy).toBe("server");
    const o = await outcome(withAmi, uuid);
    expect(o.endReason).toBe("escalated");
    expect(o.events).toContain("transfer-failed");
    expect(o.said).toContain("Je n'ai pas pu vous mettre en relation avec un technicien");
    expect(o.ticket).toBe("escalated");
    const [ticket] = queryStore<{ phone: string }>(withAmi, "SELECT t.phone FROM tickets t JOIN calls c ON c.id = t.call_id WHERE c.uuid = ?", uuid);
    expect(ticket?.phone).toBe("0612345678");
  }, E2E_TIMEOUT_MS);
});

describe("keypad hand-off through the shipped dialplan (no AMI)", () => {
  test("voicebot ends the socket with 0x00 and /next says where to go", async () => {
    const uuid = crypto.randomUUID();
    const registered = await fetch(`${withDialplan.http}/api/calls/${uuid}?token=tok`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "caller=0611223344&dnis=777&tenant=default",
    });
    expect(await registered.text()).toBe("waiting");
    const r = await pressThree(withDialplan, uuid);
    expect(r.error).toBeNull();
    expect(r.serverSentHangup).toBe(true);
    expectTransferred(await outcome(withDialplan, uuid));
    const next = await fetch(`${withDialplan.http}/api/calls/${uuid}/next?token=tok`);
    expect(await next.text()).toBe("transfer techs,200,1");
  }, E2E_TIMEOUT_MS);

  test("over chan_websocket: HANGUP after the transfer phrase, and /next under the VB_UUID passed in v(uuid=)", async () => {
    const uuid = crypto.randomUUID();
    const r = await new SimulatedCaller({
      websocket: { url: `ws://${await listenerOf(withDialplan, "websocket")}/asterisk`, uuid },
      greetingTimeoutMs: 10_000, script: [...PRESS_3],
    }).run();
    expect(r.error).toBeNull();
    expect(r.serverSentHangup).toBe(true);
    expectTransferred(await outcome(withDialplan, uuid));
    const next = await fetch(`${withDialplan.http}/api/calls/${uuid}/next?token=tok`);
    expect(await next.text()).toBe("transfer techs,200,1");
  }, E2E_TIMEOUT_MS);
});

describe("keypad hand-off on FreeSWITCH (ESL), community module playing files", () => {
  test("the DTMF event from ESL leads to the transfer phrase, then uuid_transfer and the stream stops", async () => {
    const uuid = crypto.randomUUID();
    const r = await new SimulatedCaller({
      audiostream: { url: `ws://${await listenerOf(withEsl, "audiostream")}/stream/default/${uuid}`, playback: "file", freeswitch },
      uuid, sampleRate: 8000, greetingTimeoutMs: 10_000, script: [...PRESS_3],
    }).run();
    expect(r.error).toBeNull();
    expect(r.audiostream?.transfer?.destination).toBe("200 XML techs");
    expect(r.audiostream?.endedBy).toBe("uuid_transfer");
    expectTransferred(await outcome(withEsl, uuid));
  }, E2E_TIMEOUT_MS);
});
