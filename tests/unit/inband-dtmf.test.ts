/**
 * The call's in-band DTMF: when it listens (DTMF_INBAND auto/on, the leg's `dtmfEvents` changing
 * mid-call as ESL comes and goes), and one key press when a digit comes both from the wire and as
 * a tone. The setting itself is validated at start-up.
 */
import { describe, expect, test } from "bun:test";
import { DUPLICATE_MS, InbandDtmf } from "../../src/call/inband-dtmf.ts";
import { inFrames } from "../../src/cli/bench-dtmf-set.ts";
import { loadConfig } from "../../src/config/load.ts";
import { dtmfTone } from "../../src/media/dtmf-tones.ts";
import { configErrorOf } from "../support/config-error.ts";

const RATE = 8000;

function harness(mode: "auto" | "on", dtmfEvents: boolean) {
  const leg = { dtmfEvents, sampleRate: RATE };
  let clock = 1_000_000;
  const digits: string[] = [];
  const inband = new InbandDtmf(mode, leg, (d) => digits.push(d), () => clock);
  /** Plays audio in 20 ms frames, the clock moving with it. */
  const play = (audio: Int16Array): void => inFrames(audio, RATE, (frame) => {
    clock += 20;
    inband.push(frame);
  });
  const tone = (digit: string, ms = 100): void => play(dtmfTone(digit, RATE, ms, { levelDbm0: -12 }));
  const quiet = (ms: number): void => play(new Int16Array((RATE * ms) / 1000));
  const wait = (ms: number): void => {
    clock += ms;
  };
  return { leg, digits, inband, tone, quiet, wait };
}

describe("in-band DTMF in a call", () => {
  test("auto: listens only while the leg has no DTMF events, and starts clean when it resumes", () => {
    const h = harness("auto", true);
    h.tone("1");
    h.quiet(100);
    expect(h.digits).toEqual([]);
    h.leg.dtmfEvents = false; // ESL went down
    h.tone("2");
    h.quiet(100);
    h.leg.dtmfEvents = true;
    h.tone("3", 20); // the first 20 ms of a tone while ESL is up…
    h.leg.dtmfEvents = false;
    h.tone("3", 20); // …and the rest after it drops: not one whole tone to the detector
    h.quiet(100);
    h.tone("4");
    h.quiet(100);
    expect(h.digits).toEqual(["2", "4"]);
  });

  test("on: listens even where the wire has DTMF events; a digit from both ways counts once", () => {
    const h = harness("on", true);
    h.tone("5", 150);
    // AudioSocket sends the digit when the key is released: during the tone or just after it.
    expect(h.inband.fromWire("5")).toBe(false);
    h.quiet(100);
    expect(h.inband.fromWire("5")).toBe(false);
    h.wait(DUPLICATE_MS);
    expect(h.inband.fromWire("5")).toBe(true);
    expect(h.digits).toEqual(["5"]);
  });

  test("a wire digit first, then its tone within 200 ms: one; another digit or a later press: two", () => {
    const h = harness("on", true);
    expect(h.inband.fromWire("7")).toBe(true);
    h.tone("7");
    h.quiet(60);
    expect(h.digits).toEqual([]);
    h.tone("8");
    h.quiet(300);
    expect(h.inband.fromWire("9")).toBe(true);
    h.wait(DUPLICATE_MS + 1);
    h.tone("9");
    h.quiet(60);
    expect(h.digits).toEqual(["8", "9"]);
  });

  test("DTMF_INBAND is auto by default, and a bad value stops start-up naming it", () => {
    expect(loadConfig({}, {}).dtmfInband).toBe("auto");
    expect(loadConfig({}, { DTMF_INBAND: "OFF" }).dtmfInband).toBe("off");
    const error = configErrorOf(() => loadConfig({}, { VOICEBOT_DTMF_INBAND: "yes" }));
    expect(error.message).toBe('invalid configuration: VOICEBOT_DTMF_INBAND="yes" (environment): must be one of auto, on, off');
  });
});
