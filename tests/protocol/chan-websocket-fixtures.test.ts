/**
 * Every conversation a real Asterisk 23.5 held over chan_websocket (fixtures/chan_websocket),
 * replayed to voicebot's listener: what Asterisk sent (its upgrade query, MEDIA_START, each binary
 * frame cut byte for byte from asterisk_to_server.bin, its events and its close) goes in; what
 * voicebot sends back is checked against what Asterisk accepts per the "Observed" notes — commands
 * it knows, in the call's own format, and audio in whole `optimal_frame_size` frames under 65,535 bytes.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { parseCommand, MAX_MESSAGE_BYTES } from "../../src/transports/chan-websocket-codec.ts";
import { MULAW_TO_LINEAR } from "../../src/transports/mulaw.ts";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { AsteriskSide, loadScenario, scenarioNames, startReplayServer, type RecordedLeg, type ReplayServer, type Scenario } from "../support/chan-websocket-replay.ts";

const lines = captureLogLines();
let replay: ReplayServer | null = null;

afterEach(async () => {
  await replay?.stop();
  replay = null;
});

const RATES: Record<string, number> = { slin: 8000, slin16: 16000, ulaw: 8000 };

function isJson(s: Scenario): boolean {
  return s.messages.find((m) => m.dir === "rx" && m.type === "text")?.text?.startsWith("{") ?? false;
}

/** The upgrade as Asterisk made it, with the capture's path moved under voicebot's. */
async function connect(s: Scenario): Promise<AsteriskSide> {
  replay = startReplayServer();
  const query = s.requestPath?.split("?")[1];
  return AsteriskSide.connect(replay.server.port, `/asterisk${query ? `?${query}` : ""}`, s.subprotocol === null && s.name.startsWith("s12") ? [] : ["media"]);
}

/** The call, once every message replayed before `until` has reached it (its audio and digits). */
async function admitted(s?: Scenario, until: (m: { dir: string; type: string; text?: string }) => boolean = ends): Promise<RecordedLeg> {
  await waitFor("the call to be admitted", () => replay!.legs.length === 1);
  const call = replay!.legs[0]!;
  if (s === undefined) return call;
  const cut = s.messages.findIndex(until);
  const before = cut < 0 ? s.messages : s.messages.slice(0, cut);
  const frames = before.filter((m) => m.dir === "rx" && m.type === "binary").reduce((n, m) => n + m.len!, 0);
  const samples = (s.format === "ulaw" ? frames : frames / 2) + RATES[s.format!]! / 50;
  const digits = before.filter((m) => m.dir === "rx" && m.type === "text" && m.text!.includes("DTMF_END")).length;
  await waitFor("the replayed messages", () => call.audio.length >= samples && call.digits.length >= digits);
  await Bun.sleep(10);
  return call;
}

