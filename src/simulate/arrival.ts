/**
 * When the bench's calls dial in: spread over a short ramp (the default), all at the same moment
 * (a storm: what a PBX sends after an outage or a mass campaign), or at a steady rate.
 */

export type Arrival =
  | { kind: "ramp"; ms: number }
  | { kind: "all" }
  | { kind: "rate"; perSecond: number };

const RATE = /^(\d+(?:\.\d+)?)\/s$/;
const MAX_RATE = 10_000;

/** `--arrival` as typed: `ramp`, `all` or `N/s`; the error names the value and what is allowed. */
export function parseArrival(text: string | undefined, rampMs: number): Arrival {
  if (text === undefined || text === "ramp") return { kind: "ramp", ms: rampMs };
  if (text === "all") return { kind: "all" };
  const m = RATE.exec(text);
  const perSecond = m ? Number(m[1]) : NaN;
  if (!(perSecond > 0 && perSecond <= MAX_RATE)) {
    throw new Error(`--arrival "${text}" is not allowed; use ramp, all, or a rate such as 100/s (more than 0, at most ${MAX_RATE}/s)`);
  }
  return { kind: "rate", perSecond };
}

/** When call `index` (0-based) of `calls` first dials, in ms from the start of the run. */
export function arrivalOffsetMs(arrival: Arrival, index: number, calls: number): number {
  switch (arrival.kind) {
    case "all":
      return 0;
    case "ramp":
      return (index * arrival.ms) / calls;
    case "rate":
      return (index * 1000) / arrival.perSecond;
  }
}

/** For reports: how the calls arrived. */
export function describeArrival(arrival: Arrival): string {
  switch (arrival.kind) {
    case "all":
      return "all at once";
    case "ramp":
      return `over a ${arrival.ms} ms ramp`;
    case "rate":
      return `at ${arrival.perSecond}/s`;
  }
}
