/**
 * ASP over real WebSockets, the server side as the PABX Docker media server's client sees it:
 * capabilities, the three negotiation outcomes, audio both ways with the client's header, the
 * response.start/end bracket, both barge-ins, session.update, hang-up and session.end statistics.
 * Framing of what the client sends: asp-media-client.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { MediaClient, audioFrame, cleanUp, hashOf, startCall, startServer, tone } from "./asp-media-client.ts";

/** Two session ids whose md5 starts with the same 4 bytes (a birthday search, ~80,000 tries). */
function twoIdsSharingHashHead(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const id = `call-${i}`;
    const h = hashOf(id);
    const head = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
    const other = seen.get(head);
    if (other !== undefined) return [other, id];
    seen.set(head, id);
  }
}

captureLogLines();
afterEach(cleanUp);

describe("handshake and negotiation", () => {
  test("protocol.capabilities comes first, in the shape the client parses", async () => {
    const h = startServer();
    const client = new MediaClient(h.url);
    expect(await client.opened).toBe(true);
    const caps = await client.next("protocol.capabilities");
    expect(client.texts.indexOf(caps)).toBe(0);
    expect(caps.version).toBe("1.0.0");
    const c = caps.capabilities as Record<string, unknown>;
    expect(c.supported_sample_rates).toEqual([8000, 16000, 24000, 48000]);
    expect(c.supported_encodings).toEqual(["pcm_s16le"]);
    expect(c.vad_configurable).toBe(true);
    expect(c.features).toContain("barge_in");
    expect(c.max_session_duration_seconds).toBe(600);
  });

  test("accepted: the leg carries the session id, rate, caller, DNIS and tenant from the metadata; the call starts at once", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h, {}, { source: "media-server", caller_number: "+33 6 12 34 56 78", called_number: "3000", tenant: "acme" });
    const started = client.ofType("session.started")[0] as Record<string, unknown>;
    expect(started.session_id).toBe(id);
    expect(started.errors).toBeUndefined();
    const negotiated = started.negotiated as { audio: Record<string, unknown>; vad: Record<string, unknown>; adjustments: unknown[] };
    expect(negotiated.audio).toEqual({ sample_rate: 8000, encoding: "pcm_s16le", channels: 1, frame_duration_ms: 20 });
    expect(negotiated.vad.silence_threshold_ms).toBe(500);
    expect(negotiated.adjustments).toEqual([]);
    const leg = record.leg;
    expect([leg.id, leg.transport, leg.sampleRate, leg.frameSamples]).toEqual([id, "asp", 8000, 160]);
    expect([leg.callerNumber, leg.dnis, leg.tenant]).toEqual(["+33 6 12 34 56 78", "3000", "acme"]);
    expect(JSON.parse(leg.metadata as string).call_id).toBe(`${id.slice(0, 8)}@192.0.2.10`);
    // The client sends nothing before our greeting: the call is started with one frame of silence.
    expect(record.audio.length).toBe(1);
    expect(record.audio[0]!.every((s) => s === 0)).toBe(true);
  });

  test("the tenant can come from the URL path", async () => {
    const h = startServer();
    const { record } = await startCall({ ...h, url: `${h.url}acme` });
    expect(record.leg.tenant).toBe("acme");
  });

  test("accepted_with_changes: VAD values clamped into range and an odd frame duration, each listed", async () => {
    const h = startServer();
    const client = await MediaClient.connect(h.url);
    const started = await client.start(crypto.randomUUID(), { frame_duration_ms: 25 }, { silence_threshold_ms: 50, threshold: 1.5 });
    expect(started.status).toBe("accepted_with_changes");
    const negotiated = started.negotiated as { audio: Record<string, unknown>; vad: Record<string, unknown>; adjustments: Array<Record<string, unknown>> };
    expect(negotiated.vad.silence_threshold_ms).toBe(100);
    expect(negotiated.vad.threshold).toBe(1);
    expect(negotiated.audio.frame_duration_ms).toBe(20);
    expect(negotiated.adjustments.map((a) => [a.field, a.requested, a.applied])).toEqual([
      ["audio.frame_duration_ms", 25, 20], ["vad.silence_threshold_ms", 50, 100], ["vad.threshold", 1.5, 1],
    ]);
    for (const a of negotiated.adjustments) expect(Object.keys(a)).toEqual(["field", "requested", "applied", "reason"]);
    await waitFor("the leg", () => h.legs.length === 1);
  });

  test("rejected: audio the client would not adapt to, a bad VAD value, an unknown tenant, a duplicate session", async () => {
    const h = startServer();
    const client = await MediaClient.connect(h.url);
    const rate = await client.start(crypto.randomUUID(), { sample_rate: 44100 });
    expect(rate.status).toBe("rejected");
    expect(rate.negotiated).toBeUndefined();
    expect(rate.errors).toEqual([{ code: 2001, category: "audio", message: "Sample rate 44100 not supported", details: { requested: 44100, supported: [8000, 16000, 24000, 48000] }, recoverable: true }]);
    const encoding = await client.start(crypto.randomUUID(), { encoding: "mulaw", channels: 2 });
    expect((encoding.errors as Array<{ code: number }>).map((e) => e.code)).toEqual([2002, 2004]);
    const vad = await client.start(crypto.randomUUID(), {}, { min_speech_ms: "long" });
    expect((vad.errors as Array<{ code: number; category: string }>)[0]).toMatchObject({ code: 3001, category: "vad" });
    const tenant = await client.start(crypto.randomUUID(), {}, {}, { tenant: "nobody" });
    expect((tenant.errors as Array<{ message: string }>)[0]!.message).toBe("Unknown tenant: nobody");
    expect(h.legs.length).toBe(0);
    const id = crypto.randomUUID();
    expect((await client.start(id)).status).toBe("accepted");
    const again = await client.start(id);
    expect(again.status).toBe("rejected");
    expect((again.errors as Array<{ code: number }>)[0]!.code).toBe(1005);
    expect(h.legs.length).toBe(1);
  });

  test("several sessions share one connection, each with its own audio (even when their hashes share 4 bytes)", async () => {
    const h = startServer();
    const client = await MediaClient.connect(h.url);
    const [a, b] = twoIdsSharingHashHead();
    await client.start(a);
    await client.start(b);
    await waitFor("two legs", () => h.legs.length === 2);
    client.send(audioFrame(b, tone(160, 7)));
    client.send(audioFrame(a, tone(160, 3)));
    await waitFor("audio on both", () => h.legs.every((r) => r.audio.length === 2));
    expect(h.legs.map((r) => [r.leg.id, r.audio[1]![0]])).toEqual([[a, 3], [b, 7]]);
  });
});