/** What Asterisk accepts (Observed): known commands in the call's format, whole frames, ≤ 65,535 bytes. */
function checkAccepted(side: AsteriskSide, json: boolean, frameSize: number): void {
  for (const text of side.texts) expect(parseCommand(text, json), text).not.toBeNull();
  for (const bytes of side.binaries) {
    expect(bytes.length % frameSize).toBe(0);
    expect(bytes.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  }
}

/** The caller's audio as the call heard it: the silent frame that starts the call, then every frame decoded. */
function expectedCallerAudio(s: Scenario): number[] {
  const rate = RATES[s.format!]!;
  const out: number[] = new Array(rate / 50).fill(0);
  const bytes = s.fromAsterisk;
  if (s.format === "ulaw") for (const b of bytes) out.push(MULAW_TO_LINEAR[b]!);
  else for (let i = 0; i + 1 < bytes.length; i += 2) out.push(((bytes[i]! | (bytes[i + 1]! << 8)) << 16) >> 16);
  return out;
}

function digitsOf(s: Scenario): string {
  let digits = "";
  for (const m of s.messages) {
    const match = m.dir === "rx" && m.type === "text" ? /DTMF_END.*digit"?:"?([0-9*#A-D])/.exec(m.text!) : null;
    if (match) digits += match[1];
  }
  return digits;
}

const ends = (m: { dir: string; type: string }): boolean => (m.dir === "rx" && m.type === "close") || m.type === "tcp_abort" || (m.dir === "tx" && m.type === "close");

const conversations = scenarioNames().map(loadScenario).filter((s) => s.messages.length > 0);

describe("every captured conversation, replayed", () => {
  test("all 22 scenarios are here", () => {
    expect(scenarioNames().length).toBe(22);
    expect(conversations.length).toBe(21); // s11: Asterisk never reached a server
  });

  for (const s of conversations) {
    test(`${s.name}: MEDIA_START, caller audio byte for byte, digits, and the end as captured`, async () => {
      const side = await connect(s);
      side.replayRx(s, ends);
      const call = await admitted(s);
      const start = s.messages.find((m) => m.dir === "rx" && m.type === "text")!.text!;
      const channelId = /channel_id"?:"?([0-9.]+)/.exec(start)![1]!;
      expect(call.leg.id).toBe(channelId);
      expect(call.leg.transport).toBe("websocket");
      expect(call.leg.sampleRate).toBe(RATES[s.format!]!);
      expect(call.leg.metadata).toBe(start);
      await waitFor("every caller frame", () => call.audio.length >= expectedCallerAudio(s).length);
      expect(call.audio).toEqual(expectedCallerAudio(s));
      expect(call.digits).toBe(digitsOf(s));
      const json = isJson(s);
      const end = s.messages.find(ends)!;
      const hangupSent = s.messages.some((m) => m.dir === "tx" && m.type === "text" && /HANGUP/.test(m.text!) && m.t_ms < end.t_ms);
      if (end.type === "tcp_abort") {
        (side.ws as unknown as { terminate(): void }).terminate();
        await waitFor("the leg to close", () => call.closed !== null);
        expect(call.closed!.reason).toBe("caller-hangup");
        expect(call.closed!.detail).toContain("1006");
      } else if (end.dir === "tx") {
        // s5b: the server closes; voicebot does so only when it stops: HANGUP, then close 1001.
        await replay!.stop();
        expect((await side.waitClosed()).code).toBe(1001);
        expect(side.texts.at(-1)).toBe(json ? '{"command":"HANGUP"}' : "HANGUP");
        expect(call.closed!.reason).toBe("shutdown");
      } else if (hangupSent) {
        call.leg.hangup();
        await waitFor("HANGUP", () => side.texts.some((t) => t.includes("HANGUP")));
        // s1b was dialled with n: ANSWER came first.
        expect(side.texts.filter((t) => !t.includes("ANSWER"))).toEqual([json ? '{"command":"HANGUP"}' : "HANGUP"]);
        side.ws.close(end.close_code, end.close_reason);
        await waitFor("the leg to close", () => call.closed !== null);
        expect(call.closed!.reason).toBe("server-hangup");
      } else {
        // The caller hung up (s5c: a bare close 1000), or Asterisk ended the call itself (s7a: 1009).
        side.ws.close(end.close_code, end.close_reason);
        await waitFor("the leg to close", () => call.closed !== null);
        expect(call.closed!.reason).toBe("caller-hangup");
        expect(call.closed!.detail).toContain(`close ${end.close_code}`);
      }
      checkAccepted(side, json, s.optimalFrameSize!);
      expect(replay!.stats.protocolErrors).toBe(0);
    });
  }
});

/** The capture server's own audio for this call, as 20 ms frames of linear PCM. */
function botFrames(s: Scenario): Int16Array[] {
  const samplesPerFrame = RATES[s.format!]! / 50;
  const ulaw = s.format === "ulaw";
  const total = ulaw ? s.toAsterisk.length : s.toAsterisk.length / 2;
  const frames: Int16Array[] = [];
  for (let at = 0; at + samplesPerFrame <= total; at += samplesPerFrame) {
    const f = new Int16Array(samplesPerFrame);
    for (let i = 0; i < samplesPerFrame; i++) {
      const k = at + i;
      f[i] = ulaw ? MULAW_TO_LINEAR[s.toAsterisk[k]!]! : ((s.toAsterisk[2 * k]! | (s.toAsterisk[2 * k + 1]! << 8)) << 16) >> 16;
    }
    frames.push(f);
  }
  return frames;
}

describe("voicebot's side of the frame-size experiment (s1a–s1d)", () => {
  for (const name of ["s1a_slin16_plain", "s1b_ulaw_json_noanswer", "s1c_nocodec_plain", "s1d_slin16_json"]) {
    test(`${name}: the captured tone goes out as whole ${"optimal_frame_size"} frames, every byte of it`, async () => {
      const s = loadScenario(name);
      const side = await connect(s);
      const untilAudio = (m: { dir: string; type: string }): boolean => m.dir === "rx" && m.type === "binary";
      side.replayRx(s, untilAudio);
      const call = await admitted(s, untilAudio);
      if (name.startsWith("s1b")) {
        // Dialled with n: Asterisk waits for ANSWER (Observed, auto-answer).
        await waitFor("ANSWER", () => side.texts.length > 0);
        expect(side.texts[0]).toBe('{"command":"ANSWER"}');
      }
      const frames = botFrames(s);
      for (const f of frames) expect(call.leg.sendAudio(f)).toBe(true);
      const sent = frames.length * (s.format === "ulaw" ? 160 : RATES[s.format!]! / 25);
      const preroll = s.optimalFrameSize!;
      await waitFor("all the audio", () => side.binaries.reduce((n, b) => n + b.length, 0) >= sent + preroll);
      checkAccepted(side, isJson(s), s.optimalFrameSize!);
      const out = Buffer.concat(side.binaries);
      expect(out.subarray(0, preroll).every((b) => b === (s.format === "ulaw" ? 0xff : 0))).toBe(true);
      const expected = s.toAsterisk.subarray(0, sent).map((b) => (s.format === "ulaw" && b === 0x7f ? 0xff : b));
      expect(Buffer.compare(out.subarray(preroll), Buffer.from(expected))).toBe(0);
      expect(call.leg.playbackPendingMs).toBeGreaterThan(0);
    });
  }
});

describe("flow control, flush and marks as the captures show them", () => {
  const tone = (rate: number): Int16Array => Int16Array.from({ length: rate / 50 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)));

  test("s2b: nothing is sent between MEDIA_XOFF and MEDIA_XON; the frames are counted as dropped", async () => {
    const s = loadScenario("s2b_burst22s_xoff");
    const side = await connect(s);
    const untilXoff = (m: { type: string; text?: string }): boolean => m.type === "text" && m.text === "MEDIA_XOFF";
    side.replayRx(s, untilXoff);
    const call = await admitted(s, untilXoff);
    side.ws.send("MEDIA_XOFF");
    await waitFor("the XOFF warning", () => lines.some((l) => l.includes("MEDIA_XOFF")));
    for (let i = 0; i < 10; i++) call.leg.sendAudio(tone(16000));
    expect(side.binaries.length).toBe(0);
    expect(replay!.stats.playbackDropped).toBe(10);
    side.ws.send("MEDIA_XON");
    await Bun.sleep(20);
    call.leg.sendAudio(tone(16000));
    await waitFor("audio after XON", () => side.binaries.length === 1);
    checkAccepted(side, false, 640);
  });

  test("s3b: a barge-in sends FLUSH_MEDIA once audio is queued, and nothing when none is", async () => {
    const s = loadScenario("s3b_flush");
    const side = await connect(s);
    side.replayRx(s, ends);
    const call = await admitted(s);
    call.leg.flushPlayback();
    for (let i = 0; i < 5; i++) call.leg.sendAudio(tone(16000));
    call.leg.flushPlayback();
    await waitFor("FLUSH_MEDIA", () => side.texts.length === 1);
    expect(side.texts).toEqual(["FLUSH_MEDIA"]);
    expect(call.leg.playbackPendingMs).toBe(0);
    call.leg.flushPlayback();
    await Bun.sleep(30);
    expect(side.texts).toEqual(["FLUSH_MEDIA"]);
  });

  for (const [name, markEvent] of [
    ["s3a_buffering_marks", "MEDIA_MARK_PROCESSED voicebot-end"],
    ["s7b_bad_input_json", '{"event":"MEDIA_MARK_PROCESSED","channel_id":"1796578360.50","correlation_id":"voicebot-end"}'],
  ] as const) {
    test(`${name}: the bot's hang-up waits for its mark to be played, then HANGUP`, async () => {
      const s = loadScenario(name);
      const json = isJson(s);
      const side = await connect(s);
      side.replayRx(s, ends);
      const call = await admitted(s);
      for (let i = 0; i < 3; i++) call.leg.sendAudio(tone(16000));
      call.leg.hangup();
      await waitFor("the mark", () => side.texts.length === 1);
      expect(side.texts[0]).toBe(json ? '{"command":"MARK_MEDIA","correlation_id":"voicebot-end"}' : "MARK_MEDIA voicebot-end");
      await Bun.sleep(20);
      expect(side.texts.length).toBe(1);
      side.ws.send(markEvent);
      await waitFor("HANGUP", () => side.texts.length === 2);
      expect(side.texts[1]).toBe(json ? '{"command":"HANGUP"}' : "HANGUP");
      side.ws.close(1000);
      await waitFor("the leg to close", () => call.closed !== null);
      expect(call.closed!.reason).toBe("server-hangup");
      checkAccepted(side, json, 640);
    });
  }

  test("s10: in passthrough Asterisk refuses MARK_MEDIA with an ERROR, and the hang-up goes at once", async () => {
    const s = loadScenario("s10_passthrough");
    const side = await connect(s);
    const untilError = (m: { type: string; text?: string }): boolean => m.type === "text" && m.text!.startsWith("ERROR");
    side.replayRx(s, untilError);
    const call = await admitted(s, untilError);
    call.leg.sendAudio(tone(16000));
    call.leg.hangup();
    await waitFor("the mark", () => side.texts.length === 1);
    side.ws.send(s.messages.find((m) => m.type === "text" && m.text!.startsWith("ERROR channel_id:1796578422.59 error_text:MARK_MEDIA"))!.text!);
    await waitFor("HANGUP", () => side.texts.length === 2);
    expect(side.texts[1]).toBe("HANGUP");
    expect(lines.some((l) => l.includes("MARK_MEDIA not supported in passthrough mode"))).toBe(true);
  });
});

describe("connections", () => {
  test("s12: Asterisk offers the media subprotocol and voicebot answers with it; a client offering none is still served", async () => {
    const s1 = loadScenario("s1a_slin16_plain");
    expect(s1.headers["Sec-WebSocket-Protocol"]).toBe("media");
    const offered = await connect(s1);
    expect(offered.protocol).toBe("media");
    offered.ws.close();
    await replay!.stop();
    const s = loadScenario("s12_no_subprotocol");
    const side = await connect(s);
    expect(side.protocol).toBe("");
    side.replayRx(s, ends);
    expect((await admitted()).leg.id).toBe("1796578486.65");
  });

  test("s11: with nothing listening the connection is refused, which Asterisk reports as CHANUNAVAIL", async () => {
    expect(loadScenario("s11_connect_refused").messages).toEqual([]);
    replay = startReplayServer();
    const port = replay.server.port;
    await replay.stop();
    replay = null;
    await expect(AsteriskSide.connect(port, "/asterisk")).rejects.toThrow();
  });
});
