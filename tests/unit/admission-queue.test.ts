import { describe, expect, test } from "bun:test";
import { AdmissionQueue, clockScheduler, type PacingClock, type Scheduler } from "../../src/call/admission-queue.ts";
import { PendingCall, type GreetingDeps } from "../../src/call/pending-call.ts";
import type { CallSession } from "../../src/call/session.ts";
import type { CallLeg, LegCloseReason } from "../../src/transports/types.ts";

/** Turns of the event loop by hand, and a clock each job moves forward. */
class ManualLoop implements Scheduler {
  time = 0;
  /** When the playout clock's next slot is due; Infinity = no audio paced. */
  nextSlotAt = Infinity;
  private turns: (() => void)[] = [];
  later(fn: () => void): void {
    this.turns.push(fn);
  }
  whenRoom(fn: () => void): void {
    this.turns.push(fn);
  }
  now(): number {
    return this.time;
  }
  roomMs(): number {
    return this.nextSlotAt - this.time;
  }
  /** Runs one turn; false when nothing was scheduled. */
  turn(): boolean {
    const next = this.turns.shift();
    next?.();
    return next !== undefined;
  }
  get scheduled(): number {
    return this.turns.length;
  }
}

const BUDGET = { budgetMs: 2, urgentBudgetMs: 8, urgentAfterMs: 500 };

function queueWith(loop: ManualLoop, errors: unknown[] = []): AdmissionQueue {
  return new AdmissionQueue(BUDGET, (err) => errors.push(err), loop);
}

/** Queues `count` jobs of 0.5 ms each (job i starving as `starving(i)` says); `ran()` counts those run. */
function halfMsJobs(queue: AdmissionQueue, loop: ManualLoop, count: number, starving: (i: number) => (() => boolean) | null = () => null): { ran: () => number } {
  let ran = 0;
  for (let i = 0; i < count; i++) queue.enqueue(() => {
    ran++;
    loop.time += 0.5;
  }, starving(i));
  return { ran: () => ran };
}

