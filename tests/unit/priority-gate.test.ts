import { describe, expect, test } from "bun:test";
import { PriorityGate } from "../../src/media/priority-gate.ts";

/** A task the test finishes by hand. */
function held(): { promise: Promise<void>; release: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, release: resolve };
}

describe("PriorityGate", () => {
  test("at most `limit` at once; waiters start by priority, then arrival", async () => {
    const gate = new PriorityGate(1);
    const signal = new AbortController().signal;
    const started: string[] = [];
    const first = held();
    const runs = [
      gate.run(5, signal, async () => { started.push("a"); await first.promise; }),
      gate.run(3, signal, async () => { started.push("b"); }),
      gate.run(1, signal, async () => { started.push("c"); }),
      gate.run(3, signal, async () => { started.push("d"); }),
    ];
    await Bun.sleep(1);
    expect(started).toEqual(["a"]);
    expect(gate.active).toBe(1);
    first.release();
    await Promise.all(runs);
    expect(started).toEqual(["a", "c", "b", "d"]);
    expect(gate.active).toBe(0);
  });

  test("promote moves a named waiter ahead of all others; an unknown name is refused", async () => {
    const gate = new PriorityGate(1);
    const signal = new AbortController().signal;
    const started: string[] = [];
    const first = held();
    const runs = [
      gate.run(0, signal, async () => { started.push("busy"); await first.promise; }),
      gate.run(0, signal, async () => { started.push("greeting"); }, "greeting"),
      gate.run(9, signal, async () => { started.push("late"); }, "late"),
    ];
    expect(gate.promote("late")).toBe(true);
    expect(gate.promote("nobody")).toBe(false);
    first.release();
    await Promise.all(runs);
    expect(started).toEqual(["busy", "late", "greeting"]);
  });

  test("an abort while waiting rejects without running and passes the slot on", async () => {
    const gate = new PriorityGate(1);
    const first = held();
    const abort = new AbortController();
    const ran: string[] = [];
    const busy = gate.run(0, new AbortController().signal, () => first.promise);
    const cancelled = gate.run(0, abort.signal, async () => { ran.push("cancelled"); });
    const next = gate.run(1, new AbortController().signal, async () => { ran.push("next"); });
    abort.abort(new Error("stop"));
    first.release();
    await busy;
    await expect(cancelled).rejects.toThrow("stop");
    await next;
    expect(ran).toEqual(["next"]);
    expect(gate.active).toBe(0);
  });

  test("a limit below 1 is refused by name", () => {
    expect(() => new PriorityGate(0)).toThrow("limit 0 is not allowed");
  });
});
