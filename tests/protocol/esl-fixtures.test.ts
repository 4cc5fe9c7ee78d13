/**
 * Every ESL event a real FreeSWITCH 1.10.12 sent (../shared/fixtures/audiostream/*\/esl_events.jsonl,
 * `text/event-plain` bodies) must parse to the event the capture lists, however TCP splits the
 * stream; replayed over TCP to the client, EslMediaControl must hand each watched channel its DTMF
 * digits, its `mod_audio_stream::play` file and its hang-up.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rootLogger, setLogSink } from "../../src/log.ts";
import { EslDecoder, type EslEvent } from "../../src/transports/esl-codec.ts";
import { EslMediaControl } from "../../src/transports/esl-media-control.ts";
import { EslClient } from "../../src/transports/esl.ts";

const FIXTURES = fileURLToPath(new URL("../../../shared/fixtures/audiostream/", import.meta.url));

interface CapturedEvent {
  event: string;
  subclass: string | null;
  uuid: string;
  body: string;
  raw: string;
}

const encoder = new TextEncoder();

function load(scenario: string): CapturedEvent[] {
  const text = readFileSync(`${FIXTURES}${scenario}/esl_events.jsonl`, "utf8");
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as CapturedEvent);
}

/** The envelope mod_event_socket puts around a serialized event (byte count, then the type). */
function framed(event: CapturedEvent): string {
  return `Content-Length: ${encoder.encode(event.raw).length}\nContent-Type: text/event-plain\n\n${event.raw}`;
}

function parse(chunks: Uint8Array[]): EslEvent[] {
  const events: EslEvent[] = [];
  const decoder = new EslDecoder((message) => {
    if (message.event) events.push(message.event);
  });
  for (const chunk of chunks) decoder.push(chunk);
  return events;
}

const scenarios = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && readdirSync(`${FIXTURES}${entry.name}`).includes("esl_events.jsonl"))
  .map((entry) => entry.name)
  .sort();

const lines: string[] = [];
beforeAll(() => setLogSink((line) => lines.push(line)));
afterAll(() => setLogSink((line) => process.stderr.write(line + "\n")));

describe("captured FreeSWITCH events through EslDecoder", () => {
  test("the fixtures hold DTMF, play, hang-up and the other mod_audio_stream events", () => {
    const names = new Set(scenarios.flatMap((s) => load(s).map((e) => e.subclass ?? e.event)));
    for (const name of ["DTMF", "CHANNEL_HANGUP", "mod_audio_stream::play", "mod_audio_stream::json", "mod_audio_stream::error"]) {
      expect(names.has(name)).toBe(true);
    }
  });

  for (const scenario of scenarios) {
    test(`${scenario}: each event parses to what was captured, in odd-sized chunks too`, () => {
      const captured = load(scenario);
      const stream = encoder.encode(captured.map(framed).join(""));
      const expected = captured.map((e) => ({ name: e.event, subclass: e.subclass, uuid: e.uuid, body: e.body }));
      const whole = parse([stream]);
      expect(whole.map(({ name, subclass, uuid, body }) => ({ name, subclass, uuid, body }))).toEqual(expected);
      const chunks: Uint8Array[] = [];
      for (let at = 0, size = 1; at < stream.length; at += size, size = (size * 7 + 3) % 211) chunks.push(stream.subarray(at, at + size));
      expect(parse(chunks).map((e) => e.body)).toEqual(expected.map((e) => e.body));
      for (const event of whole) expect(event.headers.get("Core-UUID")).toBe(whole[0]!.headers.get("Core-UUID")!);
    });
  }

  test("h_dtmf: the digits 1 2 3 4 # 9, in order, all on the B leg, with their durations", () => {
    const events = parse([encoder.encode(load("h_dtmf").map(framed).join(""))]).filter((e) => e.name === "DTMF");
    expect(events.map((e) => e.headers.get("DTMF-Digit"))).toEqual(["1", "2", "3", "4", "#", "9"]);
    expect(events.map((e) => e.headers.get("DTMF-Duration"))).toEqual(["2000", "2000", "2000", "2000", "2000", "3200"]);
    expect(new Set(events.map((e) => e.uuid))).toEqual(new Set(["e675c5bd-ac54-4b02-b732-9f498c5fb384"]));
  });

  test("c_play_community: the play body names the temp file, and both legs hang up", () => {
    const events = parse([encoder.encode(load("c_play_community").map(framed).join(""))]);
    const play = events.find((e) => e.subclass === "mod_audio_stream::play")!;
    expect(JSON.parse(play.body)).toEqual({
      audioDataType: "raw",
      sampleRate: 16000,
      file: "$FS_WORK/tmp/2fe316b7-4c67-408e-8c00-5a882e8264c4_0.tmp.r16",
    });
    expect(play.headers.get("variable_api_result")).toBe("+OK Success\n");
    expect(events.filter((e) => e.name === "CHANNEL_HANGUP").map((e) => e.uuid)).toEqual([
      "ca3487fd-f472-43e6-8e51-b7b75d329cfe",
      "2fe316b7-4c67-408e-8c00-5a882e8264c4",
    ]);
  });
});

