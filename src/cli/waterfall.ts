import { STAGES, type Exchange, type Stage, type Waterfall } from "../store/turn-exchanges.ts";

/** The "Latency" section of `voicebot calls show`: each exchange's stages as text bars. */

const WIDTH = 80;
const LABEL_WIDTH = 13;
const NUMBER_WIDTH = 6;
const INDENT = "    ";
const HEARS = "   ← caller hears the bot";
const MISSING = "—";
/** A full cell, then its eighths: sub-cell precision keeps close stages apart. */
const FULL = "█";
const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"] as const;
/** Milliseconds per cell: the first that fits the slowest stage, so bars compare across turns. */
const SCALE_MANTISSAS = [1, 2, 2.5, 4, 5] as const;
const SMALLEST_SCALE_MS = 10;

/** The "Latency" section: at most 80 columns, no colour (it is read in pipes and logs too). */
export function renderWaterfall(w: Waterfall): string[] {
  if (w.exchanges.length === 0) return ["Latency", "  no turn timings recorded"];
  const scale = scaleFor(w.exchanges, WIDTH - INDENT.length - LABEL_WIDTH - NUMBER_WIDTH - " ms  |".length - HEARS.length);
  const lines = [`Latency (ms after the caller stopped speaking; ${FULL} = ${scale} ms)`];
  for (const e of w.exchanges) {
    const head = `  turn ${e.turn}  `;
    lines.push(head + quoted(e.said, WIDTH - head.length));
    const reply = replyLine(e);
    if (reply !== null) lines.push(fit(reply));
    for (const stage of STAGES) {
      const line = stageLine(stage, e, scale);
      if (line !== null) lines.push(line);
    }
  }
  const f = w.firstFrame;
  lines.push(
    f.count === 0
      ? "  speech end → 1st frame out: no turn reached its first frame"
      : `  speech end → 1st frame out: median ${f.medianMs} ms, max ${f.maxMs} ms over ${f.count} turn${f.count === 1 ? "" : "s"}`,
  );
  return lines;
}

function scaleFor(exchanges: readonly Exchange[], cells: number): number {
  let slowest = 0;
  for (const e of exchanges) {
    for (const s of STAGES) if (s.bar) slowest = Math.max(slowest, e.offsets[s.name] ?? 0);
  }
  for (let decade = SMALLEST_SCALE_MS; ; decade *= 10) {
    for (const m of SCALE_MANTISSAS) {
      if (slowest <= m * decade * cells) return m * decade;
    }
  }
}

function replyLine(e: Exchange): string | null {
  if (e.replyId === null && e.llmProvider === null) return null;
  const id = e.replyId === null ? "" : ` ${e.replyId}`;
  const by = e.llmProvider === null ? "" : ` by ${e.llmProvider}`;
  return `${INDENT}reply${id}${by}`;
}

function stageLine(stage: Stage, e: Exchange, scale: number): string | null {
  const offset = e.offsets[stage.name];
  const cutOff = e.interrupted ? "  (bot cut off)" : "";
  if (stage.name === "bargeIn" && offset === null && !e.interrupted) return null;
  const head = `${INDENT}${stage.label.padEnd(LABEL_WIDTH)}`;
  const tail = stage.name === "bargeIn" ? cutOff : "";
  if (offset === null) return `${head}${MISSING.padStart(NUMBER_WIDTH)}${tail}`;
  const number = `${head}${String(offset).padStart(NUMBER_WIDTH)} ms`;
  if (!stage.bar) return `${number}${tail}`;
  const hears = stage.name === "firstFrame" ? HEARS : "";
  return `${number}  |${bar(offset, scale)}${hears}`;
}

function bar(offset: number, scale: number): string {
  if (offset <= 0) return "";
  const cells = offset / scale;
  const full = Math.floor(cells);
  return FULL.repeat(full) + (EIGHTHS[Math.floor((cells - full) * 8)] ?? "");
}

function quoted(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const room = Math.max(1, max - 2);
  return `"${flat.length > room ? `${flat.slice(0, room - 1)}…` : flat}"`;
}

function fit(line: string): string {
  return line.length > WIDTH ? `${line.slice(0, WIDTH - 1)}…` : line;
}