describe("audio both ways", () => {
  test("the client's 1600-byte chunks at 16 kHz become 20 ms frames, samples intact", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h, { sample_rate: 16000 });
    expect(record.leg.frameSamples).toBe(320);
    const ramp = Int16Array.from({ length: 800 }, (_, i) => i - 400);
    client.send(audioFrame(id, ramp));
    client.send(audioFrame(id, ramp));
    await waitFor("five frames", () => record.audio.length === 1 + 5);
    expect(Array.from(record.audio[1]!.slice(0, 3))).toEqual([-400, -399, -398]);
    expect(record.audio[3]![0]).toBe(ramp[640]);
    expect(record.audio[5]![319]).toBe(399);
  });

  test("the bot's speech goes out bracketed by response.start/end in the shape the client acts on, silence between responses does not", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h);
    const leg = record.leg;
    expect(leg.sendAudio(new Int16Array(160))).toBe(true);
    const speech = Int16Array.from({ length: 160 }, (_, i) => (i % 2 === 0 ? 1234 : -1234));
    expect(leg.sendAudio(speech)).toBe(true);
    await waitFor("a frame", () => client.binaries.length === 1);
    const start = client.ofType("response.start")[0] as Record<string, unknown>;
    // A response_id would route it to the client's ASP handler, which drops it.
    expect(start).toEqual({ type: "response.start", session_id: id, text: "" });
    const frame = client.binaries[0]!;
    expect(frame.length).toBe(12 + 320);
    expect(Array.from(frame.subarray(0, 2))).toEqual([0x01, 0x01]);
    expect(frame.subarray(2, 10)).toEqual(hashOf(id));
    expect(Array.from(frame.subarray(10, 12))).toEqual([0, 0]);
    expect(new Int16Array(frame.slice(12).buffer)).toEqual(speech);
    for (let i = 0; i < 9; i++) leg.sendAudio(new Int16Array(160));
    await waitFor("the pause inside the response", () => client.binaries.length === 10);
    expect(client.ofType("response.end")).toEqual([]);
    leg.sendAudio(new Int16Array(160));
    const end = await client.next("response.end");
    expect(end).toEqual({ type: "response.end", session_id: id, interrupted: false });
    leg.sendAudio(new Int16Array(160));
    await Bun.sleep(50);
    expect(client.binaries.length).toBe(10);
  });
});

