import { afterEach, describe, expect, test } from "bun:test";
import type { Logger, LogFields } from "../../src/log.ts";
import { AMI_MAX_BUFFER, AmiMessage, AmiParser, AmiProtocolError, serializeAction, serializeMessage } from "../../src/transports/ami-codec.ts";
import { AmiClient, AmiError, checkAmiLogin, type AmiClientOptions } from "../../src/transports/ami.ts";
import { formatDialplanTarget, parseDialplanTarget } from "../../src/transports/dialplan-target.ts";
import { startFakeAmi, type FakeAmi } from "../fakes/ami.ts";

const SECRET = "s3cret-Zebra-42";
const UUID = "8a1c0a8e-3f4b-4c5d-9e6f-0a1b2c3d4e5f";
const TARGET = parseDialplanTarget("2000@techs");

function captureLogger(lines: string[], scope = "test", base: LogFields = {}): Logger {
  const emit = (level: string) => (msg: string, fields?: LogFields) => void lines.push(`${level} ${scope} ${msg} ${JSON.stringify({ ...base, ...fields })}`);
  return {
    debug: emit("DEBUG"),
    info: emit("INFO"),
    warn: emit("WARN"),
    error: emit("ERROR"),
    child: (childScope, fields) => captureLogger(lines, childScope, { ...base, ...fields }),
  };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

function parseAll(chunks: readonly (string | Uint8Array)[], expectBanner = true): { banner: string | null; messages: AmiMessage[] } {
  const result = { banner: null as string | null, messages: [] as AmiMessage[] };
  const parser = new AmiParser({ onBanner: (v) => (result.banner = v), onMessage: (m) => result.messages.push(m) }, { expectBanner });
  for (const chunk of chunks) parser.push(chunk);
  return result;
}

describe("dialplan target", () => {
  test("parses exten@context with the default, numbered or labelled priority, trimmed", () => {
    expect(parseDialplanTarget("2000@from-internal")).toEqual({ exten: "2000", context: "from-internal", priority: "1" });
    expect(parseDialplanTarget("  +33123@techs.example.com:3 ")).toEqual({ exten: "+33123", context: "techs.example.com", priority: "3" });
    expect(parseDialplanTarget("s@techs:start")).toEqual({ exten: "s", context: "techs", priority: "start" });
  });

  test("formats back to the same text", () => {
    for (const text of ["2000@techs", "2000@techs:2", "s@techs:start"]) expect(formatDialplanTarget(parseDialplanTarget(text))).toBe(text);
  });

  test.each([
    ["", "empty"],
    ["2000", "no @"],
    ["2000@", "context is empty"],
    ["@techs", "extension is empty"],
    ["2000@techs@x", "more than one @"],
    ["20 00@techs", "white space"],
    ["2000@techs,1", "comma"],
    ["2000@techs:", "priority after : is empty"],
    ["2000@techs:0", "neither a number"],
    ["2000@techs:1:2", "more than one :"],
    ["2000@te/chs", "may only contain"],
  ])("rejects %p (%s) naming the value and the form", (text, why) => {
    expect(() => parseDialplanTarget(text)).toThrow(why);
    expect(() => parseDialplanTarget(text)).toThrow(`${JSON.stringify(text)}`);
    expect(() => parseDialplanTarget(text)).toThrow("exten@context");
  });
});

describe("AMI codec", () => {
  const wire =
    "Asterisk Call Manager/13.0.0\r\n" +
    "Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n" +
    "Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/100-00000001\r\nCallerIDName: Élodie\r\n" +
    `Application: AudioSocket\r\nAppData: ${UUID},127.0.0.1:9092\r\n\r\n`;

  function check(result: { banner: string | null; messages: AmiMessage[] }): void {
    expect(result.banner).toBe("13.0.0");
    expect(result.messages.map((m) => m.entries())).toEqual([
      [["Response", "Success"], ["ActionID", "a-1"], ["Message", "Authentication accepted"]],
      [["Event", "Newexten"], ["Privilege", "dialplan,all"], ["Channel", "PJSIP/100-00000001"], ["CallerIDName", "Élodie"],
        ["Application", "AudioSocket"], ["AppData", `${UUID},127.0.0.1:9092`]],
    ]);
  }

  test("reads the banner and CRLF messages", () => check(parseAll([wire])));
  test("reads bare LF line ends", () => check(parseAll([wire.replaceAll("\r\n", "\n")])));

  test("gives the same messages however the bytes are split", () => {
    const bytes = new TextEncoder().encode(wire);
    for (let cut = 0; cut <= bytes.length; cut++) check(parseAll([bytes.subarray(0, cut), bytes.subarray(cut)]));
    check(parseAll([...bytes].map((b) => Uint8Array.of(b))));
  });

  test("keys are case-insensitive, repeated keys kept in order, blank lines between messages ignored", () => {
    const { messages } = parseAll(["\r\nEvent: Status\r\nvariable: A=1\r\nVARIABLE:B=2\r\nData:  x: y\r\n\r\n\r\n"], false);
    const m = messages[0]!;
    expect(messages.length).toBe(1);
    expect(m.get("EVENT")).toBe("Status");
    expect(m.getAll("Variable")).toEqual(["A=1", "B=2"]);
    expect(m.get("data")).toBe("x: y");
    expect(m.toRecord()).toEqual({ Event: "Status", variable: "A=1", VARIABLE: "B=2", Data: "x: y" });
  });

  test("a first line that is not the banner is a protocol error, and stays one", () => {
    const parser = new AmiParser({ onMessage: () => {} }, { expectBanner: true });
    expect(() => parser.push("Content-Type: auth/request\n\n")).toThrow(/expected the banner "Asterisk Call Manager\/<version>"/);
    expect(() => parser.push("Response: Success\r\n\r\n")).toThrow(AmiProtocolError);
  });

  test("a line with no end is cut off at 64 KiB, even when it comes in small pieces", () => {
    const parser = new AmiParser({ onMessage: () => {} }, { expectBanner: false });
    const piece = "x".repeat(1000);
    let error: unknown = null;
    for (let i = 0; i < 100 && error === null; i++) {
      try {
        parser.push(piece);
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(AmiProtocolError);
    expect(String(error)).toContain(`at most ${AMI_MAX_BUFFER}`);
    expect(parser.buffered).toBe(0);
    expect(() => parseAll([`Key: ${"y".repeat(AMI_MAX_BUFFER)}\r\n`], false)).toThrow(/a line of \d+ characters/);
    expect(() => parseAll([`Key: ${"z".repeat(100)}\r\n`.repeat(1000)], false)).toThrow(/message longer than/);
  });

  test("serializes actions and refuses values that would break the line", () => {
    expect(serializeAction("Redirect", { Channel: "PJSIP/1-1", Priority: "1", ActionID: "x" })).toBe(
      "Action: Redirect\r\nChannel: PJSIP/1-1\r\nPriority: 1\r\nActionID: x\r\n\r\n",
    );
    expect(serializeMessage([["Variable", "A=1"], ["Variable", "B=2"]])).toBe("Variable: A=1\r\nVariable: B=2\r\n\r\n");
    expect(() => serializeAction("Redirect", { Exten: "1\r\nAction: Hangup" })).toThrow(/Exten value .* contains CR or LF/);
    expect(() => serializeAction("Redirect", { Exten: "1\n" })).toThrow(AmiProtocolError);
    expect(() => serializeAction("Redirect", { "Bad Key": "1" })).toThrow(/field name "Bad Key" is invalid/);
    expect(() => serializeAction("Re:direct", {})).toThrow(/action name/);
  });
});

describe("AMI client against the fake Asterisk", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(options: Partial<AmiClientOptions> = {}, start = true) {
    const fake: FakeAmi = await startFakeAmi({ username: "voicebot", secret: SECRET });
    cleanups.push(() => fake.stop());
    const lines: string[] = [];
    const client = new AmiClient({
      host: fake.host,
      port: fake.port,
      username: "voicebot",
      secret: SECRET,
      log: captureLogger(lines),
      reconnect: { initialMs: 10, maxMs: 40, refusedMaxMs: 80 },
      ...options,
    });
    cleanups.push(() => client.stop());
    if (start) {
      client.start();
      await client.ready(3000);
    }
    return { fake, client, lines };
  }

  test("logs in with the call and dialplan event classes, never logging the secret", async () => {
    const { client, lines } = await setup();
    expect(client.connected).toBe(true);
    expect(client.stats.logins).toBe(1);
    expect(lines.some((line) => line.includes("logged in") && line.includes("call,dialplan") && line.includes("13.0.0"))).toBe(true);
    expect(lines.join("\n")).not.toContain(SECRET);
  });

  test("a refused login is logged once while retries back off, then recovers", async () => {
    const { fake, client, lines } = await setup({}, false);
    fake.misbehave({ rejectLogin: true });
    client.start();
    await expect(client.ready(300)).rejects.toThrow(/Authentication failed/);
    await waitFor("four retries", () => client.stats.reconnects >= 4);
    const warnings = lines.filter((line) => line.startsWith("WARN"));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain('refused the login of user \\"voicebot\\": Authentication failed');
    // Each wait is the current step with jitter (half to all of it); after a refusal steps double
    // from 10 ms up to refusedMaxMs (80 ms), past the 40 ms cap of connection failures.
    const waits = lines.filter((line) => line.includes("AMI")).map((line) => JSON.parse(line.slice(line.indexOf("{"))).retryMs as number);
    [10, 20, 40, 80].forEach((step, i) => {
      expect(waits[i]).toBeGreaterThanOrEqual(step / 2);
      expect(waits[i]).toBeLessThanOrEqual(step);
    });
    fake.misbehave({ rejectLogin: false });
    await client.ready(3000);
    expect(client.stats.logins).toBe(1);
    expect(lines.join("\n")).not.toContain(SECRET);
  });

  test("redirects a call whose channel a VarSet event named", async () => {
    const { fake, client } = await setup();
    fake.addChannel({ channel: "PJSIP/alice-00000001", uniqueid: "1700000000.1", uuid: UUID });
    await waitFor("the VarSet mapping", () => client.channelFor(UUID) !== null);
    expect(client.channelFor(UUID.toUpperCase())).toBe("PJSIP/alice-00000001");
    await client.redirect(UUID, parseDialplanTarget("2000@techs:start"));
    const { fields } = await fake.waitForAction("Redirect");
    expect(fields).toMatchObject({ Action: "Redirect", Channel: "PJSIP/alice-00000001", Context: "techs", Exten: "2000", Priority: "start" });
    expect(fields.ActionID).toBeTruthy();
    expect(client.stats).toMatchObject({ actions: 1, failures: 0 });
  });

  test("redirects by the Newexten mapping when no VarSet was seen; VarSet wins when both exist", async () => {
    const { fake, client } = await setup();
    fake.onRedirect(() => ({ ok: true }));
    const newexten = (channel: string, uuid: string) =>
      fake.emit({ Event: "Newexten", Privilege: "dialplan,all", Channel: channel, Uniqueid: "1.2", Application: "AudioSocket", AppData: `${uuid},127.0.0.1:9092` });
    newexten("PJSIP/bob-00000002", UUID);
    await waitFor("the Newexten mapping", () => client.channelFor(UUID) !== null);
    await client.redirect(UUID, TARGET);
    expect((await fake.waitForAction("Redirect")).fields.Channel).toBe("PJSIP/bob-00000002");

    const other = "11111111-2222-4333-8444-555555555555";
    newexten("Local/777@voicebot-00000003;2", other);
    fake.emit({ Event: "VarSet", Privilege: "dialplan,all", Channel: "AudioSocket/127.0.0.1:9092-x", Variable: "VB_UUID", Value: other });
    fake.emit({ Event: "VarSet", Privilege: "dialplan,all", Channel: "PJSIP/carol-00000004", Variable: "OTHER", Value: other });
    fake.emit({ Event: "VarSet", Privilege: "dialplan,all", Channel: "PJSIP/carol-00000004", Variable: "__VB_UUID", Value: other });
    await waitFor("the VarSet mapping", () => client.channelFor(other) === "PJSIP/carol-00000004");
  });

  test("falls back to one Status lookup when no event named the channel", async () => {
    const { fake, client } = await setup({}, false);
    fake.addChannel({ channel: "PJSIP/dave-00000005", uniqueid: "1700000000.5", uuid: UUID });
    fake.addChannel({ channel: "PJSIP/erin-00000006", uniqueid: "1700000000.6", uuid: "99999999-2222-4333-8444-555555555555" });
    client.start();
    await client.ready(3000);
    expect(client.channelFor(UUID)).toBeNull();
    await client.redirect(UUID, TARGET);
    expect((await fake.waitForAction("Status")).fields.Variables).toBe("VB_UUID");
    expect((await fake.waitForAction("Redirect")).fields.Channel).toBe("PJSIP/dave-00000005");
    expect(client.channelFor(UUID)).toBe("PJSIP/dave-00000005");
    expect(client.stats.actions).toBe(2);
  });

  test("an unknown call fails without sending Redirect", async () => {
    const { fake, client } = await setup();
    const error = await client.redirect(UUID, TARGET).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmiError);
    expect((error as Error).name).toBe("AmiError");
    expect(String(error)).toContain(`cannot redirect call ${UUID} to 2000@techs: no channel is known for it`);
    expect(fake.actions.map((a) => a.action)).toEqual(["Status"]);
    expect(client.stats.failures).toBe(1);
  });

  test("Asterisk's error message is surfaced", async () => {
    const { fake, client } = await setup();
    fake.emit({ Event: "VarSet", Privilege: "dialplan,all", Channel: "PJSIP/gone-00000007", Variable: "VB_UUID", Value: UUID });
    await waitFor("the mapping", () => client.channelFor(UUID) !== null);
    await expect(client.redirect(UUID, TARGET)).rejects.toThrow("Asterisk refused to redirect PJSIP/gone-00000007: Channel does not exist: PJSIP/gone-00000007");
    fake.onRedirect(() => ({ ok: false, message: "Redirect failed, channel not up." }));
    await expect(client.redirect(UUID, TARGET)).rejects.toThrow("Redirect failed, channel not up.");
    expect(client.stats.failures).toBe(2);
  });

  test("not connected, no reply in time, and a connection dropped mid-action each reject with their cause", async () => {
    const idle = await setup({}, false);
    await expect(idle.client.redirect(UUID, TARGET)).rejects.toThrow(/AMI at 127\.0\.0\.1:\d+ is not connected/);

    const { fake, client } = await setup({ actionTimeoutMs: 150 });
    fake.addChannel({ channel: "PJSIP/fay-00000008", uniqueid: "1700000000.8", uuid: UUID });
    await waitFor("the mapping", () => client.channelFor(UUID) !== null);
    fake.misbehave({ stallActions: true });
    await expect(client.redirect(UUID, TARGET)).rejects.toThrow("no reply to Redirect within 150 ms");
    fake.misbehave({ stallActions: false, dropOnAction: true });
    await expect(client.redirect(UUID, TARGET)).rejects.toThrow(/before the reply to Redirect/);
    fake.misbehave({ dropOnAction: false });
    await waitFor("the second login", () => client.stats.logins === 2);
  });

  test("reconnects after the connection drops, keeping the calls it knew", async () => {
    const { fake, client, lines } = await setup();
    fake.addChannel({ channel: "PJSIP/gus-00000009", uniqueid: "1700000000.9", uuid: UUID });
    await waitFor("the mapping", () => client.channelFor(UUID) !== null);
    fake.dropClients();
    await waitFor("the second login", () => client.stats.logins === 2);
    expect(client.connected).toBe(true);
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
    const warnings = lines.filter((line) => line.startsWith("WARN"));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain("connection lost: ECONNRESET");
    await client.redirect(UUID, TARGET);
    expect((await fake.waitForAction("Redirect")).fields.Channel).toBe("PJSIP/gus-00000009");
  });

  test("Hangup forgets a call and Rename follows its channel", async () => {
    const { fake, client } = await setup();
    fake.addChannel({ channel: "PJSIP/hal-0000000a", uniqueid: "1700000000.10", uuid: UUID });
    await waitFor("the mapping", () => client.channelFor(UUID) !== null);
    fake.emit({ Event: "Rename", Privilege: "call,all", Channel: "PJSIP/hal-0000000a", Newname: "PJSIP/hal-0000000a<ZOMBIE>", Uniqueid: "1700000000.10" });
    await waitFor("the rename", () => client.channelFor(UUID) === "PJSIP/hal-0000000a<ZOMBIE>");
    fake.emit({ Event: "Hangup", Privilege: "call,all", Channel: "PJSIP/hal-0000000a<ZOMBIE>", Cause: "16" });
    await waitFor("the hangup", () => client.channelFor(UUID) === null);

    fake.addChannel({ channel: "PJSIP/ivy-0000000b", uniqueid: "1700000000.11", uuid: UUID });
    await waitFor("the new mapping", () => client.channelFor(UUID) !== null);
    fake.hangupChannel("PJSIP/ivy-0000000b");
    await waitFor("the hangup", () => client.channelFor(UUID) === null);
  });

  test("stop() logs off and ends everything; nothing reconnects", async () => {
    const { fake, client } = await setup();
    await client.stop();
    await fake.waitForAction("Logoff");
    expect(client.connected).toBe(false);
    await expect(client.ready(100)).rejects.toThrow(/stopped/);
    await expect(client.redirect(UUID, TARGET)).rejects.toThrow(/not connected/);
    const before = { ...client.stats };
    await Bun.sleep(60);
    expect(client.stats.logins).toBe(before.logins);
    expect(client.stats.reconnects).toBe(before.reconnects);

    const retrying = await setup({}, false);
    retrying.fake.misbehave({ rejectLogin: true });
    retrying.client.start();
    await waitFor("a retry", () => retrying.client.stats.reconnects >= 1);
    const pending = retrying.client.ready(5000);
    await retrying.client.stop();
    await expect(pending).rejects.toThrow(/stopped/);
    const reconnects = retrying.client.stats.reconnects;
    await Bun.sleep(60);
    expect(retrying.client.stats.reconnects).toBe(reconnects);
  });
});

describe("checkAmiLogin", () => {
  test("reports success, a refused login, a closed port and a peer that is not AMI", async () => {
    const fake = await startFakeAmi({ username: "voicebot", secret: SECRET });
    try {
      const base = { host: fake.host, port: fake.port, username: "voicebot", timeoutMs: 2000 };
      const ok = await checkAmiLogin({ ...base, secret: SECRET });
      expect(ok.ok).toBe(true);
      expect(ok.message).toContain(`logged in to AMI 13.0.0 at 127.0.0.1:${fake.port}`);
      expect(ok.ms).toBeGreaterThanOrEqual(0);
      await fake.waitForAction("Logoff");
      const refused = await checkAmiLogin({ ...base, secret: "wrong" });
      expect(refused).toMatchObject({ ok: false });
      expect(refused.message).toContain("Authentication failed");
      expect(refused.message).not.toContain("wrong");
    } finally {
      await fake.stop();
    }
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    const down = await checkAmiLogin({ host: "127.0.0.1", port, username: "u", secret: "s", timeoutMs: 1000 });
    expect(down.ok).toBe(false);
    expect(down.message).toMatch(/cannot connect: .*ECONNREFUSED/);
    const esl = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.write("Content-Type: auth/request\n\n"), data() {} } });
    try {
      const wrong = await checkAmiLogin({ host: "127.0.0.1", port: esl.port, username: "u", secret: "s", timeoutMs: 1000 });
      expect(wrong.ok).toBe(false);
      expect(wrong.message).toContain('expected the banner "Asterisk Call Manager/<version>"');
    } finally {
      esl.stop(true);
    }
  });
});

