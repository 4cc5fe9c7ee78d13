import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { EslDecoder, EslProtocolError, encodeCommand, type EslMessage } from "../../src/transports/esl-codec.ts";
import { EslMediaControl } from "../../src/transports/esl-media-control.ts";
import { checkEslAuth } from "../../src/transports/esl-auth.ts";
import { EslClient, EslError, type EslClientOptions } from "../../src/transports/esl.ts";
import type { ChannelListener } from "../../src/transports/freeswitch-control.ts";
import { startFakeEsl, type FakeEsl } from "../fakes/esl.ts";

const lines: string[] = [];
beforeAll(() => setLogSink((line) => lines.push(line)));
afterAll(() => setLogSink((line) => process.stderr.write(line + "\n")));
const log = rootLogger.child("esl-test");

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

async function setup(options: Partial<EslClientOptions> = {}, fakePassword = "ClueCon"): Promise<{ fake: FakeEsl; client: EslClient }> {
  const fake = await startFakeEsl({ password: fakePassword });
  const client = new EslClient({ host: fake.host, port: fake.port, password: "ClueCon", log, commandTimeoutMs: 1000, reconnect: { initialMs: 20, maxMs: 80 }, ...options });
  cleanups.push(() => client.stop(), () => fake.stop());
  return { fake, client };
}

