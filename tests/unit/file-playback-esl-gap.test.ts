/**
 * File mode across an ESL gap: the bot's chunks wait while ESL is down (a `::play` fired then is
 * lost for good), go in order when it is back, are dropped when no longer wanted (barge-in, end of
 * call), and past the wait limit the call is told why it cannot be heard.
 */
import { describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { rootLogger } from "../../src/log.ts";
import { AudioStreamConnection, type StreamSocket } from "../../src/transports/audiostream-connection.ts";
import { createPlayback, type PlaybackSender } from "../../src/transports/audiostream-playback.ts";
import type { ChannelListener, FreeswitchMediaControl } from "../../src/transports/freeswitch-control.ts";
import { newTransportStats, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";

const lines = captureLogLines();
const logged = (text: string): string[] => lines.filter((line) => line.includes(text));
const RATE = 16000;
const FRAME = RATE / 50;

/** An ESL stand-in whose connection the test switches; records the commands it was asked for. */
class SwitchableControl implements FreeswitchMediaControl {
  connected = false;
  readonly calls: string[] = [];
  readonly listeners = new Map<string, ChannelListener>();
  watch(uuid: string, listener: ChannelListener): () => void {
    this.listeners.set(uuid, listener);
    return () => this.listeners.delete(uuid);
  }
  broadcast = (uuid: string, file: string): number => this.calls.push(`broadcast ${uuid} ${file}`);
  breakPlayback = (uuid: string): number => this.calls.push(`break ${uuid}`);
  hangup = (uuid: string): number => this.calls.push(`hangup ${uuid}`);
  /** ESL comes back: what EslMediaControl does for every watched channel. */
  up(): void {
    this.connected = true;
    for (const listener of this.listeners.values()) listener.onControlUp();
  }
}

interface Setup {
  playback: PlaybackSender;
  control: SwitchableControl;
  stats: TransportStats;
  /** The `streamAudio` messages sent, as the 1 000 Hz tag of each chunk's tone. */
  sent: number[];
  unplayable: string[];
}

function setup(options: { connected?: boolean; limitMs?: number } = {}): Setup {
  const control = new SwitchableControl();
  control.connected = options.connected ?? false;
  const stats = newTransportStats();
  const sent: number[] = [];
  const unplayable: string[] = [];
  const playback = createPlayback("file", {
    callId: "c1", sampleRate: RATE, control, log: rootLogger.child("audiostream", { call: "c1" }), stats,
    eslWaitLimitMs: options.limitMs ?? 60_000,
    sendText: (text) => sent.push(tagOf(text)) > 0,
    onUnplayable: (detail) => unplayable.push(detail),
  });
  return { playback, control, stats, sent, unplayable };
}

/** One chunk: 300 ms of a level that names it, then a quiet frame (the bot stops talking). */
function say(to: PlaybackSender | AudioStreamConnection, tag: number): void {
  const push = (frame: Int16Array): boolean => ("push" in to ? to.push(frame) : to.sendAudio(frame));
  const frame = new Int16Array(FRAME).fill(tag * 100);
  for (let i = 0; i < 15; i++) push(frame);
  push(new Int16Array(FRAME));
}

/** The level `say` gave the chunk, read back from the wav in the message. */
function tagOf(message: string): number {
  const { data } = JSON.parse(message) as { data: { audioData: string } };
  const bytes = Buffer.from(data.audioData, "base64");
  return bytes.readInt16LE(44) / 100;
}

describe("file playback while ESL is down", () => {
  test("chunks wait, in order, and go when ESL is back; each ::play then plays its file", () => {
    const s = setup();
    say(s.playback, 1);
    say(s.playback, 2);
    expect(s.sent).toEqual([]);
    expect(s.stats.playbackDeferred).toBe(2);
    // What waits will still play: a hang-up or transfer waits for it.
    expect(s.playback.pendingMs()).toBeGreaterThanOrEqual(600);
    s.control.up();
    s.playback.onControlUp();
    expect(s.sent).toEqual([1, 2]);
    say(s.playback, 3);
    expect(s.sent).toEqual([1, 2, 3]);
    for (const n of [0, 1, 2]) s.playback.onPlay(`/tmp/c1_${n}.tmp.wav`);
    expect(s.control.calls).toEqual(["broadcast c1 /tmp/c1_0.tmp.wav", "broadcast c1 /tmp/c1_1.tmp.wav", "broadcast c1 /tmp/c1_2.tmp.wav"]);
    expect(s.stats).toMatchObject({ playbackDeferred: 2, playbackDropped: 0 });
    expect(logged("ESL is down: the bot's audio waits")).toHaveLength(1);
    expect(logged("ESL is back")).toHaveLength(1);
    expect(logged("ESL is back")[0]).toContain("call=c1");
    expect(logged("ESL is back")[0]).toContain("chunks=2");
  });

  test("one log line per gap, however many chunks wait", () => {
    const s = setup();
    for (let n = 1; n <= 5; n++) say(s.playback, n);
    s.control.up();
    s.playback.onControlUp();
    s.control.connected = false;
    say(s.playback, 6);
    say(s.playback, 7);
    s.control.up();
    s.playback.onControlUp();
    expect(logged("ESL is down: the bot's audio waits")).toHaveLength(2);
    expect(s.sent.slice(-2)).toEqual([6, 7]);
  });

  test("a barge-in while chunks wait drops them: nothing plays when ESL is back, and nothing counts as lost", () => {
    const s = setup();
    say(s.playback, 1);
    s.playback.flush();
    s.control.up();
    s.playback.onControlUp();
    expect(s.sent).toEqual([]);
    expect(s.playback.pendingMs()).toBe(0);
    say(s.playback, 2);
    expect(s.sent).toEqual([2]);
    expect(s.stats).toMatchObject({ playbackDeferred: 1, playbackDropped: 0 });
  });

  test("chunks sent before the loss whose ::play never came are sent again, ahead of those that waited; those cut by a barge-in are not", () => {
    const s = setup({ connected: true });
    say(s.playback, 1);
    say(s.playback, 2);
    s.playback.flush();
    say(s.playback, 3);
    expect(s.sent).toEqual([1, 2, 3]);
    // ESL drops: the ::play of chunk 3 fired into the lost connection.
    s.control.connected = false;
    say(s.playback, 4);
    s.control.up();
    s.playback.onControlUp();
    expect(s.sent).toEqual([1, 2, 3, 3, 4]);
    s.playback.onPlay("/tmp/c1_3.tmp.wav");
    s.playback.onPlay("/tmp/c1_4.tmp.wav");
    expect(s.control.calls).toEqual(["break c1", "broadcast c1 /tmp/c1_3.tmp.wav", "broadcast c1 /tmp/c1_4.tmp.wav"]);
    expect(s.stats.playbackDeferred).toBe(2);
  });

  test("ESL back before the call heard of it: the next chunk sends what waited first", () => {
    const s = setup();
    say(s.playback, 1);
    s.control.connected = true;
    say(s.playback, 2);
    expect(s.sent).toEqual([1, 2]);
  });

  test("ESL still down at the limit: the chunks are dropped, counted, and the call is told why, once", async () => {
    const s = setup({ limitMs: 20 });
    say(s.playback, 1);
    say(s.playback, 2);
    await waitFor("the wait limit", () => s.unplayable.length > 0);
    expect(s.unplayable).toHaveLength(1);
    expect(s.unplayable[0]).toContain("ESL to FreeSWITCH stayed down for 20 ms");
    expect(s.stats).toMatchObject({ playbackDeferred: 2, playbackDropped: 2 });
    s.control.up();
    s.playback.onControlUp();
    expect(s.sent).toEqual([]);
    await Bun.sleep(40);
    expect(s.unplayable).toHaveLength(1);
  });

  test("the call ends while chunks wait: they count as dropped, and the limit never fires", async () => {
    const s = setup({ limitMs: 20 });
    say(s.playback, 1);
    s.playback.close();
    await Bun.sleep(60);
    expect(s.unplayable).toEqual([]);
    expect(s.stats).toMatchObject({ playbackDeferred: 1, playbackDropped: 1 });
  });

  test("without ESL configured nothing waits: chunks go out as before", () => {
    const stats = newTransportStats();
    const sent: number[] = [];
    const playback = createPlayback("file", {
      callId: "c1", sampleRate: RATE, control: null, log: rootLogger, stats,
      sendText: (text) => sent.push(tagOf(text)) > 0, onUnplayable: () => {},
    });
    say(playback, 1);
    expect(sent).toEqual([1]);
    expect(stats.playbackDeferred).toBe(0);
  });
});

describe("a mod_audio_stream call whose ESL stays down", () => {
  test("ends as a write-error naming the cause, its stream closed, with a log line naming the call", async () => {
    const control = new SwitchableControl();
    const closes: { reason: LegCloseReason; detail: string | undefined }[] = [];
    const socket: StreamSocket & { closed: number | null } = {
      closed: null, readyState: 1, send: (text) => text.length, getBufferedAmount: () => 0,
      close(code) {
        this.closed = code ?? 1000;
      },
    };
    const connection = new AudioStreamConnection(socket, "127.0.0.1:5000", { tenantId: null, callId: "c9", token: null, rate: null, mix: null }, RATE, "mono", {
      log: rootLogger, stats: newTransportStats(), playback: "file", control, resolveTenant: () => "default", firstMessageTimeoutMs: 5000,
      onGone: () => {}, eslWaitLimitMs: 20,
      admit: () => ({ onAudio() {}, onDtmf() {}, onRateChange() {}, onClose: (reason, detail) => closes.push({ reason, detail }) }),
    });
    connection.onMessage("{}");
    say(connection, 1);
    await waitFor("the call to end", () => closes.length > 0);
    expect(closes).toEqual([{ reason: "write-error", detail: expect.stringContaining("ESL to FreeSWITCH stayed down") }]);
    expect(socket.closed).toBe(1011);
    expect(logged("ending the call").filter((line) => line.includes("call=c9"))).toHaveLength(1);
  });
});