describe("fake AMI wire behaviour", () => {
  test("answers like Asterisk: banner, Permission denied before login, missing Redirect fields, Ping with ActionID", async () => {
    const fake = await startFakeAmi({ username: "voicebot", secret: SECRET, version: "9.0.0" });
    const got: AmiMessage[] = [];
    let banner = "";
    const parser = new AmiParser({ onBanner: (v) => (banner = v), onMessage: (m) => got.push(m) }, { expectBanner: true });
    const socket = await Bun.connect({ hostname: fake.host, port: fake.port, socket: { data: (_s, chunk) => parser.push(chunk) } });
    try {
      socket.write(serializeAction("Redirect", { ActionID: "1" }));
      socket.write(serializeAction("Login", { ActionID: "2", Username: "VOICEBOT", Secret: SECRET }));
      socket.write(serializeAction("Redirect", { ActionID: "3", Context: "techs" }));
      socket.write(serializeAction("Redirect", { ActionID: "4", Channel: "PJSIP/x", Context: "techs", Exten: "2000" }));
      socket.write(serializeAction("Ping", { ActionID: "5" }));
      socket.write(serializeAction("Frobnicate", { ActionID: "6" }));
      await waitFor("six replies", () => got.length >= 6);
      expect(banner).toBe("9.0.0");
      expect(got.map((m) => [m.get("ActionID"), m.get("Response"), m.get("Message") ?? m.get("Ping")])).toEqual([
        ["1", "Error", "Permission denied"],
        ["2", "Success", "Authentication accepted"],
        ["3", "Error", "Channel not specified"],
        ["4", "Error", "Priority not specified"],
        ["5", "Success", "Pong"],
        ["6", "Error", "Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands."],
      ]);
      expect(fake.actions.map((a) => a.action)).toEqual(["Redirect", "Redirect", "Ping", "Frobnicate"]);
    } finally {
      socket.end();
      await fake.stop();
    }
  });
});
