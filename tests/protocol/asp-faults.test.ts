/**
 * ASP faults and edges: unreadable input closes that one connection (protocol.error, 1007) with a
 * log line naming the fault and the call; readable-but-wrong messages get a recoverable
 * protocol.error; legacy (pre-ASP) clients; ASP_TOKEN; the connection dropping; shutdown.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { MediaClient, audioFrame, cleanUp, pyJson, startCall, startServer, tone } from "./asp-media-client.ts";

const lines = captureLogLines();
afterEach(cleanUp);

const UPGRADE = { upgrade: "websocket", connection: "upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" };

describe("unreadable input closes that connection, naming the call and the fault", () => {
  const cases: Array<{ name: string; send: (id: string) => string | Uint8Array; fault: RegExp; namesCall: boolean }> = [
    { name: "text that is not JSON", send: () => "{\"type\": \"session.end\", ", fault: /text message is not JSON/, namesCall: false },
    { name: "a session.start whose audio is not an object", send: (id) => JSON.stringify({ type: "session.start", session_id: id, audio: 8000 }), fault: /field "audio" is not a JSON object/, namesCall: true },
    { name: "a binary message without the audio magic", send: (id) => audioFrame(id, tone(160)).map((b, i) => (i === 0 ? 0x02 : b)), fault: /starts with 0x02, not the audio magic/, namesCall: true },
    { name: "audio sent as outbound (direction 0x01)", send: (id) => audioFrame(id, tone(160), 0x01), fault: /direction 0x01/, namesCall: true },
    { name: "audio that is not whole samples", send: (id) => audioFrame(id, tone(160)).subarray(0, 12 + 31), fault: /31 bytes is not whole 16-bit samples/, namesCall: true },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const h = startServer();
      const { client, record, id } = await startCall(h);
      client.send(c.send(id));
      const closed = await client.closed;
      expect(closed.code).toBe(1007);
      const error = client.ofType("protocol.error")[0] as { error: { code: number; message: string; recoverable: boolean } };
      expect(error.error.code).toBe(1001);
      expect(error.error.message).toMatch(c.fault);
      expect(error.error.recoverable).toBe(false);
      await waitFor("the leg's close", () => record.closes.length === 1);
      expect(record.closes[0]!.reason).toBe("protocol-error");
      expect(h.stats.protocolErrors).toBe(1);
      const line = lines.find((l) => l.includes("protocol error:")) as string;
      expect(line).toMatch(c.fault);
      if (c.namesCall) expect(line).toContain(`call=${id}`);
    });
  }

  test("audio framed with the spec draft's 14-byte header names no session: dropped, and the log says why", async () => {
    const h = startServer();
    const { client, record } = await startCall(h);
    const draft = new Uint8Array(14 + 320);
    draft[0] = 0x01; // frame type 0x0001, little-endian
    draft[2] = 7; // sequence number
    client.send(draft);
    await waitFor("the warning", () => lines.some((l) => l.includes("14-byte")));
    expect(record.audio.length).toBe(1);
    expect(record.closes).toEqual([]);
  });

  test("one connection's fault leaves another connection's calls alone", async () => {
    const h = startServer();
    const bad = await startCall(h);
    const good = await startCall(h);
    bad.client.send("nonsense");
    await bad.client.closed;
    good.client.send(audioFrame(good.id, tone(160)));
    await waitFor("audio on the good call", () => good.record.audio.length === 2);
    expect(good.record.closes).toEqual([]);
  });
});

describe("readable but wrong: a recoverable protocol.error, the connection goes on", () => {
  test("an unknown message type, a session.end for no session, audio for no session", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h);
    client.send(JSON.stringify({ type: "dtmf", session_id: id, digit: "5" }));
    const unknown = await client.next("protocol.error");
    expect(unknown.error).toMatchObject({ code: 1003, category: "protocol", recoverable: true });
    client.send(JSON.stringify({ type: "session.end", session_id: "gone" }));
    await waitFor("the second error", () => client.ofType("protocol.error").length === 2);
    expect(client.ofType("protocol.error")[1]!.error).toMatchObject({ code: 4001, category: "session" });
    client.send(audioFrame("gone", tone(160)));
    client.send(audioFrame(id, tone(160)));
    await waitFor("the live call's audio", () => record.audio.length === 2);
    expect(record.closes).toEqual([]);
    expect(h.stats.protocolErrors).toBe(0);
  });
});

describe("legacy clients", () => {
  test("the pre-ASP session.start (audio_config) is answered with a session.started it parses; audio.end and session.end work", async () => {
    const h = startServer();
    const client = await MediaClient.connect(h.url);
    const id = crypto.randomUUID();
    client.send(pyJson({ type: "session.start", session_id: id, call_id: "abc@192.0.2.10", audio_config: { sample_rate: 16000, channels: 1, sample_width: 2, frame_duration_ms: 20 } }));
    const started = await client.next("session.started");
    expect(started).toMatchObject({ type: "session.started", session_id: id, status: "accepted" });
    await waitFor("the leg", () => h.legs.length === 1);
    const record = h.legs[0]!;
    expect(record.leg.sampleRate).toBe(16000);
    expect(lines.some((l) => l.includes("session started") && l.includes("legacy=true"))).toBe(true);
    client.send(audioFrame(id, tone(320)));
    client.send(pyJson({ type: "audio.end", session_id: id }));
    client.send(pyJson({ type: "session.end", session_id: id, reason: "hangup" }));
    const ended = await client.next("session.ended");
    expect((ended.statistics as Record<string, number>).vad_speech_events).toBe(1);
    expect(record.closes[0]!.reason).toBe("caller-hangup");
  });

  test("a legacy session.start with 8-bit samples is refused", async () => {
    const h = startServer();
    const client = await MediaClient.connect(h.url);
    client.send(pyJson({ type: "session.start", session_id: "s1", call_id: "c", audio_config: { sample_rate: 8000, channels: 1, sample_width: 1, frame_duration_ms: 20 } }));
    expect(((await client.next("session.started")).errors as Array<{ code: number }>)[0]!.code).toBe(2004);
  });
});

describe("access, drops and shutdown", () => {
  test("ASP_TOKEN: refused without it or with a wrong one (401), accepted as ?token= or a Bearer header", async () => {
    const h = startServer("s3cret");
    const base = `http://127.0.0.1:${h.server.port}/`;
    expect((await fetch(base, { headers: UPGRADE })).status).toBe(401);
    expect((await fetch(`${base}?token=wrong`, { headers: UPGRADE })).status).toBe(401);
    expect((await fetch(`${base}nested/path`, { headers: UPGRADE })).status).toBe(404);
    expect((await fetch(base)).status).toBe(426);
    expect(h.stats.connectionsRejected).toBe(3);
    await startCall({ ...h, url: `${h.url}?token=s3cret` });
    const bearer = new WebSocket(h.url, { headers: { authorization: "Bearer s3cret" } });
    await new Promise((resolve) => bearer.addEventListener("message", resolve, { once: true }));
    bearer.close();
  });

  test("the media server's connection drops: every call on it ends as the caller's hang-up", async () => {
    const h = startServer();
    const client = await MediaClient.connect(h.url);
    await client.start(crypto.randomUUID());
    await client.start(crypto.randomUUID());
    await waitFor("two legs", () => h.legs.length === 2);
    client.ws.close(1001);
    await waitFor("both closed", () => h.legs.every((r) => r.closes.length === 1));
    expect(h.legs.map((r) => r.closes[0]!.reason)).toEqual(["caller-hangup", "caller-hangup"]);
    expect(h.legs[0]!.closes[0]!.detail).toContain("media server connection closed");
  });

  test("shutdown: each call is hung up on the media server (call.action), then close 1001", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h);
    await h.server.stop();
    expect((await client.closed).code).toBe(1001);
    expect(client.ofType("call.action")).toEqual([expect.objectContaining({ session_id: id, action: "hangup", reason: "shutdown" })]);
    expect(record.closes[0]!.reason).toBe("shutdown");
  });

  test("after our hang-up, a session.end that never comes is forgotten after the wait", async () => {
    const h = startServer(null, 50);
    const { client, record, id } = await startCall(h);
    record.leg.hangup();
    await waitFor("the wait", () => h.server.activeSessions === 0);
    client.send(JSON.stringify({ type: "session.end", session_id: id }));
    expect(((await client.next("protocol.error")).error as { code: number }).code).toBe(4001);
  });
});
