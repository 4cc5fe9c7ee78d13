import { describe, expect, test } from "bun:test";
import {
  ChanWebsocketError, encodeCommand, encodeEvent, encodeMediaStart, parseCommand, parseEvent,
} from "../../src/transports/chan-websocket-codec.ts";
import { parseChanWebsocketUrl, ChanWebsocketUrlError } from "../../src/transports/chan-websocket.ts";

const PLAIN_START = "MEDIA_START connection_id:cws channel:WebSocket/cws/0x7f2d0c006c80 channel_id:1796578186.2 format:slin16 optimal_frame_size:640 ptime:20";
const JSON_START = '{"event":"MEDIA_START","connection_id":"cws","channel":"WebSocket/cws/0x7f2d18005450","channel_id":"1796578206.5","format":"ulaw","optimal_frame_size":160,"ptime":20,"channel_variables":{"DIALEDPEERNUMBER":"cws/c(ulaw)f(json)n","__VOICEBOT_CALLER":"+33612345678","VOICEBOT_TENANT":"acme"}}';

describe("events from Asterisk", () => {
  test("MEDIA_START, plain and JSON", () => {
    const plain = parseEvent(PLAIN_START);
    expect(plain).toMatchObject({ kind: "media-start", start: { json: false, connectionId: "cws", channelId: "1796578186.2", optimalFrameSize: 640, ptime: 20, variables: {} } });
    if (plain.kind === "media-start") expect(plain.start.format).toMatchObject({ name: "slin16", sampleRate: 16000, bytesPerSample: 2 });
    const json = parseEvent(JSON_START);
    expect(json).toMatchObject({ kind: "media-start", start: { json: true, channelId: "1796578206.5", optimalFrameSize: 160 } });
    // An inherited __VAR arrives under its plain name.
    if (json.kind === "media-start") expect(json.start.variables).toMatchObject({ VOICEBOT_CALLER: "+33612345678", VOICEBOT_TENANT: "acme" });
  });

  test("the other events in both formats", () => {
    expect(parseEvent("DTMF_END digit:# channel_id:1.2")).toEqual({ kind: "dtmf", digit: "#" });
    expect(parseEvent('{"event":"DTMF_END","channel_id":"1.2","digit":"a"}')).toEqual({ kind: "dtmf", digit: "A" });
    expect(parseEvent("MEDIA_XOFF")).toEqual({ kind: "xoff" });
    expect(parseEvent('{"event":"MEDIA_XON","channel_id":"1.2"}')).toEqual({ kind: "xon" });
    expect(parseEvent("QUEUE_DRAINED")).toEqual({ kind: "queue-drained" });
    expect(parseEvent("MEDIA_MARK_PROCESSED m1")).toEqual({ kind: "mark", id: "m1" });
    expect(parseEvent('{"event":"MEDIA_MARK_PROCESSED","channel_id":"1","correlation_id":"j1"}')).toEqual({ kind: "mark", id: "j1" });
    expect(parseEvent("MEDIA_BUFFERING_COMPLETED buf1")).toEqual({ kind: "buffering-completed", id: "buf1" });
    expect(parseEvent("STATUS channel_id:1.2 queue_length:1000 xon_level:800 xoff_level:900 queue_full:true bulk_media:false media_paused:true"))
      .toEqual({ kind: "status", queueLength: 1000, queueFull: true, bulkMedia: false, paused: true });
    expect(parseEvent("ERROR channel_id:1.2 error_text:SET_MEDIA_DIRECTION only supports JSON format.\n")).toEqual({ kind: "error", text: "SET_MEDIA_DIRECTION only supports JSON format." });
    expect(parseEvent("SOMETHING_NEW a:1")).toEqual({ kind: "unknown", name: "SOMETHING_NEW" });
  });

  test("malformed events are errors that say what is wrong", () => {
    expect(() => parseEvent("{not json")).toThrow(ChanWebsocketError);
    expect(() => parseEvent('{"foo":1}')).toThrow(/no "event"/);
    expect(() => parseEvent("DTMF_END digit:X channel_id:1")).toThrow(/not a keypad digit/);
    expect(() => parseEvent(PLAIN_START.replace("slin16", "g722"))).toThrow(/format "g722" is not supported/);
    expect(() => parseEvent(PLAIN_START.replace("optimal_frame_size:640", "optimal_frame_size:70000"))).toThrow(/optimal_frame_size/);
    expect(() => parseEvent(PLAIN_START.replace(" channel_id:1796578186.2", ""))).toThrow(/MEDIA_START has no channel_id/);
  });
});

