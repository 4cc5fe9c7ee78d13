/**
 * Calls in progress, kept current by the live feed: each with its caller, tenant, transport, dialog
 * state, a running duration, the transcript as it is spoken and a hang-up button. A call that ends
 * stays a moment under "Just ended" with its reason and a link to its page.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { get, request } from "../api.ts";
import { formatClock, formatDuration, t } from "../i18n.ts";
import { subscribeLive } from "../live-events.ts";
import { href } from "../router.ts";
import { withTurn, type Line } from "../parts/transcript-lines.ts";
import type { CallDetail, LiveCall, LiveChange } from "../types.ts";

interface Ended {
  id: number;
  caller: string | null;
  reason: string;
  at: number;
}

const MAX_LINES = 40;
const ENDED_KEPT = 10;

export function LivePage() {
  const [calls, setCalls] = useState<LiveCall[]>([]);
  const [lines, setLines] = useState<Record<number, Line[]>>({});
  const [ended, setEnded] = useState<Ended[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [, setNow] = useState(Date.now());
  const shown = useRef<LiveCall[]>([]);
  shown.current = calls;

  useEffect(() => {
    const loadTranscript = (id: number): void => {
      get<CallDetail>(`/api/calls/${id}`).then((call) => {
        const said: Line[] = call.turns.filter((turn) => turn.text !== "").map((turn) => ({ speaker: turn.speaker, text: turn.text, at: turn.startedAt, turnId: turn.id }));
        setLines((all) => ({ ...all, [id]: said.slice(-MAX_LINES) }));
      }, () => null);
    };
    const reload = (): void => {
      get<{ calls: LiveCall[] }>("/api/live").then((r) => {
        setCalls(r.calls);
        setError(null);
        for (const c of r.calls) loadTranscript(c.id);
      }, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
    };
    const add = (id: number, line: Line): void => setLines((all) => ({ ...all, [id]: [...(all[id] ?? []), line].slice(-MAX_LINES) }));
    const onChange = (change: LiveChange): void => {
      switch (change.kind) {
        case "call-started":
          reload();
          return;
        case "call-ended": {
          const gone = shown.current.find((c) => c.id === change.callId);
          setEnded((e) => [{ id: change.callId, caller: gone?.caller ?? null, reason: change.reason, at: change.at }, ...e].slice(0, ENDED_KEPT));
          setCalls((list) => list.filter((c) => c.id !== change.callId));
          return;
        }
        case "turn":
          setLines((all) => ({ ...all, [change.callId]: withTurn(all[change.callId] ?? [], change.turnId, change.speaker, change.text, change.at, MAX_LINES) }));
          return;
        case "event":
          if (change.event === "state" && change.detail !== null) {
            const state = change.detail;
            setCalls((list) => list.map((c) => (c.id === change.callId ? { ...c, state } : c)));
          } else if (change.event !== "state") {
            add(change.callId, { speaker: "event", text: change.detail === null ? change.event : `${change.event}: ${change.detail}`, at: change.at });
          }
      }
    };
    const unsubscribe = subscribeLive(onChange, reload);
    reload();
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      unsubscribe();
      clearInterval(timer);
    };
  }, []);

  return (
    <section class="live">
      <h1>{t("live.title")} <span class="count" data-live-count>{calls.length}</span></h1>
      {error !== null && <p class="error">{error}</p>}
      {calls.length === 0 && <p class="muted" data-no-calls>{t("live.none")}</p>}
      <div class="live-grid">
        {calls.map((call) => <LiveCard key={call.id} call={call} lines={lines[call.id] ?? []} />)}
      </div>
      {ended.length > 0 && (
        <>
          <h2>{t("live.ended")}</h2>
          <ul class="ended" data-ended>
            {ended.map((e) => (
              <li key={e.id} data-call-id={e.id}>
                <a href={href(`calls/${e.id}`)}>{e.caller ?? t("unknownCaller")}</a> · {formatClock(e.at)} · <span class="tag">{e.reason}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function LiveCard({ call, lines }: { call: LiveCall; lines: Line[] }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const hangUp = async (): Promise<void> => {
    if (!confirming) {
      setConfirming(true);
      return;
    }
    try {
      await request("POST", `/api/live/${encodeURIComponent(call.uuid)}/hangup`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    setConfirming(false);
  };
  return (
    <article class="card live-call" data-call-id={call.id}>
      <header>
        <strong>{call.caller ?? t("unknownCaller")}</strong>
        <span class="tag">{call.state}</span>
        <span class="duration">{formatDuration(Date.now() - call.startedAt)}</span>
      </header>
      <p class="muted">{call.tenant} · {call.transport}{call.ticketId !== null ? ` · ${t("ticket")} ${call.ticketId}` : ""}</p>
      <ol class="transcript">
        {[...lines].sort((a, b) => a.at - b.at).map((line, i) => (
          <li key={i} class={line.speaker}>
            <span class="who">{line.speaker === "caller" ? t("speaker.caller") : line.speaker === "bot" ? t("speaker.bot") : "·"}</span> {line.text}
          </li>
        ))}
      </ol>
      {error !== null && <p class="error">{error}</p>}
      <div class="row">
        <a href={href(`calls/${call.id}`)}>{t("live.open")}</a>
        <button type="button" class={confirming ? "danger" : "secondary"} onClick={hangUp} data-hangup>
          {confirming ? t("live.confirmHangup") : t("live.hangup")}
        </button>
      </div>
    </article>
  );
}
