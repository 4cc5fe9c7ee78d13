/**
 * The browser test call: this page's microphone to voicebot over /api/try-call (16 kHz), the bot
 * through the speakers, a keypad for DTMF, and the call's transcript from the live feed as it is
 * spoken. The call is an ordinary one on the server: stored, listed, recorded.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { get, query } from "../api.ts";
import { t } from "../i18n.ts";
import { subscribeLive } from "../live-events.ts";
import { href } from "../router.ts";
import { startTestCall, type TestCall } from "../try-call/test-call.ts";
import { withTurn, type Line } from "../parts/transcript-lines.ts";
import type { CallDetail, CallSummary, LiveChange, TenantView } from "../types.ts";
import { useApi } from "../parts/use-api.ts";

type Phase = { name: "idle" } | { name: "connecting" } | { name: "in-call" } | { name: "ended"; reason: string } | { name: "failed"; message: string };

const MAX_LINES = 200;
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** -60 dBFS (silence) … 0 dBFS as 0 … 100 %. */
function meter(db: number): string {
  return `${Math.max(0, Math.min(100, ((db + 60) / 60) * 100)).toFixed(0)}%`;
}

export function TryPage() {
  const tenants = useApi<{ tenants: TenantView[] }>("/api/tenants");
  const [tenant, setTenant] = useState("");
  const [caller, setCaller] = useState("");
  const [phase, setPhase] = useState<Phase>({ name: "idle" });
  const [levels, setLevels] = useState({ mic: -60, bot: -60 });
  const [lines, setLines] = useState<Line[]>([]);
  const [callId, setCallId] = useState<number | null>(null);
  const call = useRef<TestCall | null>(null);
  const uuid = useRef<string | null>(null);
  const idsByUuid = useRef(new Map<string, number>());
  const ourId = useRef<number | null>(null);

  useEffect(() => {
    const first = tenants.data?.tenants[0];
    if (tenant === "" && first !== undefined) setTenant(first.id);
  }, [tenants.data]);

  useEffect(() => {
    const onChange = (change: LiveChange): void => {
      if (change.kind === "call-started") {
        idsByUuid.current.set(change.uuid, change.callId);
        if (change.uuid === uuid.current) adopt(change.callId);
        return;
      }
      if (change.callId !== ourId.current) return;
      if (change.kind === "turn") setLines((l) => withTurn(l, change.turnId, change.speaker, change.text, change.at, MAX_LINES));
      else if (change.kind === "event" && change.event === "dtmf") setLines((l) => [...l, { speaker: "event", text: `${t("call.key")} ${change.detail ?? ""}`, at: change.at }]);
    };
    const unsubscribe = subscribeLive(onChange);
    return () => {
      unsubscribe();
      call.current?.hangup();
    };
  }, []);

  const adopt = (id: number): void => {
    if (ourId.current === id) return;
    ourId.current = id;
    setCallId(id);
    get<CallDetail>(`/api/calls/${id}`).then((c) => {
      setLines((l) => c.turns.reduce((acc, turn) => (acc.some((x) => x.turnId === turn.id) ? acc : withTurn(acc, turn.id, turn.speaker, turn.text, turn.startedAt, MAX_LINES)), l));
    }, () => null);
  };

  const start = async (): Promise<void> => {
    setLines([]);
    setCallId(null);
    ourId.current = null;
    uuid.current = null;
    setPhase({ name: "connecting" });
    call.current = await startTestCall({
      url: `/api/try-call${query({ tenant, caller: caller.trim() })}`,
      onCallId: (id) => {
        uuid.current = id;
        setPhase({ name: "in-call" });
        const known = idsByUuid.current.get(id);
        if (known !== undefined) adopt(known);
        else get<CallSummary>(`/api/calls/${encodeURIComponent(id)}`).then((c) => adopt(c.id), () => null);
      },
      onEnded: (reason) => {
        call.current = null;
        setPhase({ name: "ended", reason });
      },
      onError: (message) => {
        call.current = null;
        setPhase({ name: "failed", message });
      },
      onLevel: (mic, bot) => setLevels({ mic, bot }),
    });
  };

  const busy = phase.name === "connecting" || phase.name === "in-call";
  const noMic = typeof navigator.mediaDevices?.getUserMedia !== "function";
  return (
    <section>
      <h1>{t("try.title")}</h1>
      <p class="muted">{t("try.help")}</p>
      {noMic && <p class="error" role="alert">{t("try.noMic")}</p>}
      <div class="try">
        <div class="card">
          <div class="row">
            <label>{t("try.tenant")}
              <select name="tenant" value={tenant} disabled={busy} onChange={(e) => setTenant(e.currentTarget.value)}>
                {(tenants.data?.tenants ?? []).map((tn) => <option key={tn.id} value={tn.id}>{tn.id}</option>)}
              </select>
            </label>
            <label>{t("col.caller")}
              <input name="caller" inputMode="tel" maxLength={64} value={caller} disabled={busy} onInput={(e) => setCaller(e.currentTarget.value)} />
            </label>
          </div>
          <p class="row">
            {busy ? (
              <button type="button" class="danger" onClick={() => call.current?.hangup()} data-try-hangup>{t("try.hangup")}</button>
            ) : (
              <button type="button" onClick={start} disabled={noMic} data-try-start>{t("try.start")}</button>
            )}
            <span data-try-phase={phase.name}>
              {phase.name === "connecting" && t("try.connecting")}
              {phase.name === "in-call" && t("try.inCall")}
              {phase.name === "ended" && t("try.ended", { reason: phase.reason })}
            </span>
          </p>
          {phase.name === "failed" && <p class="error" role="alert">{phase.message}</p>}
          <div class="levels">
            <span>{t("speaker.caller")}</span><div class="level"><span style={{ width: meter(levels.mic) }} /></div>
            <span>{t("speaker.bot")}</span><div class="level"><span style={{ width: meter(levels.bot) }} /></div>
          </div>
          <h2>{t("try.keypad")}</h2>
          <div class="keypad" data-keypad>
            {KEYS.map((k) => <button type="button" key={k} class="secondary" disabled={phase.name !== "in-call"} onClick={() => call.current?.sendDtmf(k)}>{k}</button>)}
          </div>
        </div>
        <div class="card">
          <h2>{t("try.transcript")}</h2>
          <ol class="transcript" data-try-transcript>
            {[...lines].sort((a, b) => a.at - b.at).map((line, i) => (
              <li key={i} class={line.speaker}>
                <span class="who">{line.speaker === "caller" ? t("speaker.caller") : line.speaker === "bot" ? t("speaker.bot") : "·"}</span> {line.text}
              </li>
            ))}
          </ol>
          {callId !== null && <a href={href(`calls/${callId}`)} data-try-call>{t("try.openCall")}</a>}
        </div>
      </div>
    </section>
  );
}
