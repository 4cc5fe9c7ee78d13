/**
 * The mod_audio_stream server over real WebSockets on 127.0.0.1, a WebSocket client standing in for
 * FreeSWITCH and a recording FreeswitchMediaControl for ESL: upgrade checks, admission, bad frames,
 * control text, both playback modes (hang-up and shutdown: audiostream-hangup.test.ts). Real captures: audiostream-fixtures.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { AudioStreamConnection } from "../../src/transports/audiostream-connection.ts";
import { bytesOf, call, closeAll, frames, fromBase64, open, start, tone, upgradeStatus } from "../support/audiostream-harness.ts";

const lines = captureLogLines();
const logged = (text: string): string[] => lines.filter((line) => line.includes(text));
afterEach(closeAll);

describe("upgrade", () => {
  test("plain HTTP gets 426 with a one-line hint; a bad rate, mix or path char gets 400 naming the value", async () => {
    const h = start();
    const plain = await fetch(`http://127.0.0.1:${h.server.port}/stream/acme/x`);
    expect(plain.status).toBe(426);
    expect(await plain.text()).toContain("uuid_audio_stream <uuid> start ws://");
    const cases: Array<[string, string]> = [
      ["/stream/acme/c1?rate=44100", '"44100"'], ["/stream/acme/c1?rate=16k", '"16k"'], ["/stream/acme/c1?mix=both", '"both"'],
      ["/stream/acme/bad%20id", '"bad id"'], ["/stream/ac%2Fme/c1", '"ac/me"'], ["/stream/acme/%E0%A4", "percent-encoding"],
    ];
    for (const [path, named] of cases) {
      const answer = await upgradeStatus(h.server.port, path);
      expect([path, answer.status]).toEqual([path, 400]);
      expect(answer.body).toContain(named);
    }
    expect(h.stats.connectionsRejected).toBe(cases.length);
    expect(logged("upgrade refused")).toHaveLength(cases.length);
  });

  test("AUDIOSTREAM_TOKEN: missing or wrong → 401 without echoing it; ?token= or a Bearer header → admitted", async () => {
    const h = start({ token: "s3cret" });
    expect((await upgradeStatus(h.server.port, "/stream/acme/c1")).status).toBe(401);
    expect((await upgradeStatus(h.server.port, "/stream/acme/c1?token=guess")).status).toBe(401);
    expect(lines.join("\n")).not.toContain("guess");
    await call(h, "/stream/acme/c1?token=s3cret");
    const byHeader = await open(h.url("/stream/acme/c2"), { Authorization: "Bearer s3cret" });
    byHeader.ws.send("{}");
    await waitFor("second leg", () => h.legs.length === 2);
    expect(h.stats).toMatchObject({ connectionsRejected: 2, connectionsAccepted: 2 });
  });

  test("rate and mix from the query; / and other paths → default tenant and a random call id, with one warning", async () => {
    const h = start();
    const { leg } = await call(h, "/stream/acme/call-1?rate=8000&mix=stereo");
    expect(leg).toMatchObject({ id: "call-1", tenant: "acme", sampleRate: 8000, frameSamples: 160, reportsPlayedAudio: true, transport: "audiostream" });
    for (const path of ["/", "/fs/whatever/x/y", "/stream"]) {
      const { leg: other } = await call(h, path, new Uint8Array(640));
      expect(other).toMatchObject({ tenant: "default", sampleRate: 16000, reportsPlayedAudio: false, callerNumber: null });
      expect(other.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(logged("no call id in the URL or metadata")).toHaveLength(3);
    expect(h.control.calls).toEqual(["watch call-1"]);
  });

  test("tenant from the path, else from the metadata; an unknown one closes 1008 unless resolveTenant maps it", async () => {
    const h = start();
    const meta = '{"domain_name":"acme.example.com","caller_id_number":"0612345678","destination_number":"8000","uuid":"fs-uuid-1"}';
    const { leg } = await call(h, "/", meta);
    expect(leg).toMatchObject({ tenant: "acme", id: "fs-uuid-1", callerNumber: "0612345678", dnis: "8000" });
    const unknown = await open(h.url("/stream/nobody/c9"));
    unknown.ws.send('{"caller":"1"}');
    await waitFor("1008", () => unknown.closed !== null);
    expect(unknown.closed).toEqual({ code: 1008, reason: "unknown tenant" });
    expect(h.legs).toHaveLength(1);
    expect(h.stats.connectionsRejected).toBe(1);

    const lenient = start({ resolveTenant: (id) => (id === "acme" ? "acme" : "default") });
    const { leg: mapped } = await call(lenient, "/stream/nobody/c9", "not json, kept as text");
    expect(mapped.tenant).toBe("default");
    expect((mapped as AudioStreamConnection).metadata).toBe("not json, kept as text");
  });

  test("nothing after the upgrade → closed 1008 after firstMessageTimeoutMs, no leg", async () => {
    const h = start({ firstMessageTimeoutMs: 50 });
    const peer = await open(h.url("/stream/acme/c1"));
    await waitFor("close", () => peer.closed !== null);
    expect(peer.closed!.code).toBe(1008);
    expect(h.legs).toHaveLength(0);
    expect(h.stats.protocolErrors).toBe(1);
    expect(h.server.activeConnections).toBe(0);
  });
});

describe("frames from FreeSWITCH", () => {
  test("odd-length, half a stereo sample, or over 1 s: that stream closes 1003/1009; the server and another call go on", async () => {
    const h = start();
    const other = await call(h, "/stream/acme/other", new Uint8Array(640));
    const bad: Array<[string, number, number]> = [["/stream/acme/odd", 641, 1003], ["/stream/acme/st?mix=stereo", 642, 1003], ["/stream/acme/big?rate=8000", 16002, 1009]];
    for (const [path, size, code] of bad) {
      const { peer, record } = await call(h, path, new Uint8Array(size));
      await waitFor(path, () => peer.closed !== null);
      expect(peer.closed!.code).toBe(code);
      expect(record.closes).toEqual([{ reason: "protocol-error", detail: expect.stringContaining(`${size} bytes`) }]);
    }
    expect(h.stats.protocolErrors).toBe(3);
    expect(logged("protocol error").map((line) => / call=(\w+) /.exec(line)?.[1])).toEqual(["odd", "st", "big"]);
    expect(h.control.calls).toContain("hangup odd");
    other.peer.ws.send(bytesOf(tone(20, 16000, 0.1)));
    await waitFor("other call audio", () => other.record.audio.length === 2);
    expect(other.record.closes).toEqual([]);
  });

  test("any message size is re-framed into 20 ms; stereo splits caller (left) from played (right)", async () => {
    const h = start();
    const speech = tone(130, 16000, 0.3);
    const { peer, record } = await call(h, "/stream/acme/m", bytesOf(speech.subarray(0, 100)));
    peer.ws.send(bytesOf(speech.subarray(100, 2080)));
    await waitFor("6 frames", () => record.audio.length === 6);
    expect(record.audio.every((frame) => frame.length === 320)).toBe(true);
    expect(record.audio.flatMap((f) => Array.from(f))).toEqual(Array.from(speech.subarray(0, 1920)));

    const interleaved = new Int16Array(320).map((_, i) => (i % 2 === 0 ? i >> 1 : -(i >> 1)));
    const { record: split } = await call(h, "/stream/acme/s?mix=stereo&rate=8000", bytesOf(interleaved));
    await waitFor("stereo frame", () => split.played.length === 1);
    expect([split.audio[0]![5], split.played[0]![5]]).toEqual([5, -5]);
  });

  test("later text: DTMF messages reach onDtmf; anything else is logged once and ignored", async () => {
    const h = start();
    const { peer, record } = await call(h, "/stream/acme/c1", '{"caller":"1"}');
    for (const text of ['{"type":"dtmf","digit":"5"}', "texte", '{"reason":"bye"}', '{"type":"dtmf","digit":"#"}', "[1]"]) peer.ws.send(text);
    await waitFor("dtmf", () => record.dtmf === "5#");
    expect(logged("ignored a text message")).toHaveLength(1);
    expect(record.closes).toEqual([]);
  });

  test("dtmfEvents: true while ESL is connected, false while it is down or absent, true once digits came as text", async () => {
    const h = start();
    const { peer, leg, record } = await call(h, "/stream/acme/c1", '{"caller":"1"}');
    expect(leg.dtmfEvents).toBe(true);
    h.control.connected = false;
    expect(leg.dtmfEvents).toBe(false);
    peer.ws.send('{"type":"dtmf","digit":"7"}');
    await waitFor("dtmf", () => record.dtmf === "7");
    expect(leg.dtmfEvents).toBe(true);
    const { leg: noEsl } = await call(start({}, null), "/stream/acme/c2", '{"caller":"1"}');
    expect(noEsl.dtmfEvents).toBe(false);
  });
});

describe("playback, stream mode", () => {
  test("one streamAudio per non-silent frame at the stream's rate, a talk spurt led by one frame of silence; zero frames are not sent", async () => {
    const h = start({ playback: "stream" });
    const { peer, leg } = await call(h, "/stream/acme/c1?rate=8000");
    const [first, next, second] = [tone(20, 8000, 0.2), tone(20, 8000, 0.15, 500), tone(20, 8000, 0.1, 300)];
    const silence = new Int16Array(160);
    for (const frame of [silence, first, next, silence, second]) expect(leg.sendAudio(frame)).toBe(true);
    leg.flushPlayback();
    await waitFor("messages", () => peer.texts.length === 3);
    const preroll = (frame: Int16Array): Uint8Array => Uint8Array.from([...bytesOf(silence), ...bytesOf(frame)]);
    for (const [index, bytes] of [preroll(first), Uint8Array.from(bytesOf(next)), preroll(second)].entries()) {
      const message = JSON.parse(peer.texts[index]!) as { data: { audioData: string } };
      expect(message).toMatchObject({ type: "streamAudio", data: { audioDataType: "raw", sampleRate: 8000 } });
      expect(fromBase64(message.data.audioData)).toEqual(bytes);
    }
    expect(h.stats.framesOut).toBe(3);
    expect(h.control.calls).toEqual(["watch c1"]);
    h.control.listeners.get("c1")!.onPlay("/tmp/c1_0.tmp.r8");
    expect(logged("AUDIOSTREAM_PLAYBACK=file")).toHaveLength(1);
  });
});

describe("playback, file mode", () => {
  /** The PCM of one wav streamAudio message, after checking its RIFF header. */
  function wav(message: string, rate: number): Int16Array {
    const parsed = JSON.parse(message) as { data: { audioData: string } };
    expect(parsed).toMatchObject({ type: "streamAudio", data: { audioDataType: "wav", sampleRate: rate } });
    const bytes = fromBase64(parsed.data.audioData);
    const header = new DataView(bytes.buffer, 0, 44);
    const ascii = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
    expect([ascii(0), ascii(8), ascii(12), ascii(36)]).toEqual(["RIFF", "WAVE", "fmt ", "data"]);
    const u16 = (at: number): number => header.getUint16(at, true);
    const u32 = (at: number): number => header.getUint32(at, true);
    expect([u32(4), u32(16), u16(20), u16(22), u32(24), u32(28), u16(32), u16(34), u32(40)])
      .toEqual([bytes.length - 8, 16, 1, 1, rate, rate * 2, 2, 16, bytes.length - 44]);
    return new Int16Array(bytes.slice(44).buffer);
  }

  test("one wav per chunk: at a pause once 600 ms are buffered, when the bot goes quiet, at the 6 s cap", async () => {
    const h = start({ playback: "file" });
    const { peer, leg } = await call(h, "/stream/acme/c1?rate=24000");
    const [speech, pause] = [tone(700, 24000, 0.3), tone(80, 24000, 0.001)];
    for (const frame of [...frames(speech, 480), ...frames(pause, 480)]) leg.sendAudio(frame);
    await waitFor("chunk at the pause", () => peer.texts.length === 1);
    expect(Array.from(wav(peer.texts[0]!, 24000))).toEqual([...speech, ...pause]);

    const short = tone(200, 24000, 0.3, 300);
    for (const frame of frames(short, 480)) leg.sendAudio(frame);
    expect(peer.texts).toHaveLength(1);
    leg.sendAudio(new Int16Array(480));
    await waitFor("chunk when quiet", () => peer.texts.length === 2);
    expect(Array.from(wav(peer.texts[1]!, 24000))).toEqual(Array.from(short));

    for (const frame of frames(tone(6100, 24000, 0.3), 480)) leg.sendAudio(frame);
    await waitFor("capped chunk", () => peer.texts.length === 3);
    expect(wav(peer.texts[2]!, 24000).length).toBe(6 * 24000);
  });

  test("::play → uuid_broadcast; flushPlayback → uuid_break at once, and ::play of chunks sent before it is ignored", async () => {
    const h = start({ playback: "file" });
    const { peer, leg } = await call(h, "/stream/acme/c1");
    const say = (): void => {
      for (const frame of frames(tone(300, 16000, 0.3), 320)) leg.sendAudio(frame);
      leg.sendAudio(new Int16Array(320));
    };
    const esl = h.control.listeners.get("c1")!;
    say();
    esl.onPlay("/tmp/c1_0.tmp.wav");
    say();
    say();
    leg.flushPlayback();
    expect(h.control.calls.at(-1)).toBe("break c1");
    esl.onPlay("/tmp/c1_1.tmp.wav");
    esl.onPlay("/tmp/c1_2.tmp.wav");
    say();
    esl.onPlay("/tmp/c1_3.tmp.wav");
    expect(h.control.calls).toEqual(["watch c1", "broadcast c1 /tmp/c1_0.tmp.wav", "break c1", "broadcast c1 /tmp/c1_3.tmp.wav"]);
    await waitFor("4 chunks", () => peer.texts.length === 4);
  });

  test("without ESL: one warning per call that the caller hears nothing", async () => {
    await call(start({ playback: "file" }, null), "/stream/acme/c1");
    expect(logged("the caller hears nothing")).toHaveLength(1);
  });
});
