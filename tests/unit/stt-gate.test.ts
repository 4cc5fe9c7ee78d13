import { describe, expect, test } from "bun:test";
import { SttGate } from "../../src/call/stt-gate.ts";

const RATE = 8000;
const frame = (value: number): Int16Array => new Int16Array(160).fill(value);

describe("SttGate: what of the caller's audio reaches the recognizer", () => {
  test("everything while the bot is quiet", () => {
    const gate = new SttGate(RATE);
    const sent: number[] = [];
    for (let i = 0; i < 10; i++) gate.push(frame(i), false, false, (pcm) => sent.push(pcm.length));
    expect(sent).toEqual(new Array(10).fill(160));
  });

  test("nothing under the bot's voice, then the last 300 ms and the caller's speech when they talk over it", () => {
    const gate = new SttGate(RATE);
    const sent: Int16Array[] = [];
    const send = (pcm: Int16Array): void => void sent.push(pcm.slice());
    for (let i = 1; i <= 40; i++) gate.push(frame(i), true, false, send);
    expect(sent).toHaveLength(0);
    gate.push(frame(99), true, true, send);
    expect(sent).toHaveLength(2);
    // The 15 frames before the onset, oldest first, in one message; then the loud frame.
    expect(sent[0]?.length).toBe(15 * 160);
    expect(sent[0]?.[0]).toBe(26);
    expect(sent[0]?.[15 * 160 - 1]).toBe(40);
    expect(sent[1]?.[0]).toBe(99);
  });

  test("keeps sending for a second after the caller's last loud frame, so endpointing hears the silence", () => {
    const gate = new SttGate(RATE);
    let sent = 0;
    const send = (): void => void sent++;
    gate.push(frame(1), true, true, send);
    for (let i = 0; i < 60; i++) gate.push(frame(0), true, false, send);
    expect(sent).toBe(1 + 49);
  });

  test("asks for a KeepAlive after 4 s of holding back, then again 4 s later", () => {
    const gate = new SttGate(RATE);
    const asks: number[] = [];
    for (let i = 1; i <= 450; i++) {
      gate.push(frame(0), true, false, () => undefined);
      if (gate.needsKeepAlive()) asks.push(i);
    }
    expect(asks).toEqual([200, 400]);
  });
});
