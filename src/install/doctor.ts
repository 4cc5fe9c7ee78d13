/**
 * `voicebot doctor`'s engine: every check at once, each under its own time limit and all under
 * one overall limit, so a stalled provider costs its own line and never the whole report.
 */
import type { Check, CheckResult, CheckStatus, DoctorContext } from "./doctor-check.ts";

const DEFAULT_CHECK_MS = 3000;
/** doctor answers within 10 s whatever the network does, or its longest check's limit (a call through the PBX) and a second. */
export const DOCTOR_TIMEOUT_MS = 9000;

export async function runDoctor(checks: readonly Check[], ctx: Omit<DoctorContext, "signal">, o: { timeoutMs?: number } = {}): Promise<CheckResult[]> {
  const longest = Math.max(0, ...checks.map((c) => c.timeoutMs ?? DEFAULT_CHECK_MS));
  const overall = AbortSignal.timeout(o.timeoutMs ?? Math.max(DOCTOR_TIMEOUT_MS, longest + 1000));
  const settled = await Promise.all(checks.map((check) => runOne(check, { ...ctx, signal: AbortSignal.any([overall, AbortSignal.timeout(check.timeoutMs ?? DEFAULT_CHECK_MS)]) }, check.timeoutMs ?? DEFAULT_CHECK_MS)));
  return settled.flat();
}

async function runOne(check: Check, ctx: DoctorContext, limitMs: number): Promise<CheckResult[]> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<CheckResult>((resolve) => {
    const fire = (): void => resolve({
      id: check.id, status: "FAIL", detail: `timed out after ${Math.round(performance.now() - started)} ms`,
      fix: "something it waits for does not answer: run `voicebot doctor` again, then look at that part",
    });
    timer = setTimeout(fire, limitMs + 100);
    ctx.signal.addEventListener("abort", () => setTimeout(fire, 100), { once: true });
  });
  try {
    const result = await Promise.race([check.run(ctx).then((r) => (Array.isArray(r) ? r : [r])), timedOut.then((r) => [r])]);
    return result;
  } catch (err) {
    return [{ id: check.id, status: "FAIL", detail: `the check itself failed: ${err instanceof Error ? err.message : String(err)}`, fix: "report this with `voicebot version`" }];
  } finally {
    clearTimeout(timer);
  }
}

export function summarize(results: readonly CheckResult[]): Record<CheckStatus, number> {
  const out: Record<CheckStatus, number> = { PASS: 0, WARN: 0, FAIL: 0 };
  for (const r of results) out[r.status]++;
  return out;
}

/** One line per result; a WARN or FAIL is followed by its fix. */
export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.id.length), 4);
  const lines: string[] = [];
  for (const r of results) {
    const ms = r.ms !== undefined ? ` (${Math.round(r.ms)} ms)` : "";
    lines.push(`${r.status.padEnd(4)}  ${r.id.padEnd(width)}  ${r.detail}${ms}`);
    if (r.status !== "PASS" && r.fix) lines.push(`${" ".repeat(6 + width)}  → fix: ${r.fix}`);
  }
  const s = summarize(results);
  lines.push(`${s.PASS} passed, ${s.WARN} warning${s.WARN === 1 ? "" : "s"}, ${s.FAIL} failed`);
  return lines.join("\n");
}

export function doctorExitCode(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === "FAIL") ? 1 : 0;
}

export function pass(id: string, detail: string, ms?: number): CheckResult {
  return ms === undefined ? { id, status: "PASS", detail } : { id, status: "PASS", detail, ms };
}

export function warn(id: string, detail: string, fix: string, ms?: number): CheckResult {
  return ms === undefined ? { id, status: "WARN", detail, fix } : { id, status: "WARN", detail, fix, ms };
}

export function fail(id: string, detail: string, fix: string, ms?: number): CheckResult {
  return ms === undefined ? { id, status: "FAIL", detail, fix } : { id, status: "FAIL", detail, fix, ms };
}
