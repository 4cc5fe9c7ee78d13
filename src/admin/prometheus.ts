/** Prometheus text exposition format 0.0.4, just what /metrics needs. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  /** For histograms: the `_bucket` (with `le`), `_sum` and `_count` samples, named in full. */
  samples: { name?: string; labels?: Record<string, string>; value: number }[];
}

/** Cumulative Prometheus buckets from per-bucket counts (last count = above the last bound). */
export function histogramSamples(name: string, boundsSeconds: readonly number[], counts: readonly number[], sum: number): MetricFamily["samples"] {
  const samples: MetricFamily["samples"] = [];
  let cumulative = 0;
  boundsSeconds.forEach((le, i) => {
    cumulative += counts[i] ?? 0;
    samples.push({ name: `${name}_bucket`, labels: { le: String(le) }, value: cumulative });
  });
  cumulative += counts[boundsSeconds.length] ?? 0;
  samples.push({ name: `${name}_bucket`, labels: { le: "+Inf" }, value: cumulative });
  samples.push({ name: `${name}_sum`, value: sum });
  samples.push({ name: `${name}_count`, value: cumulative });
  return samples;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  let out = "";
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = s.labels && Object.keys(s.labels).length > 0
        ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`
        : "";
      out += `${s.name ?? f.name}${labels} ${Number.isFinite(s.value) ? s.value : 0}\n`;
    }
  }
  return out;
}
