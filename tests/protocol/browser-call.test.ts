/**
 * The console's test call over real WebSockets on the admin port (127.0.0.1, port 0): who may
 * open one (session cookie or token, never from a foreign Origin), the wire protocol both ways,
 * and bad input closing that one socket with a log line naming the call. The call layer is a
 * recording stand-in here; tests/e2e/browser-call.test.ts runs a whole call through the binary.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { startAdminServer, type AdminServer } from "../../src/admin/server.ts";
import { rootLogger } from "../../src/log.ts";
import { BrowserCalls } from "../../src/transports/browser-call.ts";
import { newTransportStats, type CallLeg, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";
import { captureLogLines, waitFor } from "../support/log-capture.ts";

const lines = captureLogLines();
const TOKEN = "console-t0ken";

interface LegRecord {
  leg: CallLeg;
  audio: Int16Array[];
  dtmf: string;
  closes: Array<{ reason: LegCloseReason; detail: string | undefined }>;
}

interface Harness {
  admin: AdminServer;
  stats: TransportStats;
  legs: LegRecord[];
  calls: BrowserCalls;
  base: string;
  ws: string;
}

const admins: AdminServer[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.close();
  for (const admin of admins.splice(0)) await admin.stop();
});

function start(noAudioTimeoutMs = 10_000): Harness {
  const stats = newTransportStats();
  const legs: LegRecord[] = [];
  const calls = new BrowserCalls({
    log: rootLogger.child("browser"), stats, noAudioTimeoutMs,
    resolveTenant: (id) => (id === null ? "default" : id === "acme" ? "acme" : null),
    admit(leg) {
      const record: LegRecord = { leg, audio: [], dtmf: "", closes: [] };
      legs.push(record);
      return {
        onAudio: (samples) => record.audio.push(samples.slice()),
        onDtmf: (digit) => (record.dtmf += digit),
        onRateChange: () => {},
        onClose: (reason, detail) => record.closes.push({ reason, detail }),
      };
    },
  });
  const admin = startAdminServer({
    host: "127.0.0.1", port: 0, log: rootLogger, tokens: { admin: TOKEN, pbx: null }, tryCall: calls,
    health: () => ({ ready: true, body: {} }), metrics: () => [],
  });
  admins.push(admin);
  return { admin, stats, legs, calls, base: `http://127.0.0.1:${admin.port}`, ws: `ws://127.0.0.1:${admin.port}/api/try-call` };
}

interface Client {
  ws: WebSocket;
  texts: string[];
  binaries: Uint8Array[];
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<boolean>;
}

function open(url: string, headers: Record<string, string> = {}): Client {
  const ws = new WebSocket(url, { headers });
  ws.binaryType = "arraybuffer";
  sockets.push(ws);
  const texts: string[] = [];
  const binaries: Uint8Array[] = [];
  ws.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => {
    if (typeof event.data === "string") texts.push(event.data);
    else binaries.push(new Uint8Array(event.data));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  const opened = new Promise<boolean>((resolve) => {
    ws.addEventListener("open", () => resolve(true));
    ws.addEventListener("error", () => resolve(false));
  });
  return { ws, texts, binaries, closed, opened };
}

/** Opens with the token and waits for the greeting text and the admitted leg. */
async function call(h: Harness, query = ""): Promise<{ client: Client; record: LegRecord }> {
  const before = h.legs.length;
  const client = open(`${h.ws}?token=${TOKEN}${query}`);
  expect(await client.opened).toBe(true);
  await waitFor("the call message", () => client.texts.length > 0 && h.legs.length > before);
  return { client, record: h.legs[h.legs.length - 1] as LegRecord };
}

async function signIn(base: string): Promise<string> {
  const res = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: TOKEN, name: "alice" }) });
  expect(res.status).toBe(200);
  return (res.headers.get("set-cookie") as string).split(";")[0] as string;
}

function pcm(samples: number, value = 1000): Uint8Array {
  return new Uint8Array(new Int16Array(samples).fill(value).buffer);
}

