/**
 * The bench's load: N virtual callers dialing in as `arrival` says, each redialing as soon as its
 * call ends until stopped (or, with `once`, living its script once); and the tally of how their
 * calls went.
 */
import type { PlayoutClock } from "../media/playout-clock.ts";
import { arrivalOffsetMs, type Arrival } from "./arrival.ts";
import { SimulatedCaller, simulatedPbxClock } from "./caller.ts";
import type { CallResult, CallSetup } from "./call-types.ts";

export interface Outcomes {
  completed: number;
  /** Calls still up when the run ended: neither a success nor a failure. */
  cutAtEnd: number;
  failures: Map<string, number>;
  /** Calls dialed and calls over so far: the difference is the calls up now. */
  dialed: number;
  ended: number;
}

export function newOutcomes(): Outcomes {
  return { completed: 0, cutAtEnd: 0, failures: new Map(), dialed: 0, ended: 0 };
}

export function failedCount(outcomes: Outcomes): number {
  return [...outcomes.failures.values()].reduce((a, b) => a + b, 0);
}

export interface RedialOptions {
  calls: number;
  rampMs: number;
  /** When each caller first dials; a ramp of `rampMs` when absent. */
  arrival?: Arrival;
  /** Each caller makes one call and stops (no redial). */
  once?: boolean;
  /** The callers' shared 20 ms clock (to read its lateness afterwards); a new one when absent. */
  clock?: PlayoutClock<SimulatedCaller>;
  signal: AbortSignal;
  /**
   * The options of each call (a fresh script, timing); the shared clock and signal are added. A
   * string instead: the PBX had nowhere to send the call (every appliance full or down), a failure.
   */
  call(): CallSetup | string | Promise<CallSetup | string>;
  /** Why a finished call counts as failed, or null when it went the whole way. */
  failureOf(result: CallResult): string | null;
  /** Every connected call's result, for the figures. */
  onResult(result: CallResult): void;
}

/** Runs the callers; resolves with why the server could not be reached, or null, once all stopped. */
export async function redialCallers(o: RedialOptions, outcomes: Outcomes): Promise<string | null> {
  const clock: PlayoutClock<SimulatedCaller> = o.clock ?? simulatedPbxClock();
  let unreachable: string | null = null;
  const arrival: Arrival = o.arrival ?? { kind: "ramp", ms: o.rampMs };
  const one = async (index: number): Promise<void> => {
    const offset = arrivalOffsetMs(arrival, index, o.calls);
    if (offset > 0) await Bun.sleep(offset);
    let dialed = false;
    while (!o.signal.aborted && unreachable === null && !(o.once && dialed)) {
      dialed = true;
      outcomes.dialed++;
      const setup = await o.call();
      if (typeof setup === "string") {
        outcomes.ended++;
        outcomes.failures.set(setup, (outcomes.failures.get(setup) ?? 0) + 1);
        continue;
      }
      const result = await new SimulatedCaller({ ...setup, clock, signal: o.signal }).run();
      outcomes.ended++;
      if (!result.connected) {
        unreachable ??= result.error;
        return;
      }
      o.onResult(result);
      // A call hung up by the end of the run is neither a success nor a failure, unless it had failed already.
      const failure = o.signal.aborted && result.hungUpBy === "caller" ? null : o.failureOf(result);
      if (failure !== null) outcomes.failures.set(failure, (outcomes.failures.get(failure) ?? 0) + 1);
      else if (o.signal.aborted) outcomes.cutAtEnd++;
      else outcomes.completed++;
    }
  };
  await Promise.all(Array.from({ length: o.calls }, (_, i) => one(i)));
  return unreachable;
}