describe("AdmissionQueue", () => {
  test("a storm is spread: each turn runs jobs until its budget is spent, in arrival order", () => {
    const loop = new ManualLoop();
    const queue = queueWith(loop);
    const ran: number[] = [];
    for (let i = 0; i < 10; i++) queue.enqueue(() => {
      ran.push(i);
      loop.time += 0.5;
    });
    expect(loop.scheduled).toBe(1);
    const perTurn: number[] = [];
    while (loop.turn()) perTurn.push(ran.length - perTurn.reduce((a, b) => a + b, 0));
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(perTurn).toEqual([4, 4, 2]);
    expect(queue.length).toBe(0);
    expect(queue.stats.jobs).toBe(10);
    expect(queue.stats.slices).toBe(3);
    expect(queue.stats.longestSliceMs).toBe(2);
  });

  test("a job longer than the budget still runs, alone in its turn", () => {
    const loop = new ManualLoop();
    const queue = queueWith(loop);
    const ran: string[] = [];
    queue.enqueue(() => {
      ran.push("slow");
      loop.time += 5;
    });
    queue.enqueue(() => ran.push("next"));
    loop.turn();
    expect(ran).toEqual(["slow"]);
    loop.turn();
    expect(ran).toEqual(["slow", "next"]);
    expect(loop.scheduled).toBe(0);
  });

  test("a cancelled job never runs nor counts as waiting; nothing is scheduled for an empty queue", () => {
    const loop = new ManualLoop();
    const queue = queueWith(loop);
    const ran: string[] = [];
    const a = queue.enqueue(() => ran.push("a"));
    queue.enqueue(() => ran.push("b"));
    expect(queue.length).toBe(2);
    a.cancel();
    a.cancel();
    expect(queue.length).toBe(1);
    while (loop.turn());
    expect(queue.length).toBe(0);
    expect(ran).toEqual(["b"]);
    expect(loop.scheduled).toBe(0);
  });

  test("a job that throws is reported and the others still run", () => {
    const loop = new ManualLoop();
    const errors: unknown[] = [];
    const queue = queueWith(loop, errors);
    const ran: string[] = [];
    queue.enqueue(() => {
      throw new Error("boom");
    });
    queue.enqueue(() => ran.push("after"));
    while (loop.turn());
    expect(errors.map(String)).toEqual(["Error: boom"]);
    expect(ran).toEqual(["after"]);
  });

  test("once the oldest job has waited past urgentAfterMs with its call sending nothing, turns get the larger budget", () => {
    const loop = new ManualLoop();
    const queue = queueWith(loop);
    const jobs = halfMsJobs(queue, loop, 40, () => () => true);
    loop.time += 600;
    // Urgent work does not yield to the clock: the PBX would hang up on a call that sends nothing.
    loop.nextSlotAt = loop.time + 1;
    loop.turn();
    expect(jobs.ran()).toBe(16);
  });

  test("a job whose call already sends audio (its greeting), a digit or an end never grows urgent", () => {
    const loop = new ManualLoop();
    const queue = queueWith(loop);
    let greeting = false;
    const jobs = halfMsJobs(queue, loop, 40, (i) => (i === 0 ? () => !greeting : null));
    greeting = true;
    loop.time += 600;
    loop.turn();
    expect(jobs.ran()).toBe(4);
  });

  test("while calls are paced, a slice stops short of the clock's next slot, but always runs one job", () => {
    const loop = new ManualLoop();
    const queue = queueWith(loop);
    const jobs = halfMsJobs(queue, loop, 10);
    loop.nextSlotAt = 1;
    loop.turn();
    expect(jobs.ran()).toBe(2);
    // Overdue: the clock comes first, but the queue still moves.
    loop.nextSlotAt = loop.time - 3;
    loop.turn();
    expect(jobs.ran()).toBe(3);
    loop.nextSlotAt = Infinity;
    while (loop.turn());
    expect(jobs.ran()).toBe(10);
  });

  test("on the playout clock, a backlog's slice runs on the next turn when there is room before the next slot, else after the clock's run; a first job at once", async () => {
    let untilSlot = 4;
    const afterRun: (() => void)[] = [];
    const clock: PacingClock = { afterRun: (fn) => afterRun.push(fn), msUntilNextSlot: () => untilSlot };
    const scheduler = clockScheduler(clock);
    expect(scheduler.roomMs()).toBe(3);
    const ran: string[] = [];
    scheduler.whenRoom(() => ran.push("roomy"));
    untilSlot = 2;
    scheduler.whenRoom(() => ran.push("tight"));
    scheduler.later(() => ran.push("first job"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(["roomy", "first job"]);
    expect(afterRun).toHaveLength(1);
    afterRun[0]?.();
    expect(ran).toEqual(["roomy", "first job", "tight"]);
  });

  test("budgets above one frame period are refused", () => {
    expect(() => new AdmissionQueue({ ...BUDGET, urgentBudgetMs: 25 }, () => undefined)).toThrow("at most one frame period");
  });
});

/** What PendingCall forwards to, recorded. */
function fakeSession(events: string[]): CallSession {
  return {
    begin: () => events.push("start"),
    onAudio: () => events.push("audio"),
    onDtmf: (d: string) => events.push(`dtmf ${d}`),
    onRateChange: (r: number) => events.push(`rate ${r}`),
    onPlayedAudio: () => events.push("played"),
    onClose: (reason: LegCloseReason) => events.push(`close ${reason}`),
  } as unknown as CallSession;
}

const leg = { hangup: () => undefined } as unknown as CallLeg;

/** No greeting before the session (the phrase cache does not have it): the session says it. */
const NO_GREETING = { opening: () => null } as unknown as GreetingDeps;

/** A pending call on a hand-turned loop; `events` logs its session's creation and calls. */
function pendingCall(): { loop: ManualLoop; events: string[]; pending: PendingCall } {
  const loop = new ManualLoop();
  const events: string[] = [];
  const pending = new PendingCall(leg, () => {
    events.push("create");
    return fakeSession(events);
  }, queueWith(loop), () => events.push("failed"), NO_GREETING);
  return { loop, events, pending };
}

describe("PendingCall", () => {
  test("audio before the start is not kept; digits reach the session in order, through the queue", () => {
    const { loop, events, pending } = pendingCall();
    pending.onAudio(new Int16Array(160));
    pending.onRateChange(16000);
    pending.onDtmf("1");
    pending.onDtmf("#");
    expect(events).toEqual([]);
    loop.turn();
    pending.onAudio(new Int16Array(160));
    pending.onDtmf("2");
    expect(events).toEqual(["create", "start", "dtmf 1", "dtmf #", "audio"]);
    loop.turn();
    expect(events).toEqual(["create", "start", "dtmf 1", "dtmf #", "audio", "dtmf 2"]);
  });

  test("a started call hears of its leg's close in a later slice, once", () => {
    const loop = new ManualLoop();
    const queue = queueWith(loop);
    const events: string[] = [];
    const pending = new PendingCall(leg, () => fakeSession(events), queue, () => events.push("failed"), NO_GREETING);
    pending.onAudio(new Int16Array(160));
    loop.turn();
    pending.onClose("caller-hangup");
    pending.onClose("shutdown");
    expect(events).toEqual(["start"]);
    while (loop.turn());
    expect(events).toEqual(["start", "close caller-hangup"]);
  });

  test("a call whose audio has not come yet is built in its slice but begins only later (a UUID then junk never reaches the dialog)", () => {
    const { loop, events, pending } = pendingCall();
    while (loop.turn());
    expect(events).toEqual(["create"]);
    pending.onAudio(new Int16Array(160));
    expect(events).toEqual(["create", "audio"]);
  });

  test("a leg that closes before its turn gets its session, closed, never started", () => {
    const { loop, events, pending } = pendingCall();
    pending.onClose("protocol-error");
    while (loop.turn());
    expect(events).toEqual(["create", "close protocol-error"]);
  });

  test("a session that cannot be built ends the leg and reports the call gone", () => {
    const loop = new ManualLoop();
    const errors: unknown[] = [];
    const queue = queueWith(loop, errors);
    const events: string[] = [];
    const hungUp = { hangup: () => events.push("hangup") } as unknown as CallLeg;
    const pending = new PendingCall(hungUp, () => {
      throw new Error("disk full");
    }, queue, () => events.push("gone"), NO_GREETING);
    loop.turn();
    pending.onClose("server-hangup");
    expect(events).toEqual(["gone", "hangup"]);
    expect(errors.map(String)).toEqual(["Error: disk full"]);
  });
});
