/**
 * The simulated Asterisk's media queue reproduces what the captures observed
 * (fixtures/chan_websocket README, "Observed").
 */
import { describe, expect, test } from "bun:test";
import { AsteriskMediaQueue } from "../../src/simulate/chan-websocket-queue.ts";

const F = 640;

function queue(): { q: AsteriskMediaQueue; events: string[] } {
  const events: string[] = [];
  const q = new AsteriskMediaQueue(F, (event, id) => events.push(id === undefined ? event : `${event} ${id}`));
  return { q, events };
}

function drain(q: AsteriskMediaQueue, ticks: number): number {
  let played = 0;
  for (let i = 0; i < ticks; i++) if (q.next() !== null) played++;
  return played;
}

describe("Asterisk's chan_websocket queue", () => {
  test("s1 segments B and D: the remainder of each message is dropped; multiples of F are whole frames", () => {
    const { q } = queue();
    q.push(new Uint8Array(F / 2));
    q.push(new Uint8Array(1000));
    q.push(new Uint8Array(2 * F));
    expect(q.length).toBe(3);
    expect(q.figures.remainderBytes).toBe(F / 2 + 360);
    expect(drain(q, 10)).toBe(3);
  });

  test("s2b: MEDIA_XOFF as frame 900 is queued, frames beyond 1000 lost, MEDIA_XON once below 800", () => {
    const { q, events } = queue();
    for (let i = 0; i < 1100; i++) q.push(new Uint8Array(F));
    expect(events).toEqual(["MEDIA_XOFF"]);
    expect(q.length).toBe(1000);
    expect(q.queueFull).toBe(true);
    expect(q.figures.framesDropped).toBe(100);
    expect(drain(q, 200)).toBe(200);
    expect(events).toEqual(["MEDIA_XOFF"]);
    drain(q, 2);
    expect(events).toEqual(["MEDIA_XOFF", "MEDIA_XON"]);
    expect(q.length).toBe(798);
  });

  test("s3a/s3b: a mark is reported when playout reaches it; FLUSH_MEDIA empties the queue and drops its marks", () => {
    const { q, events } = queue();
    for (let i = 0; i < 3; i++) q.push(new Uint8Array(F));
    q.mark("m1");
    q.push(new Uint8Array(F));
    q.mark("m2");
    q.reportDrained();
    drain(q, 3);
    expect(events).toEqual([]);
    q.next();
    expect(events).toEqual(["MEDIA_MARK_PROCESSED m1"]);
    q.next();
    expect(events).toEqual(["MEDIA_MARK_PROCESSED m1", "MEDIA_MARK_PROCESSED m2", "QUEUE_DRAINED"]);
    q.next();
    expect(events.length).toBe(3);
    for (let i = 0; i < 100; i++) q.push(new Uint8Array(F));
    q.mark("end_of_burst");
    expect(q.flush()).toBe(true);
    expect(q.next()).toBeNull();
    expect(drain(q, 200)).toBe(0);
    expect(events.length).toBe(3);
  });

  test("s3c: PAUSE_MEDIA holds playout without losing audio", () => {
    const { q } = queue();
    for (let i = 0; i < 5; i++) q.push(new Uint8Array(F).fill(i + 1));
    q.next();
    q.setPaused(true);
    expect(drain(q, 10)).toBe(0);
    q.setPaused(false);
    expect(q.next()?.[0]).toBe(2);
    expect(drain(q, 10)).toBe(3);
  });
});
