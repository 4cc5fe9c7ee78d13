/** One ticket: what the caller said, its call, status/assignee/notes to edit, and every change with who and when. */
import { useEffect, useState } from "preact/hooks";
import { request } from "../api.ts";
import { formatDuration, formatTime, t } from "../i18n.ts";
import { href } from "../router.ts";
import { TICKET_STATUSES, type TicketDetail, type TicketStatus } from "../types.ts";
import { useApi } from "../parts/use-api.ts";
import { problemLabel } from "./tickets.tsx";

export function TicketPage({ id }: { id: string }) {
  const loaded = useApi<TicketDetail>(`/api/tickets/${encodeURIComponent(id)}`);
  const [ticket, setTicket] = useState<TicketDetail | null>(null);
  const [status, setStatus] = useState<TicketStatus>("open");
  const [assignee, setAssignee] = useState("");
  const [notes, setNotes] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (loaded.data === null) return;
    setTicket(loaded.data);
    setStatus(loaded.data.status);
    setAssignee(loaded.data.assignee ?? "");
    setNotes(loaded.data.notes ?? "");
  }, [loaded.data]);
  if (loaded.error !== null) return <p class="error" role="alert">{loaded.error}</p>;
  if (ticket === null) return <p class="loading">{t("loading")}</p>;

  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    const edit: Record<string, string | null> = {};
    if (status !== ticket.status) edit.status = status;
    if (assignee.trim() !== (ticket.assignee ?? "")) edit.assignee = assignee.trim() === "" ? null : assignee.trim();
    if (notes.trim() !== (ticket.notes ?? "")) edit.notes = notes.trim() === "" ? null : notes.trim();
    if (Object.keys(edit).length === 0) {
      setMessage({ ok: true, text: t("ticket.unchanged") });
      return;
    }
    try {
      const saved = await request<TicketDetail>("PATCH", `/api/tickets/${ticket.id}`, edit);
      setTicket(saved);
      setMessage({ ok: true, text: t("ticket.saved") });
    } catch (err) {
      setMessage({ ok: false, text: err instanceof Error ? err.message : String(err) });
    }
  };
  const facts: [string, string][] = [
    [t("col.customer"), ticket.customer ?? "—"],
    [t("ticket.phone"), ticket.phone ?? "—"],
    [t("col.problem"), ticket.problemType === null ? "—" : problemLabel(ticket.problemType)],
    [t("ticket.description"), ticket.description ?? "—"],
    [t("col.tenant"), ticket.tenant],
    [t("ticket.created"), formatTime(ticket.createdAt)],
    [t("col.updated"), formatTime(ticket.updatedAt)],
  ];
  return (
    <section class="ticket" data-ticket={ticket.id}>
      <p><a href={href("tickets")}>← {t("nav.tickets")}</a></p>
      <h1>{t("ticket.title", { id: ticket.id })} <span class={`tag status-${ticket.status}`} data-status>{t(`status.${ticket.status}`)}</span></h1>
      <div class="columns">
        <dl class="facts card">
          {facts.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
          {ticket.call !== null && (
            <div>
              <dt>{t("ticket.call")}</dt>
              <dd><a href={href(`calls/${ticket.call.id}`)} data-ticket-call>{formatTime(ticket.call.startedAt)} · {ticket.call.caller ?? "—"} · {formatDuration(ticket.call.durationMs)}</a></dd>
            </div>
          )}
        </dl>
        <form class="card edit" onSubmit={save} data-ticket-edit>
          <label>{t("col.status")}
            <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value as TicketStatus)}>
              {TICKET_STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
            </select>
          </label>
          <label>{t("col.assignee")}<input name="assignee" maxLength={64} value={assignee} onInput={(e) => setAssignee(e.currentTarget.value)} /></label>
          <label>{t("ticket.notes")}<textarea name="notes" rows={5} maxLength={10_000} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} /></label>
          {message !== null && <p class={message.ok ? "ok" : "error"} role="status">{message.text}</p>}
          <button type="submit">{t("ticket.save")}</button>
        </form>
      </div>
      <h2>{t("ticket.changes")}</h2>
      {ticket.changes.length === 0 ? (
        <p class="muted">{t("ticket.noChanges")}</p>
      ) : (
        <ol class="changes" data-changes>
          {ticket.changes.map((c, i) => (
            <li key={i}>
              <time>{formatTime(c.at)}</time> · <strong>{c.by}</strong> · {t(`field.${c.field}`)}: {shown(c.field, c.oldValue)} → {shown(c.field, c.newValue)}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function shown(field: string, value: string | null): string {
  if (value === null) return "—";
  if (field === "status" && (TICKET_STATUSES as readonly string[]).includes(value)) return t(`status.${value as TicketStatus}`);
  return value.length > 80 ? `${value.slice(0, 79)}…` : value;
}
