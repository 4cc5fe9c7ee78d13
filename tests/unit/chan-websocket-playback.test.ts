/**
 * The bot's audio as chan_websocket needs it: whole `optimal_frame_size` messages only (Asterisk
 * drops a remainder), one frame of preroll per talk spurt, short pauses kept, nothing sent once
 * quiet or under MEDIA_XOFF, FLUSH_MEDIA only when something may still be queued.
 */
import { describe, expect, test } from "bun:test";
import { parseEvent, type WsFormat } from "../../src/transports/chan-websocket-codec.ts";
import { ChanWebsocketPlayback, END_MARK } from "../../src/transports/chan-websocket-playback.ts";

function format(text: string): WsFormat {
  const e = parseEvent(text);
  if (e.kind !== "media-start") throw new Error("not MEDIA_START");
  return e.start.format;
}

const SLIN16 = format("MEDIA_START connection_id:c channel:x channel_id:1.1 format:slin16 optimal_frame_size:640 ptime:20");

function player(size = 640, json = false): { p: ChanWebsocketPlayback; sent: (string | number)[]; dropped: () => number } {
  const sent: (string | number)[] = [];
  let dropped = 0;
  const p = new ChanWebsocketPlayback(SLIN16, size, json, { send: (d) => (sent.push(typeof d === "string" ? d : d.length), true), dropped: () => dropped++ }, 20);
  return { p, sent, dropped: () => dropped };
}

const voice = (): Int16Array => new Int16Array(320).fill(1000);
const quiet = (): Int16Array => new Int16Array(320);

describe("ChanWebsocketPlayback", () => {
  test("a talk spurt: one frame of preroll with the first, then one frame per tick; short pauses kept, long ones not sent", () => {
    const { p, sent } = player();
    p.push(voice());
    p.push(voice());
    for (let i = 0; i < 3; i++) p.push(quiet());
    p.push(voice());
    expect(sent).toEqual([1280, 640, 640, 640, 640, 640]);
    // Up to three quiet frames still go (a pause between words), then nothing.
    for (let i = 0; i < 10; i++) p.push(quiet());
    expect(sent.length).toBe(9);
    p.push(voice());
    expect(sent.at(-1)).toBe(1280);
    expect(p.pendingMs()).toBeGreaterThan(0);
  });

  test("an optimal_frame_size that is not 20 ms of audio: whole frames only, the rest padded with silence at the spurt's end", () => {
    const { p, sent } = player(960);
    for (let i = 0; i < 5; i++) p.push(voice());
    // preroll 640 + 5 × 640 = 3840 bytes = 4 frames of 960; sent as they fill.
    expect(sent.every((n) => typeof n === "number" && n % 960 === 0)).toBe(true);
    const total = (): number => sent.reduce<number>((a, n) => a + (typeof n === "number" ? n : 0), 0);
    expect(total()).toBe(3840);
    p.push(voice());
    for (let i = 0; i < 4; i++) p.push(quiet());
    expect(total() % 960).toBe(0);
    expect(total()).toBeGreaterThanOrEqual(3840 + 640 + 3 * 640);
  });

  test("MEDIA_XOFF: frames dropped and counted until MEDIA_XON", () => {
    const { p, sent, dropped } = player();
    p.onXoff();
    for (let i = 0; i < 4; i++) p.push(voice());
    expect(sent).toEqual([]);
    expect(dropped()).toBe(4);
    p.onXon();
    p.push(voice());
    expect(sent).toEqual([1280]);
  });

  test("FLUSH_MEDIA only when audio may be queued; the end mark in the call's format", () => {
    const plain = player();
    expect(plain.p.flush()).toBe(true);
    expect(plain.sent).toEqual([]);
    plain.p.push(voice());
    plain.p.flush();
    expect(plain.sent).toEqual([1280, "FLUSH_MEDIA"]);
    expect(plain.p.hasPlayed).toBe(false);
    expect(plain.p.pendingMs()).toBe(0);
    const json = player(640, true);
    json.p.push(voice());
    json.p.markEnd();
    expect(json.sent).toEqual([1280, `{"command":"MARK_MEDIA","correlation_id":"${END_MARK}"}`]);
  });
});