async function connected(options: Partial<EslClientOptions> = {}): Promise<{ fake: FakeEsl; client: EslClient }> {
  const pair = await setup(options, options.password);
  pair.client.start();
  await pair.client.ready(2000);
  await pair.fake.waitForCommand("event plain");
  return pair;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const plain = (inner: string): string => `Content-Length: ${bytes(inner).length}\nContent-Type: text/event-plain\n\n${inner}`;

describe("EslDecoder", () => {
  const playBody = '{"audioDataType":"raw","sampleRate":16000,"file":"/tmp/é_0.tmp.r16"}';
  const stream =
    "Content-Type: auth/request\n\n" +
    "Content-Type: command/reply\nReply-Text: +OK accepted\n\n" +
    `Content-Type: api/response\nContent-Length: ${bytes("+OK café ☎\n").length}\n\n+OK café ☎\n` +
    plain(`Event-Subclass: mod_audio_stream%3A%3Aplay\nEvent-Name: CUSTOM\nUnique-ID: abc\nContent-Length: ${bytes(playBody).length}\n\n${playBody}`) +
    plain("Event-Name: DTMF\nUnique-ID: abc\nDTMF-Digit: %23\n\n") +
    "\nContent-Type: text/disconnect-notice\nContent-Length: 23\n\nDisconnected, goodbye.\n";
  const all = bytes(stream);
  const decode = (chunks: Uint8Array[]): EslMessage[] => {
    const out: EslMessage[] = [];
    const decoder = new EslDecoder((m) => out.push(m));
    for (const chunk of chunks) decoder.push(chunk);
    return out;
  };
  const whole = decode([all]);

  test("reads each message kind, counting bodies in bytes and URL-decoding event headers", () => {
    expect(whole.map((m) => m.contentType)).toEqual(["auth/request", "command/reply", "api/response", "text/event-plain", "text/event-plain", "text/disconnect-notice"]);
    expect(whole[1]!.headers.get("Reply-Text")).toBe("+OK accepted");
    expect(whole[2]!.body).toBe("+OK café ☎\n");
    expect(whole[3]!.event).toMatchObject({ name: "CUSTOM", subclass: "mod_audio_stream::play", uuid: "abc", body: playBody });
    expect(whole[4]!.event?.headers.get("DTMF-Digit")).toBe("#");
    expect(whole[4]!.event?.body).toBe("");
    expect(whole[5]!.body).toBe("Disconnected, goodbye.\n");
  });

  test("gives the same messages at every split point, and byte by byte", () => {
    const expected = JSON.stringify(whole.map((m) => [m.contentType, m.body, m.event?.name, m.event?.body]));
    for (let at = 0; at <= all.length; at++) {
      const split = decode([all.subarray(0, at), all.subarray(at)]);
      expect(JSON.stringify(split.map((m) => [m.contentType, m.body, m.event?.name, m.event?.body]))).toBe(expected);
    }
    const single = decode(Array.from(all, (_, i) => all.subarray(i, i + 1)));
    expect(single.length).toBe(whole.length);
  });

  test("rejects oversized, malformed and nameless messages, and stays failed", () => {
    const small = (text: string): (() => void) => () => new EslDecoder(() => {}, 1024).push(bytes(text));
    expect(small("Content-Type: api/response\nContent-Length: 1025\n\n")).toThrow(/1025 is larger than the 1024-byte limit/);
    expect(small("Content-Type: api/response\nContent-Length: 12x\n\n")).toThrow(/"12x" is not a byte count/);
    expect(small("Content-Type: x\n" + "a".repeat(1100))).toThrow(/without a blank line/);
    expect(small("no colon here\n\n")).toThrow(/has no "Name: value" form/);
    expect(small(plain("Unique-ID: abc\n\n"))).toThrow(/no Event-Name/);
    const decoder = new EslDecoder(() => {});
    expect(() => decoder.push(bytes("bad line\n\n"))).toThrow(EslProtocolError);
    expect(() => decoder.push(bytes("Content-Type: auth/request\n\n"))).toThrow(EslProtocolError);
  });

  test("an event body shorter than its own Content-Length is kept as the outer frame delimits it", () => {
    const events: (string | undefined)[] = [];
    const decoder = new EslDecoder((m) => events.push(m.event?.body));
    decoder.push(bytes(plain("Event-Name: CUSTOM\nContent-Length: 50\n\n{}") + plain("Event-Name: DTMF\n\n")));
    expect(events).toEqual(["{}", ""]);
  });

  test("encodeCommand ends a line with a blank line and refuses line breaks", () => {
    expect(encodeCommand("api status")).toBe("api status\n\n");
    expect(() => encodeCommand("api status\nauth x")).toThrow(/without CR or LF/);
    expect(() => encodeCommand("api x\r")).toThrow(EslProtocolError);
    expect(() => encodeCommand("  ")).toThrow(/one non-empty line/);
  });
});

describe("EslClient against the fake Event Socket", () => {
  test("authenticates, subscribes, and never logs or records the password", async () => {
    const { fake, client } = await connected({ password: "Pw-Not-In-Logs" });
    expect(client.connected).toBe(true);
    expect(fake.clients).toBe(1);
    expect(fake.commands[0]!.line).toBe(
      "event plain CHANNEL_HANGUP DTMF BACKGROUND_JOB CUSTOM mod_audio_stream::play mod_audio_stream::error mod_audio_stream::disconnect",
    );
    expect(lines.join("\n")).not.toContain("Pw-Not-In-Logs");
  }, 10_000);

  test("a wrong password is logged once per state change, not once per retry", async () => {
    const { client } = await setup({ password: "Wrong-Secret-9" });
    lines.length = 0;
    client.start();
    await expect(client.ready(400)).rejects.toThrow(/rejected the password/);
    expect(client.connected).toBe(false);
    expect(lines.filter((l) => l.includes("rejected the password")).length).toBe(1);
    expect(lines.join("\n")).not.toContain("Wrong-Secret-9");
  });

  test("an ACL rejection tells the admin what to add where", async () => {
    const { fake, client } = await setup();
    fake.misbehave({ rude: true });
    client.start();
    await expect(client.ready(300)).rejects.toThrow(/refused this host by ACL.*add 127\.0\.0\.1 .*apply-inbound-acl/);
  });

  test("api returns the api/response body; -ERR rejects with that line; replies match commands in order", async () => {
    const { fake, client } = await connected();
    fake.onCommand((line) => {
      if (line === "api status") return "UP 0 years, état ☎\n";
      if (line.startsWith("api uuid_kill")) return "-ERR No such channel!\n";
      const echo = /^api echo (\d)$/.exec(line);
      return echo ? `echo ${echo[1]}\n` : null;
    });
    expect(await client.api("status")).toBe("UP 0 years, état ☎\n");
    const failure = await client.api("uuid_kill nope").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(EslError);
    expect((failure as Error).name).toBe("EslError");
    expect((failure as Error).message).toBe("-ERR No such channel!");
    expect(await Promise.all([client.api("echo 1"), client.api("echo 2"), client.api("echo 3")])).toEqual(["echo 1\n", "echo 2\n", "echo 3\n"]);
    expect(client.stats).toMatchObject({ commands: 5, failures: 1 });
  });

  test("bgapi resolves with its BACKGROUND_JOB body, or rejects on -ERR", async () => {
    const { fake, client } = await connected();
    fake.onCommand((line) => (line === "bgapi uuid_getvar x foo" ? "bar\n" : line.startsWith("bgapi uuid_kill") ? "-ERR No such channel!\n" : null));
    const [value, broadcast] = await Promise.all([client.bgapi("uuid_getvar x foo"), client.bgapi("uuid_broadcast x /tmp/a.r16 aleg")]);
    expect(value).toBe("bar\n");
    expect(broadcast).toBe("+OK Message sent\n");
    await expect(client.bgapi("uuid_kill gone")).rejects.toThrow("-ERR No such channel!");
  });

  test("bad commands and commands while down reject at once with a clear EslError", async () => {
    const { client } = await setup();
    await expect(client.api("status")).rejects.toThrow(/not connected .*"api status" not sent/);
    client.start();
    await client.ready(2000);
    await expect(client.api("status\n\nauth x")).rejects.toThrow(/not allowed: a command is one non-empty line/);
    await expect(client.bgapi(" ")).rejects.toThrow(/needs a command/);
    expect(() => new EslClient({ host: "h", port: 70000, password: "p", log })).toThrow(/70000 is not a TCP port/);
    expect(() => new EslClient({ host: "h", port: 8021, password: "p", log, events: ["A B"] })).toThrow(/"A B" is not allowed/);
  });

  test("a stalled FreeSWITCH times the command out, then the client reconnects", async () => {
    const { fake, client } = await connected({ commandTimeoutMs: 150 });
    fake.misbehave({ stallCommands: true });
    await expect(client.api("status")).rejects.toThrow(/"api status" got no answer .* within 150 ms/);
    // The new session's subscription is stalled too: the client keeps trying until FreeSWITCH answers again.
    await until(() => fake.commands.filter((c) => c.line.startsWith("event plain")).length >= 2, "a new session after the stall");
    fake.misbehave({ stallCommands: false });
    await until(() => client.connected, "the client to log in again");
    expect(await client.api("status")).toBe("+OK\n");
  });

  test("reconnects after the server drops it, subscribes again, and delivers events again", async () => {
    const { fake, client } = await connected();
    const seen: string[] = [];
    const unsubscribe = client.onEvent((event) => seen.push(`${event.name}:${event.headers.get("DTMF-Digit") ?? ""}`));
    fake.emit({ name: "DTMF", uuid: "u1", headers: { "DTMF-Digit": "1" } });
    await until(() => seen.length === 1, "the first DTMF");
    fake.dropClients({ notice: true });
    await fake.waitForCommand("event plain CHANNEL_HANGUP");
    await until(() => client.connected, "the reconnection");
    expect(client.stats.reconnects).toBe(1);
    fake.emit({ name: "DTMF", uuid: "u1", headers: { "DTMF-Digit": "2" } });
    fake.emit({ name: "CHANNEL_ANSWER", uuid: "u1" });
    await until(() => seen.length === 2, "the DTMF after the reconnection");
    unsubscribe();
    fake.emit({ name: "DTMF", uuid: "u1", headers: { "DTMF-Digit": "3" } });
    await client.api("status");
    expect(seen).toEqual(["DTMF:1", "DTMF:2"]);
  });

  test("stop() says exit and rejects later commands", async () => {
    const { fake, client } = await connected();
    await client.stop();
    expect(fake.commands.at(-1)!.line).toBe("exit");
    expect(client.connected).toBe(false);
    await expect(client.bgapi("uuid_break x all")).rejects.toThrow(EslError);
  });

  test("checkEslAuth reports success, a wrong password, an ACL refusal and a closed port", async () => {
    const fake = await startFakeEsl({ password: "Right" });
    cleanups.push(() => fake.stop());
    const check = (password: string, port = fake.port) => checkEslAuth({ host: fake.host, port, password, timeoutMs: 2000 });
    expect(await check("Right")).toMatchObject({ ok: true, message: expect.stringContaining("authenticated") });
    expect(await check("Wrong")).toMatchObject({ ok: false, message: expect.stringContaining("rejected the password") });
    fake.misbehave({ rude: true });
    expect((await check("Right")).message).toContain("event_socket.conf");
    const closed = await startFakeEsl();
    await closed.stop();
    expect(await check("Right", closed.port)).toMatchObject({ ok: false, message: expect.stringContaining("cannot connect") });
  });
});

describe("EslMediaControl", () => {
  const B = "2fe316b7-4c67-408e-8c00-5a882e8264c4";

  function recorder(): { calls: string[]; listener: ChannelListener } {
    const calls: string[] = [];
    return {
      calls,
      listener: {
        onDtmf: (d) => calls.push(`dtmf ${d}`), onPlay: (f) => calls.push(`play ${f}`), onHangup: () => calls.push("hangup"), onControlUp: () => calls.push("up"),
      },
    };
  }

  test("writes the exact bgapi lines FreeSWITCH expects", async () => {
    const { fake, client } = await connected();
    const control = new EslMediaControl(client, log);
    cleanups.push(() => control.close());
    control.broadcast(B, `/usr/local/freeswitch/tmp/${B}_0.tmp.r16`);
    control.breakPlayback(B);
    control.hangup(B);
    expect((await fake.waitForCommand("bgapi uuid_broadcast")).line).toBe(`bgapi uuid_broadcast ${B} /usr/local/freeswitch/tmp/${B}_0.tmp.r16 aleg`);
    expect((await fake.waitForCommand("bgapi uuid_break")).line).toBe(`bgapi uuid_break ${B} all`);
    expect((await fake.waitForCommand("bgapi uuid_kill")).line).toBe(`bgapi uuid_kill ${B} NORMAL_CLEARING`);
  });

  test("routes each channel's events to its listener until unwatched", async () => {
    const { fake, client } = await connected();
    const control = new EslMediaControl(client, log);
    cleanups.push(() => control.close());
    const b = recorder();
    const other = recorder();
    const unwatch = control.watch(B, b.listener);
    control.watch("other", other.listener);
    fake.emit({ name: "DTMF", uuid: B, headers: { "DTMF-Digit": "#" } });
    fake.emit({ name: "CUSTOM", subclass: "mod_audio_stream::play", uuid: B, body: '{"audioDataType":"raw","sampleRate":16000,"file":"/tmp/b_0.tmp.r16"}' });
    fake.emit({ name: "DTMF", uuid: "other", headers: { "DTMF-Digit": "7" } });
    fake.emit({ name: "CHANNEL_HANGUP", uuid: B, headers: { "Hangup-Cause": "NORMAL_CLEARING" } });
    await until(() => b.calls.length === 3, "B's three events");
    expect(b.calls).toEqual(["dtmf #", "play /tmp/b_0.tmp.r16", "hangup"]);
    unwatch();
    fake.emit({ name: "DTMF", uuid: B, headers: { "DTMF-Digit": "1" } });
    fake.emit({ name: "CHANNEL_HANGUP", uuid: "other" });
    await until(() => other.calls.length === 2, "the other channel's events");
    expect(other.calls).toEqual(["dtmf 7", "hangup"]);
    expect(b.calls.length).toBe(3);
  });

  test("logs, never throws: bad arguments, -ERR replies, a bad play body, and a down connection", async () => {
    const { fake, client } = await connected();
    const control = new EslMediaControl(client, log);
    cleanups.push(() => control.close());
    fake.onCommand((line) => (line.startsWith("bgapi uuid_kill") ? "-ERR No such channel!\n" : null));
    lines.length = 0;
    control.broadcast(B, "/tmp/with space.r16");
    control.breakPlayback("bad\nuuid");
    control.hangup(B);
    control.watch(B, recorder().listener);
    fake.emit({ name: "CUSTOM", subclass: "mod_audio_stream::play", uuid: B, body: "not json" });
    await until(() => lines.some((l) => l.includes("ESL command failed")), "the logged -ERR");
    await until(() => lines.some((l) => l.includes("without a file")), "the logged bad body");
    expect(lines.find((l) => l.includes("ESL command failed"))).toContain(`call=${B}`);
    expect(lines.find((l) => l.includes("ESL command failed"))).toContain("No such channel");
    expect(lines.filter((l) => l.includes("not one plain argument")).length).toBe(2);
    expect(fake.commands.map((c) => c.line).filter((l) => l.startsWith("bgapi"))).toEqual([`bgapi uuid_kill ${B} NORMAL_CLEARING`]);
    await client.stop();
    expect(control.connected).toBe(false);
    control.breakPlayback(B);
    expect(lines.some((l) => l.includes("ESL is down: command dropped") && l.includes(`call=${B}`))).toBe(true);
  });
});
