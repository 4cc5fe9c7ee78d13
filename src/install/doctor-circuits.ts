/** The running service's circuit breakers, read from its /healthz: a provider it is skipping now is a warning. */
import type { Check, CheckResult } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";
import { fetchHealth } from "./health.ts";

/** "18:52:10 UTC": the admin compares it with the journal. */
function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

export const circuitsCheck: Check = {
  id: "provider.circuit",
  async run(ctx) {
    const c = ctx.config;
    if (!c) return fail("provider.circuit", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    const health = await fetchHealth(c, ctx.signal);
    if (!health) return pass("provider.circuit", "voicebot is not running here: no circuit breaker to read");
    const providers = Object.entries(health.providers ?? {});
    const skipped = providers.filter(([, b]) => b.state !== "closed");
    if (skipped.length === 0) {
      return pass("provider.circuit", providers.length === 0 ? "no cloud provider in use" : `every provider answers (${providers.map(([id]) => id).join(", ")})`);
    }
    return skipped.map(([id, b]): CheckResult => {
      const since = b.openSince === null ? "" : ` since ${clockTime(b.openSince)}`;
      const next = b.state === "open" && b.openUntil !== null ? `; next trial at ${clockTime(b.openUntil)}` : "; a trial request is due";
      return warn(`provider.circuit.${id}`, `${id} is skipped${since} after ${b.failures} failures in a row${next}`,
        "calls use its fallback meanwhile; see why with `journalctl -u voicebot | grep -i circuit`, then check the provider's status and this host's network");
    });
  },
};
