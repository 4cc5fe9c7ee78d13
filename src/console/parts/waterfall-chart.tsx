/**
 * The per-turn latency waterfall: one bar per exchange, split at STT final, first token, TTS first
 * byte and first frame out, on one scale for all turns so slow turns stand out.
 */
import { t, type Key } from "../i18n.ts";
import type { StageName, Waterfall } from "../types.ts";

const SEGMENTS: { from: StageName; to: StageName; key: Key; cls: string }[] = [
  { from: "speechEnd", to: "sttFinal", key: "wf.stt", cls: "seg-stt" },
  { from: "sttFinal", to: "llmFirstToken", key: "wf.llm", cls: "seg-llm" },
  { from: "llmFirstToken", to: "ttsFirstByte", key: "wf.tts", cls: "seg-tts" },
  { from: "ttsFirstByte", to: "firstFrame", key: "wf.out", cls: "seg-out" },
];
const ROW = 26;
const LABEL = 70;
const WIDTH = 640;
const AXIS = 22;

function niceMax(ms: number): number {
  for (const step of [250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000]) if (ms <= step) return step;
  return Math.ceil(ms / 10_000) * 10_000;
}

export function WaterfallChart({ waterfall }: { waterfall: Waterfall }) {
  const rows = waterfall.exchanges.filter((e) => e.offsets.firstFrame !== null || e.offsets.sttFinal !== null);
  if (rows.length === 0) return <p class="muted">{t("wf.none")}</p>;
  const slowest = Math.max(...rows.map((e) => Math.max(...SEGMENTS.map((s) => e.offsets[s.to] ?? 0))));
  const max = niceMax(slowest);
  const plot = WIDTH - LABEL - 10;
  const x = (ms: number): number => LABEL + (Math.max(0, ms) / max) * plot;
  const height = rows.length * ROW + AXIS;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(f * max));
  return (
    <figure class="waterfall" data-waterfall>
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={t("wf.title")}>
        {ticks.map((ms) => (
          <g key={ms}>
            <line x1={x(ms)} x2={x(ms)} y1={0} y2={height - AXIS} class="grid" />
            <text x={x(ms)} y={height - 6} class="axis" text-anchor={ms === max ? "end" : "middle"}>{ms} ms</text>
          </g>
        ))}
        {rows.map((e, i) => {
          const y = i * ROW + 4;
          return (
            <g key={e.turn} data-turn={e.turn}>
              <text x={0} y={y + 14} class="label">{t("wf.turn", { n: e.turn })}</text>
              {SEGMENTS.map((s) => {
                const a = e.offsets[s.from];
                const b = e.offsets[s.to];
                if (a === null || b === null || b < a) return null;
                return (
                  <rect key={s.cls} x={x(a)} y={y} width={Math.max(1, x(b) - x(a))} height={ROW - 8} class={s.cls}>
                    <title>{`${t(s.key)}: ${b - a} ms`}</title>
                  </rect>
                );
              })}
              {e.offsets.firstFrame !== null && (
                <text x={Math.min(x(e.offsets.firstFrame) + 4, WIDTH - 40)} y={y + 14} class="value">{e.offsets.firstFrame} ms</text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {SEGMENTS.map((s) => <span key={s.cls} class="legend"><i class={s.cls} />{t(s.key)}</span>)}
        {waterfall.firstFrame.medianMs !== null && <span>{t("wf.median", { ms: waterfall.firstFrame.medianMs, max: waterfall.firstFrame.maxMs ?? 0 })}</span>}
      </figcaption>
    </figure>
  );
}
