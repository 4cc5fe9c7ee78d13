/** Tickets, newest first, filtered by status, tenant and problem; 50 at a time. */
import { useEffect, useState } from "preact/hooks";
import { get, query } from "../api.ts";
import { formatTime, t } from "../i18n.ts";
import { go, href } from "../router.ts";
import { TICKET_STATUSES, type TenantView, type Ticket } from "../types.ts";
import { useApi } from "../parts/use-api.ts";

const PROBLEMS = ["internet", "mobile", "other"] as const;

export function TicketsPage({ params }: { params: URLSearchParams }) {
  const status = params.get("status") ?? "";
  const tenant = params.get("tenant") ?? "";
  const problem = params.get("problem") ?? "";
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const tenants = useApi<{ tenants: TenantView[] }>("/api/tenants");

  const load = async (before: number | null): Promise<void> => {
    try {
      const page = await get<{ tickets: Ticket[]; next: number | null }>(`/api/tickets${query({ status, tenant, problem, before, limit: 50 })}`);
      setTickets((old) => (before === null ? page.tickets : [...old, ...page.tickets]));
      setNext(page.next);
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  useEffect(() => {
    void load(null);
  }, [status, tenant, problem]);

  const filter = (name: string) => (e: Event): void => go("tickets", { status, tenant, problem, [name]: (e.currentTarget as HTMLSelectElement).value });
  return (
    <section>
      <h1>{t("tickets.title")}</h1>
      <div class="filters" data-ticket-filters>
        <label>{t("col.status")}
          <select name="status" value={status} onChange={filter("status")}>
            <option value="">{t("filter.any")}</option>
            {TICKET_STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
          </select>
        </label>
        <label>{t("filter.tenant")}
          <select name="tenant" value={tenant} onChange={filter("tenant")}>
            <option value="">{t("filter.any")}</option>
            {(tenants.data?.tenants ?? []).map((tn) => <option key={tn.id} value={tn.id}>{tn.id}</option>)}
          </select>
        </label>
        <label>{t("col.problem")}
          <select name="problem" value={problem} onChange={filter("problem")}>
            <option value="">{t("filter.any")}</option>
            {PROBLEMS.map((p) => <option key={p} value={p}>{t(`problem.${p}`)}</option>)}
          </select>
        </label>
      </div>
      {error !== null && <p class="error" role="alert">{error}</p>}
      <div class="table-wrap">
        <table class="list" data-tickets>
          <thead>
            <tr>
              <th>{t("col.ticket")}</th><th>{t("col.status")}</th><th>{t("col.customer")}</th><th>{t("col.problem")}</th>
              <th class="narrow-hide">{t("col.tenant")}</th><th class="narrow-hide">{t("col.assignee")}</th><th>{t("col.updated")}</th>
            </tr>
          </thead>
          <tbody>
            {tickets.map((tk) => (
              <tr key={tk.id} data-ticket-id={tk.id} onClick={() => go(`tickets/${tk.id}`)}>
                <td><a href={href(`tickets/${tk.id}`)}>{tk.id}</a></td>
                <td><span class={`tag status-${tk.status}`}>{t(`status.${tk.status}`)}</span></td>
                <td>{tk.customer ?? "—"}{tk.phone !== null ? ` · ${tk.phone}` : ""}</td>
                <td>{tk.problemType === null ? "—" : problemLabel(tk.problemType)}</td>
                <td class="narrow-hide">{tk.tenant}</td>
                <td class="narrow-hide">{tk.assignee ?? "—"}</td>
                <td>{formatTime(tk.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {tickets.length === 0 && error === null && <p class="muted">{t("tickets.none")}</p>}
      {next !== null && <button type="button" class="secondary" onClick={() => load(next)}>{t("more")}</button>}
    </section>
  );
}

export function problemLabel(problem: string): string {
  return problem === "internet" || problem === "mobile" || problem === "other" ? t(`problem.${problem}`) : problem;
}