describe("captured events replayed over TCP to EslClient + EslMediaControl", () => {
  let stopServer: () => void = () => {};
  let client: EslClient | null = null;
  afterEach(async () => {
    await client?.stop();
    stopServer();
  });

  /** FreeSWITCH's side of the handshake, then the captured events, in 100-byte writes. */
  function replayServer(events: CapturedEvent[]): number {
    const listener = Bun.listen<{ text: string }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket: Socket<{ text: string }>) {
          socket.data = { text: "" };
          socket.write("Content-Type: auth/request\n\n");
        },
        data(socket, chunk: Buffer) {
          socket.data.text += chunk.toString("utf8");
          let end: number;
          while ((end = socket.data.text.indexOf("\n\n")) >= 0) {
            const command = socket.data.text.slice(0, end);
            socket.data.text = socket.data.text.slice(end + 2);
            if (command.startsWith("auth ")) socket.write("Content-Type: command/reply\nReply-Text: +OK accepted\n\n");
            if (!command.startsWith("event plain ")) continue;
            socket.write("Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n");
            const stream = encoder.encode(events.map(framed).join(""));
            for (let at = 0; at < stream.length; at += 100) socket.write(stream.subarray(at, at + 100));
          }
        },
      },
    });
    stopServer = () => listener.stop(true);
    return listener.port;
  }

  async function replay(scenario: string, watched: string): Promise<string[]> {
    const events = load(scenario);
    const port = replayServer(events);
    client = new EslClient({ host: "127.0.0.1", port, password: "ClueCon", log: rootLogger.child("esl-fixtures") });
    const control = new EslMediaControl(client, rootLogger.child("esl-fixtures"));
    const calls: string[] = [];
    control.watch(watched, {
      onDtmf: (digit) => calls.push(`dtmf ${digit}`),
      onPlay: (file) => calls.push(`play ${file}`),
      onHangup: () => calls.push("hangup"),
      onControlUp: () => {},
    });
    client.start();
    const deadline = performance.now() + 5000;
    while (calls.at(-1) !== "hangup" && performance.now() < deadline) await Bun.sleep(5);
    control.close();
    return calls;
  }

  test("h_dtmf: the B leg gets 1 2 3 4 # 9 then its hang-up, and nothing of the A leg", async () => {
    expect(await replay("h_dtmf", "e675c5bd-ac54-4b02-b732-9f498c5fb384")).toEqual([
      "dtmf 1", "dtmf 2", "dtmf 3", "dtmf 4", "dtmf #", "dtmf 9", "hangup",
    ]);
  });

  test("c_play_community: the B leg gets the temp file to broadcast, then its hang-up", async () => {
    const b = "2fe316b7-4c67-408e-8c00-5a882e8264c4";
    expect(await replay("c_play_community", b)).toEqual([`play $FS_WORK/tmp/${b}_0.tmp.r16`, "hangup"]);
  });
});