describe("who may open a test call", () => {
  test("refused without a session or token, with a wrong token, and from a foreign Origin", async () => {
    const h = start();
    const tries: Array<Record<string, string>> = [{}, { authorization: "Bearer wrong" }];
    for (const headers of tries) {
      const res = await fetch(`${h.base}/api/try-call`, { headers: { ...headers, upgrade: "websocket", connection: "upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
      expect(res.status).toBe(401);
    }
    const cookie = await signIn(h.base);
    const foreign = await fetch(`${h.base}/api/try-call?token=${TOKEN}`, {
      headers: { cookie, origin: "https://evil.example", upgrade: "websocket", connection: "upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("https://evil.example");
    const client = open(h.ws, { cookie, origin: "http://evil.example" });
    expect(await client.opened).toBe(false);
    expect(h.legs.length).toBe(0);
    expect(h.stats.connectionsRejected).toBe(4);
  });

  test("a plain GET is told it is a WebSocket", async () => {
    const h = start();
    const res = await fetch(`${h.base}/api/try-call?token=${TOKEN}`);
    expect(res.status).toBe(426);
  });

  test("a session cookie from the console's own origin opens a call that records who", async () => {
    const h = start();
    const cookie = await signIn(h.base);
    const client = open(h.ws, { cookie, origin: h.base });
    expect(await client.opened).toBe(true);
    await waitFor("the leg", () => h.legs.length === 1);
    const leg = h.legs[0]!.leg;
    expect(leg.transport).toBe("browser");
    expect(leg.sampleRate).toBe(16000);
    expect(leg.callerNumber).toBeNull();
    expect(leg.tenant).toBe("default");
    expect(JSON.parse(leg.metadata as string)).toEqual({ source: "console", who: "alice", via: "session" });
  });

  test("tenant= and caller= are checked: a callable number is kept, an unknown tenant or a bad caller closes 1008", async () => {
    const h = start();
    const { record } = await call(h, "&tenant=acme&caller=%2B33612345678");
    expect(record.leg.tenant).toBe("acme");
    expect(record.leg.callerNumber).toBe("+33612345678");
    const unknown = open(`${h.ws}?token=${TOKEN}&tenant=nope`);
    expect(await unknown.closed).toEqual({ code: 1008, reason: "unknown tenant" });
    const bad = open(`${h.ws}?token=${TOKEN}&caller=${encodeURIComponent("<script>")}`);
    expect(await bad.closed).toEqual({ code: 1008, reason: "bad caller number" });
    expect(h.legs.length).toBe(1);
    expect(lines.some((l) => l.includes("test call refused") && l.includes("nope"))).toBe(true);
  });
});

describe("the wire protocol", () => {
  test("the call message first, then the bot's frames as 20 ms binary, flush, and end then close 1000", async () => {
    const h = start();
    const { client, record } = await call(h);
    const first = JSON.parse(client.texts[0] as string);
    expect(first).toEqual({ type: "call", id: record.leg.id, sampleRate: 16000, frameSamples: 320 });
    expect(record.leg.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const frame = new Int16Array(320);
    for (let i = 0; i < 3; i++) {
      frame.fill(i + 1);
      expect(record.leg.sendAudio(frame)).toBe(true);
    }
    record.leg.flushPlayback();
    await waitFor("three frames and the flush", () => client.binaries.length === 3 && client.texts.length === 2);
    expect(client.binaries.map((b) => b.length)).toEqual([640, 640, 640]);
    expect(new Int16Array(client.binaries[2]!.buffer)[319]).toBe(3);
    expect(JSON.parse(client.texts[1] as string)).toEqual({ type: "flush" });
    record.leg.hangup("resolved");
    expect(await client.closed).toEqual({ code: 1000, reason: "call ended" });
    expect(JSON.parse(client.texts[2] as string)).toEqual({ type: "end", reason: "resolved" });
    expect(record.closes).toEqual([{ reason: "server-hangup", detail: undefined }]);
    expect(record.leg.sendAudio(frame)).toBe(false);
    expect(h.calls.activeConnections).toBe(0);
  });

  test("the browser's audio in any size up to 1 s becomes 20 ms frames; digits and hang-up arrive", async () => {
    const h = start();
    const { client, record } = await call(h);
    client.ws.send(pcm(100, 7));
    client.ws.send(pcm(16000 - 100, 7));
    client.ws.send(JSON.stringify({ type: "dtmf", digit: "5" }));
    client.ws.send(JSON.stringify({ type: "dtmf", digit: "#" }));
    await waitFor("1 s of audio and two digits", () => record.audio.length === 50 && record.dtmf.length === 2);
    expect(record.audio.every((f) => f.length === 320 && f[0] === 7 && f[319] === 7)).toBe(true);
    expect(record.dtmf).toBe("5#");
    client.ws.send(JSON.stringify({ type: "hangup" }));
    expect((await client.closed).code).toBe(1000);
    expect(record.closes.map((c) => c.reason)).toEqual(["caller-hangup"]);
    expect(h.stats.framesIn).toBe(50);
  });

  test("the browser closing the socket is the caller hanging up", async () => {
    const h = start();
    const { client, record } = await call(h);
    client.ws.close(1000, "bye");
    await waitFor("the leg's close", () => record.closes.length === 1);
    expect(record.closes[0]!.reason).toBe("caller-hangup");
  });

  const faults: Array<[string, (ws: WebSocket) => void, number, string]> = [
    ["an odd byte length", (ws) => ws.send(new Uint8Array(641)), 1007, "odd byte length"],
    ["over 1 s of audio", (ws) => ws.send(new Uint8Array(32002)), 1009, "audio message too large"],
    ["text that is not JSON", (ws) => ws.send("hello"), 1007, "bad JSON"],
    ["a JSON array", (ws) => ws.send("[1]"), 1007, "bad JSON"],
    ["an unknown type", (ws) => ws.send(JSON.stringify({ type: "mute" })), 1003, "unknown message type"],
    ["a digit that is no key", (ws) => ws.send(JSON.stringify({ type: "dtmf", digit: "55" })), 1007, "bad digit"],
    ["a long text", (ws) => ws.send(JSON.stringify({ type: "dtmf", digit: "1", pad: "x".repeat(300) })), 1009, "message too large"],
  ];
  for (const [what, send, code, reason] of faults) {
    test(`${what} closes that call alone (${code} "${reason}"), with a log line naming the call`, async () => {
      const h = start();
      const bystander = await call(h);
      const { client, record } = await call(h);
      send(client.ws);
      expect(await client.closed).toEqual({ code, reason });
      expect(record.closes.map((c) => c.reason)).toEqual(["protocol-error"]);
      const line = lines.find((l) => l.includes("protocol error") && l.includes(record.leg.id));
      expect(line).toBeDefined();
      expect(h.stats.protocolErrors).toBe(1);
      bystander.client.ws.send(pcm(320));
      await waitFor("the other call's audio", () => bystander.record.audio.length === 1);
      expect(bystander.record.closes).toEqual([]);
      expect(bystander.record.leg.sendAudio(new Int16Array(320))).toBe(true);
    });
  }

  test("a page whose microphone never starts is closed 1008 \"no audio\"", async () => {
    const h = start(50);
    const { client, record } = await call(h);
    expect(await client.closed).toEqual({ code: 1008, reason: "no audio" });
    expect(record.closes[0]!.reason).toBe("protocol-error");
  });

  test("server shutdown ends every test call with end \"shutdown\" and close 1001", async () => {
    const h = start();
    const { client, record } = await call(h);
    await h.admin.stop();
    admins.splice(0);
    expect(await client.closed).toEqual({ code: 1001, reason: "voicebot is shutting down" });
    expect(client.texts.map((t) => JSON.parse(t).type)).toEqual(["call", "end"]);
    expect(record.closes[0]!.reason).toBe("shutdown");
  });
});
