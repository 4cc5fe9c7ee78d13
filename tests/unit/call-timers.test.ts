import { describe, expect, test } from "bun:test";
import { CallerActivity } from "../../src/call/caller-activity.ts";
import { SilenceTimers } from "../../src/call/silence-timers.ts";
import { phraseKeys } from "../../src/call/speech.ts";

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(5);
}

describe("SilenceTimers", () => {
  test("warning, then the rest of the hang-up timeout once the warning was spoken", async () => {
    const events: string[] = [];
    const timers = new SilenceTimers(20, 50, () => events.push("warning"), () => events.push("timeout"));
    timers.arm();
    await until(() => events.length === 1);
    expect(events).toEqual(["warning"]);
    timers.arm();
    await until(() => events.length === 2);
    expect(events).toEqual(["warning", "timeout"]);
  });

  test("paused while the bot speaks, started over by caller activity", async () => {
    const events: string[] = [];
    const timers = new SilenceTimers(30, 60, () => events.push("warning"), () => events.push("timeout"));
    timers.arm();
    timers.pause();
    await Bun.sleep(60);
    expect(events).toEqual([]);
    timers.arm();
    await until(() => events.length === 1);
    timers.reset();
    timers.arm();
    await until(() => events.length === 2);
    expect(events).toEqual(["warning", "warning"]);
    timers.stop();
  });

  test("patience delays the warning after a prompt that asks the caller to do something", async () => {
    const events: string[] = [];
    const timers = new SilenceTimers(10, 40, () => events.push("warning"), () => events.push("timeout"));
    timers.arm(80);
    await Bun.sleep(40);
    expect(events).toEqual([]);
    await until(() => events.length === 1);
    expect(events).toEqual(["warning"]);
    timers.stop();
  });
});

describe("CallerActivity", () => {
  const frame = (amplitude: number) => new Int16Array(160).map((_, i) => (i % 2 ? amplitude : -amplitude));

  test("speech needs 200 ms above the threshold; 800 ms of quiet ends it", () => {
    const a = new CallerActivity(8000);
    const changes: (string | null)[] = [];
    for (let i = 0; i < 10; i++) changes.push(a.push(frame(3000)));
    expect(changes.filter(Boolean)).toEqual(["speech-start"]);
    expect(changes.indexOf("speech-start")).toBe(9);
    const quiet: (string | null)[] = [];
    for (let i = 0; i < 40; i++) quiet.push(a.push(frame(10)));
    expect(quiet.filter(Boolean)).toEqual(["speech-end"]);
  });

  test("line noise and short clicks are not speech", () => {
    const a = new CallerActivity(8000);
    for (let i = 0; i < 100; i++) expect(a.push(frame(100))).toBeNull();
    for (let r = 0; r < 20; r++) {
      for (let i = 0; i < 5; i++) expect(a.push(frame(5000))).toBeNull();
      for (let i = 0; i < 10; i++) expect(a.push(frame(0))).toBeNull();
    }
  });
});

test("speech parts become phrase keys, digits read one by one", () => {
  expect(phraseKeys([{ phrase: "ticketNumberIs" }, { digits: "42#" }, { phrase: "goodbye" }])).toEqual([
    "ticketNumberIs", "digit4", "digit2", "digitHash", "goodbye",
  ]);
});
