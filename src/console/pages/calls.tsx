/**
 * The history: filters (dates, tenant, caller number, end reason, ticket status, words said) kept
 * in the address so a filtered view can be reloaded or shared, newest first, 50 at a time.
 */
import { useEffect, useState } from "preact/hooks";
import { get, query } from "../api.ts";
import { formatDuration, formatTime, t } from "../i18n.ts";
import { go, href } from "../router.ts";
import { TICKET_STATUSES, type CallSummary } from "../types.ts";
import { useApi } from "../parts/use-api.ts";
import type { TenantView } from "../types.ts";

const FILTERS = ["from", "to", "tenant", "caller", "reason", "ticket", "q"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;
const END_REASONS = ["resolved", "escalated", "transferred", "caller-hangup", "silence", "too-many-invalid", "max-duration", "busy", "ai-error", "console-hangup", "server-hangup", "protocol-error", "write-error", "internal-error", "shutdown"];

function filtersOf(params: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ""])) as Filters;
}

/** A date field's day as the API's bound: `from` at the day's start, `to` at the next day's (local time). */
function bound(day: string, end: boolean): string | null {
  if (day === "") return null;
  const d = new Date(`${day}T00:00:00`);
  if (end) d.setDate(d.getDate() + 1);
  return String(d.getTime());
}

export function CallsPage({ params }: { params: URLSearchParams }) {
  const applied = filtersOf(params);
  const [form, setForm] = useState<Filters>(applied);
  const [calls, setCalls] = useState<CallSummary[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  /** Pages shown so far: lets a benchmark (or a test) tell the new page from the old. */
  const [loads, setLoads] = useState(0);
  const tenants = useApi<{ tenants: TenantView[] }>("/api/tenants");
  const key = FILTERS.map((f) => applied[f]).join("\u0000");

  const load = async (cursor: string | null): Promise<void> => {
    setLoading(true);
    try {
      const page = await get<{ calls: CallSummary[]; next: string | null }>(`/api/calls${query({
        from: bound(applied.from, false), to: bound(applied.to, true), tenant: applied.tenant, caller: applied.caller,
        reason: applied.reason, ticket: applied.ticket, q: applied.q, cursor, limit: 50,
      })}`);
      setCalls((old) => (cursor === null ? page.calls : [...old, ...page.calls]));
      setNext(page.next);
      setError(null);
      setLoads((n) => n + 1);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setForm(applied);
    void load(null);
  }, [key]);

  const set = (name: keyof Filters) => (e: Event): void => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value });
  const submit = (e: Event): void => {
    e.preventDefault();
    // Numbers are stored as dialled digits: "06 11 22 33 44" and "06.11.22.33.44" find 0611223344.
    go("calls", { ...form, caller: form.caller.replace(/[\s.\-()]/g, "") });
  };
  return (
    <section>
      <h1>{t("calls.title")}</h1>
      <form class="filters" onSubmit={submit} data-filters>
        <label>{t("filter.from")}<input type="date" name="from" value={form.from} onInput={set("from")} /></label>
        <label>{t("filter.to")}<input type="date" name="to" value={form.to} onInput={set("to")} /></label>
        <label>{t("filter.tenant")}
          <select name="tenant" value={form.tenant} onChange={set("tenant")}>
            <option value="">{t("filter.any")}</option>
            {(tenants.data?.tenants ?? []).map((tn) => <option key={tn.id} value={tn.id}>{tn.id}</option>)}
          </select>
        </label>
        <label>{t("filter.caller")}<input type="search" name="caller" value={form.caller} onInput={set("caller")} inputMode="tel" /></label>
        <label>{t("filter.reason")}
          <select name="reason" value={form.reason} onChange={set("reason")}>
            <option value="">{t("filter.any")}</option>
            {END_REASONS.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
        <label>{t("filter.ticket")}
          <select name="ticket" value={form.ticket} onChange={set("ticket")}>
            <option value="">{t("filter.any")}</option>
            {TICKET_STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
          </select>
        </label>
        <label class="wide">{t("filter.q")}<input type="search" name="q" value={form.q} onInput={set("q")} placeholder={t("filter.qHint")} /></label>
        <div class="row">
          <button type="submit">{t("filter.apply")}</button>
          <a class="button secondary" href={href("calls")}>{t("filter.clear")}</a>
        </div>
      </form>
      {error !== null && <p class="error" role="alert">{error}</p>}
      <div class="table-wrap">
        <table class="list" data-calls data-loads={loads}>
          <thead>
            <tr>
              <th>{t("col.started")}</th><th>{t("col.caller")}</th><th>{t("col.tenant")}</th><th class="narrow-hide">{t("col.transport")}</th>
              <th>{t("col.duration")}</th><th>{t("col.reason")}</th><th>{t("col.ticket")}</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.id} data-call-id={c.id} onClick={() => go(`calls/${c.id}`)}>
                <td><a href={href(`calls/${c.id}`)}>{formatTime(c.startedAt)}</a></td>
                <td>{c.caller ?? "—"}</td>
                <td>{c.tenant}</td>
                <td class="narrow-hide">{c.transport}</td>
                <td>{c.endedAt === null ? t("inProgress") : formatDuration(c.durationMs)}</td>
                <td>{c.endReason ?? ""}</td>
                <td>{c.ticketId !== null && <span class={`tag status-${c.ticketStatus}`}>{c.ticketId} · {t(`status.${c.ticketStatus ?? "open"}`)}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && calls.length === 0 && error === null && <p class="muted" data-empty>{t("calls.none")}</p>}
      {next !== null && <button type="button" class="secondary" disabled={loading} onClick={() => load(next)} data-more>{t("more")}</button>}
    </section>
  );
}
