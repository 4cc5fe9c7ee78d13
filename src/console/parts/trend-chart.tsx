/** A small uPlot line chart of one or two figures over time (the health view's last hour). */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

const HOUR_S = 3600;
/** Whole-number ticks for counts. */
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** `counts`: whole numbers only; `floor`: the y axis reaches at least this (a flat line still has a scale). */
export function TrendChart(props: { title: string; times: number[]; series: Series[]; unit?: string; counts?: boolean; floor?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const width = Math.max(240, Math.min(520, el.clientWidth || 320));
    const end = (props.times.at(-1) ?? Date.now()) / 1000;
    const plot = new uPlot(
      {
        width,
        height: 150,
        legend: { show: true, live: false },
        // Always the last hour, however few points there are yet.
        scales: { x: { time: true, range: () => [end - HOUR_S, end] }, y: { range: (_u, _min, max) => [0, Math.max(props.floor ?? 1, max ?? 0)] } },
        axes: [{}, { size: 72, ...(props.counts ? { incrs: COUNT_STEPS } : {}), values: (_u, ticks) => ticks.map((v) => `${Math.round(v)}${props.unit ?? ""}`) }],
        series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false }))],
      },
      [props.times.map((ms) => ms / 1000), ...props.series.map((s) => s.values)],
      el,
    );
    return () => plot.destroy();
  }, [props.times, props.series]);
  return (
    <figure class="trend card">
      <figcaption>{props.title}</figcaption>
      <div ref={box} />
    </figure>
  );
}
