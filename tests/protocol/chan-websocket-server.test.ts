/**
 * The chan_websocket listener's edges: the token, the tenant, and bad input from the PBX — each
 * fault closes that one connection with a log line naming the call and the fault, and the
 * listener goes on serving the next call.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { AsteriskSide, startReplayServer, type ReplayServer } from "../support/chan-websocket-replay.ts";

const lines = captureLogLines();
let replay: ReplayServer | null = null;

afterEach(async () => {
  await replay?.stop();
  replay = null;
});

const START = (id: string, format = "slin16", size = 640): string =>
  `MEDIA_START connection_id:voicebot channel:WebSocket/voicebot/0x1 channel_id:${id} format:${format} optimal_frame_size:${size} ptime:20`;

async function refusedStatus(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13", ...headers },
  });
  return res.status;
}

describe("who may place calls", () => {
  test("WEBSOCKET_TOKEN: ?token=, Bearer, or Basic auth's password (websocket_client.conf username/password)", async () => {
    replay = startReplayServer("s3cret");
    const port = replay.server.port;
    expect(await refusedStatus(port, "/asterisk")).toBe(401);
    expect(await refusedStatus(port, "/asterisk?token=wrong")).toBe(401);
    expect(await refusedStatus(port, "/nowhere?token=s3cret")).toBe(404);
    for (const [path, headers] of [
      ["/asterisk?token=s3cret", {}],
      ["/asterisk", { Authorization: "Bearer s3cret" }],
      ["/asterisk", { Authorization: `Basic ${Buffer.from("asterisk:s3cret").toString("base64")}` }],
    ] as const) {
      const side = await AsteriskSide.connect(port, path, ["media"], headers);
      side.ws.close();
    }
    expect(replay.stats.connectionsRejected).toBe(3);
    expect(lines.some((l) => l.includes("wrong token"))).toBe(true);
  });

  test("the tenant: path first, then v(tenant=), then the VOICEBOT_TENANT channel variable; an unknown one is hung up", async () => {
    replay = startReplayServer(null, (id) => (id === null ? "default" : ["acme", "beta", "gamma"].includes(id) ? id : null));
    const port = replay.server.port;
    const cases: [string, string, string | null][] = [
      ["/asterisk/acme?tenant=beta", START("1.1"), "acme"],
      ["/asterisk?tenant=beta", START("1.2"), "beta"],
      ["/asterisk", '{"event":"MEDIA_START","connection_id":"v","channel":"c","channel_id":"1.3","format":"slin","optimal_frame_size":320,"ptime":20,"channel_variables":{"VOICEBOT_TENANT":"gamma","VOICEBOT_CALLER":"0612345678","VOICEBOT_DNIS":"3000"}}', "gamma"],
      ["/asterisk", START("1.4"), "default"],
      ["/asterisk/zeta", START("1.5"), null],
    ];
    for (const [path, start, tenant] of cases) {
      const side = await AsteriskSide.connect(port, path);
      side.ws.send(start);
      if (tenant === null) {
        expect((await side.waitClosed()).code).toBe(1008);
        expect(side.texts).toEqual(["HANGUP"]);
        continue;
      }
      await waitFor("the call", () => replay!.legs.some((l) => l.leg.tenant === tenant));
      side.ws.close();
    }
    const gamma = replay.legs.find((l) => l.leg.tenant === "gamma")!.leg;
    expect([gamma.callerNumber, gamma.dnis, gamma.sampleRate]).toEqual(["0612345678", "3000", 8000]);
    expect(lines.some((l) => l.includes("unknown tenant") && l.includes("zeta"))).toBe(true);
  });

  test("the call's id: the dialplan's VB_UUID from v(uuid=) (what /next and AMI know), else MEDIA_START's channel_id", async () => {
    replay = startReplayServer(null);
    const port = replay.server.port;
    const withUuid = await AsteriskSide.connect(port, "/asterisk?uuid=1B4E28BA-2FA1-41D2-883F-0016D3CCA427");
    withUuid.ws.send(START("2.1"));
    const plain = await AsteriskSide.connect(port, "/asterisk");
    plain.ws.send(START("2.2"));
    await waitFor("both calls", () => replay!.legs.length === 2);
    expect(replay.legs.map((l) => l.leg.id).sort()).toEqual(["1b4e28ba-2fa1-41d2-883f-0016d3cca427", "2.2"]);
    expect(await refusedStatus(port, "/asterisk?uuid=42")).toBe(400);
    withUuid.ws.close();
    plain.ws.close();
  });
});

describe("the caller's silence", () => {
  test("Asterisk sends nothing while the caller is silent (s4): after 100 ms of nothing, silence is fed in at real time until frames return", async () => {
    replay = startReplayServer(null, (id) => id ?? "default", 100);
    const side = await AsteriskSide.connect(replay.server.port, "/asterisk");
    side.ws.send(START("3.1"));
    await waitFor("the call", () => replay!.legs.length === 1);
    const call = replay.legs[0]!;
    await Bun.sleep(500);
    // 20 ms frames of zeros: the first at MEDIA_START, then about one per 20 ms after the first 100 ms.
    const frames = call.audio.length / 320;
    expect(Number.isInteger(frames)).toBe(true);
    expect(frames).toBeGreaterThanOrEqual(5);
    expect(frames).toBeLessThanOrEqual(22);
    expect(call.audio.every((s) => s === 0)).toBe(true);
    const tone = new Uint8Array(640).fill(1);
    for (let i = 0; i < 10; i++) side.ws.send(tone);
    await waitFor("the caller's frames", () => call.audio.filter((s) => s === 257).length === 3200);
    // The caller's frames go in as they come, after the silence.
    expect(call.audio.slice(-3200).every((s) => s === 257)).toBe(true);
    side.ws.close();
  });
});

describe("bad input closes that one connection, with the call and the fault in the log", () => {
  const cases: { name: string; send: (side: AsteriskSide) => void; code: number; fault: string; call: string | null }[] = [
    { name: "binary before MEDIA_START", send: (s) => s.ws.send(new Uint8Array(640)), code: 1003, fault: "binary message of 640 bytes before MEDIA_START", call: null },
    { name: "another event first", send: (s) => s.ws.send("DTMF_END digit:1 channel_id:1.9"), code: 1003, fault: "not MEDIA_START", call: null },
    { name: "an unsupported format", send: (s) => s.ws.send(START("2.1", "opus", 0)), code: 1003, fault: 'format "opus" is not supported', call: null },
    { name: "half a sample", send: (s) => (s.ws.send(START("2.2")), s.ws.send(new Uint8Array(641))), code: 1003, fault: "641 bytes is not a whole number of slin16 samples", call: "2.2" },
    { name: "JSON that is not", send: (s) => (s.ws.send(START("2.3")), s.ws.send("{oops")), code: 1003, fault: "is not JSON", call: "2.3" },
    { name: "a bad digit", send: (s) => (s.ws.send(START("2.4")), s.ws.send("DTMF_END digit:Z channel_id:2.4")), code: 1003, fault: "not a keypad digit", call: "2.4" },
    { name: "a second MEDIA_START", send: (s) => (s.ws.send(START("2.5")), s.ws.send(START("2.5"))), code: 1003, fault: "second MEDIA_START", call: "2.5" },
    { name: "over 1 s of audio in one message", send: (s) => (s.ws.send(START("2.6", "slin", 320)), s.ws.send(new Uint8Array(16002))), code: 1009, fault: "over 1 s of slin", call: "2.6" },
    { name: "a message over 65,535 bytes", send: (s) => (s.ws.send(START("2.7")), s.ws.send(new Uint8Array(70_000))), code: 1009, fault: "", call: null },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      replay = startReplayServer();
      const side = await AsteriskSide.connect(replay.server.port, "/asterisk");
      c.send(side);
      expect((await side.waitClosed()).code).toBe(c.code);
      if (c.fault !== "") {
        const line = lines.find((l) => l.includes(c.fault));
        expect(line).toBeDefined();
        if (c.call !== null) expect(line).toContain(c.call);
        expect(replay.stats.protocolErrors).toBe(1);
      }
      const admitted = replay.legs.find((l) => l.leg.id === c.call);
      if (admitted !== undefined) {
        await waitFor("the leg to close", () => admitted.closed !== null);
        expect(admitted.closed!.reason).toBe(c.code === 1009 && c.fault === "" ? "caller-hangup" : "protocol-error");
      }
      // The listener serves the next call.
      const next = await AsteriskSide.connect(replay.server.port, "/asterisk");
      next.ws.send(START("9.9"));
      await waitFor("the next call", () => replay!.legs.some((l) => l.leg.id === "9.9"));
      next.ws.close();
    });
  }

  test("no MEDIA_START at all", async () => {
    replay = startReplayServer();
    const side = await AsteriskSide.connect(replay.server.port, "/asterisk");
    expect((await side.waitClosed()).code).toBe(1008);
    expect(lines.some((l) => l.includes("no MEDIA_START within"))).toBe(true);
  });
});
