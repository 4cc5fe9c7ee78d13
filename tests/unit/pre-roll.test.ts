/**
 * A greeting begun before the call's session is built: it plays from the caller's first audio on
 * the shared clock, the session takes over its playout and clock slot, and the dialog's first
 * `say` adopts it rather than starting it again.
 */
import { describe, expect, test } from "bun:test";
import { AdmissionQueue, type Scheduler } from "../../src/call/admission-queue.ts";
import { newCallMetrics } from "../../src/call/metrics.ts";
import { PendingCall, type GreetingDeps } from "../../src/call/pending-call.ts";
import { PreRoll } from "../../src/call/pre-roll.ts";
import type { CallClockTarget } from "../../src/call/session-deps.ts";
import type { CallSession } from "../../src/call/session.ts";
import { PlayoutClock } from "../../src/media/playout-clock.ts";
import type { Utterance } from "../../src/media/playout.ts";
import type { CallLeg } from "../../src/transports/types.ts";

const RATE = 8000;
const FRAME = 160;

class Loop implements Scheduler {
  private turns: (() => void)[] = [];
  later(fn: () => void): void {
    this.turns.push(fn);
  }
  whenRoom(fn: () => void): void {
    this.turns.push(fn);
  }
  now(): number {
    return 0;
  }
  roomMs(): number {
    return Infinity;
  }
  runAll(): void {
    for (let next = this.turns.shift(); next; next = this.turns.shift()) next();
  }
}

/** A leg that keeps the frames it is given. */
function recordingLeg(): CallLeg & { sent: Int16Array[] } {
  const sent: Int16Array[] = [];
  return { sampleRate: RATE, sent, sendAudio: (f: Int16Array) => {
    sent.push(f.slice());
    return true;
  }, hangup: () => undefined } as unknown as CallLeg & { sent: Int16Array[] };
}

/** A clock whose calls are logged; it never ticks by itself. */
function loggedClock(log: string[]): GreetingDeps["clock"] {
  return {
    add: () => log.push("add"),
    remove: () => log.push("remove"),
    replace: () => log.push("replace"),
  } as unknown as GreetingDeps["clock"];
}

const greetingAudio = (): Int16Array[] => [new Int16Array(FRAME * 3).fill(1000)];

function spoken(log: string[]): Utterance {
  return { id: 7, keys: ["welcome"], segments: [], interruptible: true, onStart: () => log.push("onStart"), onEnd: (cut) => log.push(`onEnd ${cut}`) };
}

describe("the greeting before the session", () => {
  test("plays from the caller's first audio; the session, built later, gets it and its clock slot", () => {
    const log: string[] = [];
    const leg = recordingLeg();
    const loop = new Loop();
    const built: (PreRoll | null)[] = [];
    const pending = new PendingCall(leg, (preRoll) => {
      built.push(preRoll);
      return { begin: () => log.push("begin") } as unknown as CallSession;
    }, new AdmissionQueue({ budgetMs: 4, urgentBudgetMs: 12, urgentAfterMs: 60 }, () => undefined, loop), () => undefined, {
      clock: loggedClock(log), metrics: newCallMetrics(), opening: () => ({ keys: ["welcome"], audio: greetingAudio() }),
    });
    pending.onAudio(new Int16Array(FRAME));
    expect(log).toEqual(["add"]);
    pending.onTick();
    pending.onTick();
    expect(leg.sent.map((f) => f[0])).toEqual([1000, 1000]);
    loop.runAll();
    expect(built).toHaveLength(1);
    expect(built[0]?.clockTarget).toBe(pending);
    expect(log).toEqual(["add", "begin"]);
  });

  test("a leg that closes, or changes rate, before its session stops the greeting (the session says it again at the new rate)", () => {
    for (const end of ["close", "rate"] as const) {
      const log: string[] = [];
      const built: (PreRoll | null)[] = [];
      const pending = new PendingCall(recordingLeg(), (preRoll) => {
        built.push(preRoll);
        return { begin: () => undefined, onClose: () => undefined, onRateChange: () => undefined } as unknown as CallSession;
      }, new AdmissionQueue({ budgetMs: 4, urgentBudgetMs: 12, urgentAfterMs: 60 }, () => undefined, new Loop()), () => undefined, {
        clock: loggedClock(log), metrics: newCallMetrics(), opening: () => ({ keys: ["welcome"], audio: greetingAudio() }),
      });
      pending.onAudio(new Int16Array(FRAME));
      if (end === "close") pending.onClose("caller-hangup");
      else pending.onRateChange(16000);
      expect(log).toEqual(["add", "remove"]);
    }
  });

  test("no greeting when the phrase cache does not have it at the call's rate", () => {
    const log: string[] = [];
    const pending = new PendingCall(recordingLeg(), () => ({}) as CallSession, new AdmissionQueue({ budgetMs: 4, urgentBudgetMs: 12, urgentAfterMs: 60 }, () => undefined, new Loop()), () => undefined, {
      clock: loggedClock(log), metrics: newCallMetrics(), opening: () => null,
    });
    pending.onAudio(new Int16Array(FRAME));
    expect(log).toEqual([]);
  });
});

describe("PreRoll.adopt", () => {
  const target = {} as CallClockTarget;

  test("the dialog's opening is adopted once: started → its onStart now; played out → onStart and onEnd(false) at once", () => {
    const playing = new PreRoll(RATE, { keys: ["welcome"], audio: greetingAudio() }, target);
    playing.playout.nextFrame();
    const log: string[] = [];
    expect(playing.adopt(["welcome"], spoken(log))).toBe(true);
    expect(log).toEqual(["onStart"]);
    expect(playing.adopt(["welcome"], spoken(log))).toBe(false);
    for (let i = 0; i < 4; i++) playing.playout.nextFrame();
    expect(log).toEqual(["onStart", "onEnd false"]);

    const over = new PreRoll(RATE, { keys: ["welcome"], audio: greetingAudio() }, target);
    for (let i = 0; i < 5; i++) over.playout.nextFrame();
    const late: string[] = [];
    expect(over.adopt(["welcome"], spoken(late))).toBe(true);
    expect(late).toEqual(["onStart", "onEnd false"]);
  });

  test("other words are not the opening: the session plays them as usual", () => {
    const preRoll = new PreRoll(RATE, { keys: ["welcome", "problemMenu"], audio: greetingAudio() }, target);
    expect(preRoll.adopt(["welcome"], spoken([]))).toBe(false);
  });
});

describe("PlayoutClock.replace", () => {
  test("the new target ticks in the old one's phase, the old one no more", async () => {
    const ticks: string[] = [];
    const clock = new PlayoutClock<CallClockTarget>(() => undefined);
    const mk = (name: string): CallClockTarget => ({ onTick: () => ticks.push(name), hangupNow: () => undefined });
    const [a, b, c] = [mk("a"), mk("b"), mk("c")];
    clock.add(a);
    clock.add(b);
    await Bun.sleep(45);
    clock.replace(a, c);
    ticks.length = 0;
    await Bun.sleep(60);
    clock.stop();
    expect(ticks).toContain("c");
    expect(ticks).not.toContain("a");
    expect(ticks.filter((t) => t === "c").length).toBeGreaterThanOrEqual(2);
    // One tick each per period: c has a's slot, not one of its own beside it.
    expect(Math.abs(ticks.filter((t) => t === "c").length - ticks.filter((t) => t === "b").length)).toBeLessThanOrEqual(1);
  });
});
