/**
 * One call: its facts, tickets, the recording (caller left, bot right) with download, the latency
 * waterfall and the timeline of what was said, typed and done, in time order.
 */
import { formatDuration, formatTime, t } from "../i18n.ts";
import { href } from "../router.ts";
import type { CallDetail } from "../types.ts";
import { useApi } from "../parts/use-api.ts";
import { WaterfallChart } from "../parts/waterfall-chart.tsx";

interface Moment {
  at: number;
  kind: "caller" | "bot" | "dtmf" | "event";
  text: string;
  note?: string;
}

function timeline(call: CallDetail): Moment[] {
  const said: Moment[] = call.turns.map((turn) => ({
    at: turn.startedAt,
    kind: turn.speaker,
    text: turn.text,
    note: turn.interrupted ? t("call.cutOff") : undefined,
  }));
  const done: Moment[] = call.events
    .filter((e) => e.kind !== "state")
    .map((e) => (e.kind === "dtmf" ? { at: e.at, kind: "dtmf", text: e.detail ?? "" } : { at: e.at, kind: "event", text: e.detail === null ? e.kind : `${e.kind}: ${e.detail}` }));
  return [...said, ...done].sort((a, b) => a.at - b.at);
}

export function CallPage({ id }: { id: string }) {
  const { data: call, error } = useApi<CallDetail>(`/api/calls/${encodeURIComponent(id)}`);
  if (error !== null) return <p class="error" role="alert">{error}</p>;
  if (call === null) return <p class="loading">{t("loading")}</p>;
  const facts: [string, string][] = [
    [t("col.caller"), call.caller ?? "—"],
    [t("call.dnis"), call.dnis ?? "—"],
    [t("col.tenant"), call.tenant],
    [t("col.transport"), `${call.transport} · ${call.sampleRate / 1000} kHz`],
    [t("col.started"), formatTime(call.startedAt)],
    [t("col.duration"), call.endedAt === null ? t("inProgress") : formatDuration(call.durationMs)],
    [t("col.reason"), [call.endReason, call.endDetail].filter((v) => v !== null && v !== "").join(" — ") || "—"],
    [t("call.peer"), call.peer],
    ["UUID", call.uuid],
  ];
  return (
    <section class="call" data-call={call.id}>
      <p><a href={href("calls")}>← {t("nav.calls")}</a></p>
      <h1>{t("call.title", { id: call.id })} · {call.caller ?? t("unknownCaller")}</h1>
      <div class="columns">
        <dl class="facts card">
          {facts.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
          {call.tickets.map((ticket) => (
            <div key={ticket.id}>
              <dt>{t("ticket")}</dt>
              <dd><a href={href(`tickets/${ticket.id}`)}>{ticket.id}</a> <span class={`tag status-${ticket.status}`}>{t(`status.${ticket.status}`)}</span> {ticket.problemType ?? ""}</dd>
            </div>
          ))}
        </dl>
        <div class="card player">
          <h2>{t("call.recording")}</h2>
          {call.recording.url === null ? (
            <p class="muted">{t("call.noRecording")}</p>
          ) : (
            <>
              <audio controls preload="metadata" src={call.recording.url} data-recording />
              <p class="muted">
                {t(call.recording.format === "mp3" ? "call.stereoMp3" : "call.stereoWav")}{" "}
                {call.recording.download !== null && <a href={call.recording.download} download data-download>{t("call.download")}</a>}
              </p>
            </>
          )}
        </div>
      </div>
      <h2>{t("wf.title")}</h2>
      <WaterfallChart waterfall={call.waterfall} />
      <h2>{t("call.timeline")}</h2>
      <ol class="timeline" data-timeline>
        {timeline(call).map((m, i) => (
          <li key={i} class={m.kind}>
            <time>{formatDuration(m.at - call.startedAt)}</time>
            <span class="text">
              <span class="who">{m.kind === "caller" ? t("speaker.caller") : m.kind === "bot" ? t("speaker.bot") : m.kind === "dtmf" ? t("call.key") : "·"}</span>{" "}
              {m.text === "" ? "…" : m.text}
              {m.note !== undefined && <em class="muted"> ({m.note})</em>}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
