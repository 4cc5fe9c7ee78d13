import { describe, expect, test } from "bun:test";
import { TurnTimer } from "../../src/simulate/turn-timer.ts";

/** Feeds a timeline of 20 ms frames: the caller's and the bot's, on made-up clocks. */
function botFrames(t: TurnTimer, fromMs: number, toMs: number, speech: boolean): void {
  for (let at = fromMs; at < toMs; at += 20) t.botFrame(speech, speech, at, 20);
}

describe("TurnTimer", () => {
  test("response time runs from the caller's last loud frame to the bot's first speech frame", () => {
    const t = new TurnTimer();
    botFrames(t, 0, 2000, false);
    t.callerStarts(false);
    for (let at = 2000; at < 3000; at += 20) t.callerFrame(at < 2800, at);
    t.callerEnds(3000);
    botFrames(t, 3000, 3340, false);
    botFrames(t, 3340, 4000, true);
    expect(t.responseMs).toEqual([3340 - 2780]);
  });

  test("barge-in stop runs from the caller's onset to the end of the bot's last speech frame", () => {
    const t = new TurnTimer();
    botFrames(t, 0, 1200, true);
    expect(t.botSpeakingForMs(1200)).toBe(1200);
    t.callerStarts(true);
    t.callerFrame(false, 1200);
    for (let at = 1220; at < 2000; at += 20) t.callerFrame(true, at);
    botFrames(t, 1200, 1460, true);
    botFrames(t, 1460, 2000, false);
    t.callerEnds(2000);
    expect(t.bargeInStopMs).toEqual([1460 - 1220]);
    expect(t.botSpeakingForMs(2000)).toBe(0);
  });

  test("the bot has stopped only when nothing at all is heard, not in a quiet syllable", () => {
    const t = new TurnTimer();
    botFrames(t, 0, 1200, true);
    t.callerStarts(true);
    for (let at = 1200; at < 2000; at += 20) t.callerFrame(true, at);
    for (let at = 1200; at < 1300; at += 20) t.botFrame(false, true, at, 20);
    botFrames(t, 1300, 2000, false);
    expect(t.bargeInStopMs).toEqual([1300 - 1200]);
  });

  test("a bot still talking when the caller ends is no answer to measure", () => {
    const t = new TurnTimer();
    botFrames(t, 0, 1000, true);
    t.callerStarts(false);
    t.callerFrame(true, 900);
    t.callerEnds(1000);
    botFrames(t, 1000, 1500, true);
    expect(t.responseMs).toEqual([]);
  });

  test("the longest silence the caller did not cause: waits after speech and keys, pauses inside the bot's speech", () => {
    const t = new TurnTimer();
    botFrames(t, 0, 1000, true);
    // The bot pauses 700 ms on its own: counted.
    botFrames(t, 1000, 1700, false);
    botFrames(t, 1700, 2000, true);
    expect(t.longestSilenceMs(2000)).toBe(1700 - 980);
    // The caller takes 2 s to answer: theirs, not counted; then the bot answers 1.5 s after their last loud frame.
    botFrames(t, 2000, 4000, false);
    t.callerStarts(false);
    for (let at = 4000; at < 5000; at += 20) t.callerFrame(at < 4800, at);
    t.callerEnds(5000);
    botFrames(t, 5000, 6280, false);
    botFrames(t, 6280, 7000, true);
    expect(t.longestSilenceMs(7000)).toBe(6280 - 4780);
    // A key the bot never answers: the wait runs to the end of the call.
    botFrames(t, 7000, 8000, false);
    t.callerKey(8000);
    botFrames(t, 8000, 12000, false);
    expect(t.longestSilenceMs(12_000)).toBe(4000);
  });
});
