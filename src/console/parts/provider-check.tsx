/** "Check the providers now": the doctor's probes run by the server, each with its latency and verdict. */
import { useState } from "preact/hooks";
import { request } from "../api.ts";
import { formatClock, formatNumber, t } from "../i18n.ts";
import type { ProviderCheckRun } from "../types.ts";

export function ProviderCheck({ last }: { last: ProviderCheckRun | null }) {
  const [run, setRun] = useState<ProviderCheckRun | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const shown = run ?? last;
  const check = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setRun(await request<ProviderCheckRun>("POST", "/api/health/providers"));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="provider-check" data-provider-check>
      <p class="row">
        <button type="button" class="secondary" disabled={busy} onClick={check} data-check-providers>{busy ? t("health.checking") : t("health.checkNow")}</button>
        <span class="muted">{shown === null ? t("health.neverChecked") : t("health.checkedAt", { at: formatClock(shown.at) })}</span>
      </p>
      {error !== null && <p class="error" role="alert">{error}</p>}
      {shown !== null && (
        <table class="list compact">
          <tbody>
            {shown.results.map((r) => (
              <tr key={r.id} data-check={r.id}>
                <td>{r.id.replace(/^provider\.?/, "") || "provider"}</td>
                <td><span class={`tag ${r.status === "PASS" ? "status-resolved" : r.status === "WARN" ? "status-escalated" : "status-abandoned"}`}>{r.status}</span></td>
                <td>{r.ms === undefined ? "" : `${formatNumber(r.ms)} ms`}</td>
                <td class="wrap" title={r.fix}>{r.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
