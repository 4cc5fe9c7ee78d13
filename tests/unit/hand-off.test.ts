import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CallDirectory, formatNextStep } from "../../src/call/call-directory.ts";
import { PbxHandOff } from "../../src/call/hand-off.ts";
import { rootLogger } from "../../src/log.ts";
import { AmiClient } from "../../src/transports/ami.ts";
import type { CallLeg, TransportName } from "../../src/transports/types.ts";
import { EslClient } from "../../src/transports/esl.ts";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";
import { startFakeEsl, type FakeEsl } from "../fakes/esl.ts";

const UUID = "0b5f7c3e-1d2a-4c8e-9f00-123456789abc";

/** The leg's side of a hand-off is its id, its transport and hangup(); audio plays no part. */
function leg(transport: TransportName, id = UUID): CallLeg & { hungUp: number } {
  return {
    id, transport, peer: "127.0.0.1:1", tenant: "default", callerNumber: null, dnis: null, reportsPlayedAudio: false, dtmfEvents: true,
    sampleRate: 8000, frameSamples: 160, hungUp: 0,
    playbackPendingMs: 0, playsAhead: false, metadata: null, sendAudio: () => true, flushPlayback: () => {}, hangup() { this.hungUp++; },
  };
}

describe("Asterisk without AMI: the dialplan asks /next", () => {
  test("the socket ends with 0x00 and /next says where to go", async () => {
    const directory = new CallDirectory();
    const handOff = new PbxHandOff({ ami: null, esl: null, directory, log: rootLogger });
    const call = leg("audiosocket");
    expect(handOff.available("audiosocket")).toBe(true);
    expect(handOff.available("audiostream")).toBe(false);
    expect(await handOff.transfer(call, "200@techs")).toEqual({ ok: true, via: "dialplan" });
    expect(call.hungUp).toBe(1);
    expect(formatNextStep(directory.next(UUID))).toBe("transfer techs,200,1");
  });

  test("chan_websocket: the same path, under the VB_UUID its dialplan passed in v()", async () => {
    const directory = new CallDirectory();
    const handOff = new PbxHandOff({ ami: null, esl: null, directory, log: rootLogger });
    const call = leg("websocket");
    expect(handOff.available("websocket")).toBe(true);
    expect(handOff.available("asp")).toBe(false);
    expect(await handOff.transfer(call, "200@techs")).toEqual({ ok: true, via: "dialplan" });
    expect(call.hungUp).toBe(1);
    expect(formatNextStep(directory.next(UUID))).toBe("transfer techs,200,1");
  });
});

describe("Asterisk with AMI: Redirect of the caller's channel", () => {
  let ami: FakeAmi;
  let client: AmiClient;
  beforeAll(async () => {
    ami = await startFakeAmi({ username: "voicebot", secret: "s3cret" });
    client = new AmiClient({ host: ami.host, port: ami.port, username: "voicebot", secret: "s3cret", log: rootLogger });
    client.start();
    await client.ready(5000);
  });
  afterAll(async () => {
    await client.stop();
    await ami.stop();
  });

  test("success: Redirect with the target's context, extension and priority; the socket is left to Asterisk", async () => {
    ami.addChannel({ channel: "PJSIP/trunk-00000001", uniqueid: "1700000000.1", uuid: UUID });
    await Bun.sleep(20);
    const handOff = new PbxHandOff({ ami: client, esl: null, directory: new CallDirectory(), log: rootLogger });
    const call = leg("audiosocket");
    expect(await handOff.transfer(call, "200@techs:2")).toEqual({ ok: true, via: "ami" });
    const { fields } = await ami.waitForAction("Redirect");
    expect(fields).toMatchObject({ Channel: "PJSIP/trunk-00000001", Context: "techs", Exten: "200", Priority: "2" });
    expect(call.hungUp).toBe(0);
  });

  test("Asterisk refuses: the reason says why, for the caller to be told", async () => {
    ami.addChannel({ channel: "PJSIP/trunk-00000002", uniqueid: "1700000000.2", uuid: "11111111-2222-4333-8444-555555555555" });
    await Bun.sleep(20);
    ami.onRedirect(() => ({ ok: false, message: "Redirect failed, channel not up." }));
    const handOff = new PbxHandOff({ ami: client, esl: null, directory: new CallDirectory(), log: rootLogger });
    const result = await handOff.transfer(leg("audiosocket", "11111111-2222-4333-8444-555555555555"), "200@techs");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain("Redirect failed, channel not up.");
  });

  test("AMI down: fails at once without waiting", async () => {
    const down = new AmiClient({ host: "127.0.0.1", port: 1, username: "voicebot", secret: "x", log: rootLogger });
    const handOff = new PbxHandOff({ ami: down, esl: null, directory: new CallDirectory(), log: rootLogger });
    expect(await handOff.transfer(leg("audiosocket"), "200@techs")).toEqual({ ok: false, reason: "AMI is not connected" });
  });
});

describe("FreeSWITCH: ESL uuid_transfer, then the stream is stopped", () => {
  let esl: FakeEsl;
  let client: EslClient;
  beforeAll(async () => {
    esl = await startFakeEsl();
    client = new EslClient({ host: esl.host, port: esl.port, password: "ClueCon", log: rootLogger });
    client.start();
    await client.ready(5000);
  });
  afterAll(async () => {
    await client.stop();
    await esl.stop();
  });

  test("success: transfer to the target's extension in the XML dialplan, then stop the stream", async () => {
    const handOff = new PbxHandOff({ ami: null, esl: client, directory: new CallDirectory(), log: rootLogger });
    expect(handOff.available("audiostream")).toBe(true);
    // The console's test call has no PBX behind it, with ESL or AMI up or not.
    expect(handOff.available("browser")).toBe(false);
    expect(await handOff.transfer(leg("audiostream"), "1000@default")).toEqual({ ok: true, via: "esl" });
    expect((await esl.waitForCommand("api uuid_transfer")).line).toBe(`api uuid_transfer ${UUID} 1000 XML default`);
    expect((await esl.waitForCommand("api uuid_audio_stream")).line).toBe(`api uuid_audio_stream ${UUID} stop`);
  });

  test("FreeSWITCH refuses: the stream is kept, so the caller can be told", async () => {
    esl.onCommand((line) => (line.startsWith("api uuid_transfer") ? "-ERR No such channel!\n" : null));
    const before = esl.commands.length;
    const handOff = new PbxHandOff({ ami: null, esl: client, directory: new CallDirectory(), log: rootLogger });
    const result = await handOff.transfer(leg("audiostream"), "1000@default");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain("No such channel");
    await Bun.sleep(20);
    expect(esl.commands.slice(before).map((c) => c.line).filter((l) => l.includes("uuid_audio_stream"))).toEqual([]);
  });

  test("no ESL configured: FreeSWITCH calls are not offered a transfer", async () => {
    const handOff = new PbxHandOff({ ami: null, esl: null, directory: new CallDirectory(), log: rootLogger });
    expect(handOff.available("audiostream")).toBe(false);
    expect(await handOff.transfer(leg("audiostream"), "1000@default")).toEqual({ ok: false, reason: "no ESL configured (ESL_HOST)" });
  });
});