describe("commands to Asterisk", () => {
  test("in the call's format, as Asterisk parses them", () => {
    expect(encodeCommand(false, "HANGUP")).toBe("HANGUP");
    expect(encodeCommand(true, "FLUSH_MEDIA")).toBe('{"command":"FLUSH_MEDIA"}');
    expect(encodeCommand(false, "MARK_MEDIA", "voicebot-end")).toBe("MARK_MEDIA voicebot-end");
    expect(encodeCommand(true, "MARK_MEDIA", "m")).toBe('{"command":"MARK_MEDIA","correlation_id":"m"}');
    expect(() => encodeCommand(false, "MARK_MEDIA", "has space")).toThrow(RangeError);
    for (const json of [false, true]) expect(parseCommand(encodeCommand(json, "MARK_MEDIA", "x"), json)).toEqual({ command: "MARK_MEDIA", id: "x" });
    expect(parseCommand("get_status", false)).toBeNull();
  });

  test("what the simulated Asterisk writes parses back", () => {
    const start = { json: false, connectionId: "voicebot", channel: "WebSocket/voicebot/0x1", channelId: "1.5", format: "slin16", optimalFrameSize: 640, ptime: 20, variables: {} };
    expect(encodeMediaStart(start)).toBe("MEDIA_START connection_id:voicebot channel:WebSocket/voicebot/0x1 channel_id:1.5 format:slin16 optimal_frame_size:640 ptime:20");
    expect(parseEvent(encodeMediaStart({ ...start, json: true, variables: { VOICEBOT_CALLER: "0612" } }))).toMatchObject({ start: { variables: { VOICEBOT_CALLER: "0612" } } });
    expect(parseEvent(encodeEvent(true, "1.5", "DTMF_END", "7"))).toEqual({ kind: "dtmf", digit: "7" });
    expect(parseEvent(encodeEvent(false, "1.5", "MEDIA_MARK_PROCESSED", "e"))).toEqual({ kind: "mark", id: "e" });
  });
});

describe("the upgrade URL", () => {
  const url = (path: string): URL => new URL(`ws://127.0.0.1:8086${path}`);

  test("tenant from the path, caller/DNIS/tenant/token from v()'s query, + kept as +", () => {
    expect(parseChanWebsocketUrl(url("/asterisk/acme?caller=%2B33612345678&dnis=3000&token=t+k"))).toEqual({
      tenantId: "acme", caller: "+33612345678", dnis: "3000", tenantParam: null, uuid: null, token: "t+k",
    });
    expect(parseChanWebsocketUrl(url("/asterisk?uuid=1B4E28BA-2FA1-41D2-883F-0016D3CCA427")).uuid).toBe("1b4e28ba-2fa1-41d2-883f-0016d3cca427");
    expect(() => parseChanWebsocketUrl(url("/asterisk?uuid=not-a-uuid"))).toThrow("is not a UUID");
    expect(parseChanWebsocketUrl(url("/"))).toMatchObject({ tenantId: null, caller: null });
    expect(parseChanWebsocketUrl(url("/asterisk?tenant=beta"))).toMatchObject({ tenantId: null, tenantParam: "beta" });
  });

  test("other paths and bad encodings are refused with the reason", () => {
    expect(() => parseChanWebsocketUrl(url("/stream/x"))).toThrow(ChanWebsocketUrlError);
    expect(() => parseChanWebsocketUrl(url("/asterisk/a%20b"))).toThrow(/tenant "a b"/);
    expect(() => parseChanWebsocketUrl(url("/asterisk?caller=%E0"))).toThrow(/percent-encoding/);
  });
});