describe("barge-in, update, end", () => {
  test("ours: flushPlayback ends the response at once, interrupted", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h);
    record.leg.sendAudio(tone(160));
    record.leg.flushPlayback();
    expect(await client.next("response.end")).toEqual({ type: "response.end", session_id: id, interrupted: true });
    client.send(JSON.stringify({ type: "session.end", session_id: id, reason: "hangup" }));
    expect(((await client.next("session.ended")).statistics as Record<string, number>).barge_in_count).toBe(1);
  });

  test("the client's: caller audio mid-response means it cut the bot off; the rest of that response is not sent", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h);
    record.leg.sendAudio(tone(160));
    await Bun.sleep(350);
    client.send(audioFrame(id, tone(800, 3000)));
    await waitFor("the caller's audio", () => record.audio.length === 1 + 5);
    expect(record.leg.sendAudio(tone(160))).toBe(true);
    await Bun.sleep(50);
    expect(client.binaries.length).toBe(1);
    for (let i = 0; i < 10; i++) record.leg.sendAudio(new Int16Array(160));
    expect(await client.next("response.end")).toEqual({ type: "response.end", session_id: id, interrupted: true });
  });

  test("session.update changes the VAD (clamped), refuses an audio change, and names an unknown session", async () => {
    const h = startServer();
    const { client, id } = await startCall(h);
    client.send(JSON.stringify({ type: "session.update", session_id: id, vad: { silence_threshold_ms: 700, threshold: 0.6 } }));
    const updated = await client.next("session.updated");
    expect(updated.status).toBe("accepted");
    expect((updated.negotiated as { vad: Record<string, unknown> }).vad).toMatchObject({ silence_threshold_ms: 700, threshold: 0.6, min_speech_ms: 250 });
    let from = client.texts.length;
    client.send(JSON.stringify({ type: "session.update", session_id: id, audio: { sample_rate: 16000 } }));
    const refused = await client.next("session.updated", from);
    expect(refused.status).toBe("rejected");
    expect((refused.errors as Array<{ code: number }>)[0]!.code).toBe(4004);
    from = client.texts.length;
    client.send(JSON.stringify({ type: "session.update", session_id: "nobody", vad: {} }));
    expect(((await client.next("protocol.error", from)).error as { code: number }).code).toBe(4001);
  });

  test("session.end: session.ended with duration and statistics; the call ends as the caller's hang-up", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h);
    client.send(audioFrame(id, tone(800)));
    client.send(JSON.stringify({ type: "audio.speech_start", session_id: id }));
    client.send(JSON.stringify({ type: "audio.end", session_id: id }));
    await waitFor("the caller's audio", () => record.audio.length === 6);
    record.leg.sendAudio(tone(160));
    record.leg.sendAudio(tone(160));
    client.send(JSON.stringify({ type: "session.end", session_id: id, timestamp: "2026-12-07T01:00:05.000Z", reason: "hangup" }));
    const ended = await client.next("session.ended");
    expect(ended.session_id).toBe(id);
    expect(typeof ended.duration_seconds).toBe("number");
    const stats = ended.statistics as Record<string, number>;
    expect(Object.keys(stats)).toEqual(["audio_frames_received", "audio_frames_sent", "vad_speech_events", "barge_in_count", "average_response_latency_ms"]);
    expect([stats.audio_frames_received, stats.audio_frames_sent, stats.vad_speech_events, stats.barge_in_count]).toEqual([1, 2, 1, 0]);
    expect(stats.average_response_latency_ms).toBeGreaterThanOrEqual(0);
    await waitFor("the close", () => record.closes.length === 1);
    expect(record.closes[0]).toEqual({ reason: "caller-hangup", detail: "session.end (hangup)" });
    expect(record.leg.sendAudio(tone(160))).toBe(false);
  });

  test("the bot hangs up: call.action hangup before the open response's end; session.end is still answered", async () => {
    const h = startServer();
    const { client, record, id } = await startCall(h);
    record.leg.sendAudio(tone(160));
    record.leg.hangup("goodbye");
    const end = await client.next("response.end");
    const action = client.ofType("call.action")[0] as Record<string, unknown>;
    expect(action).toMatchObject({ type: "call.action", session_id: id, action: "hangup", reason: "goodbye" });
    expect(client.texts.indexOf(action)).toBeLessThan(client.texts.indexOf(end));
    expect(record.closes).toEqual([{ reason: "server-hangup", detail: undefined }]);
    client.send(JSON.stringify({ type: "session.end", session_id: id, reason: "hangup" }));
    expect((await client.next("session.ended")).session_id).toBe(id);
  });
});
