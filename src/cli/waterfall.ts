import type { TurnRow, TurnTimings } from "../store/store.ts";

/**
 * Where the time of each caller→bot exchange went, measured from the moment the caller stopped
 * speaking (local VAD): what `voicebot calls show` prints under "Latency", and adds to --json.
 */

export type StageName = "speechEnd" | "sttFinal" | "llmFirstToken" | "ttsFirstByte" | "firstFrame" | "lastFrame" | "bargeIn";

/** Milliseconds after the caller's speech end; null when the stamp (or the speech end) is missing. */
export type StageOffsets = Record<StageName, number | null>;

export interface Exchange {
  /** The exchange's number in the call: its caller turn is the call's Nth. */
  turn: number;
  callerTurnId: number;
  /** The bot reply answering it; null when none was stored (the caller hung up, the reply failed). */
  botTurnId: number | null;
  replyId: number | null;
  llmProvider: string | null;
  /** The caller's final transcript. */
  said: string;
  /** The caller cut the bot off. */
  interrupted: boolean;
  offsets: StageOffsets;
}

export interface Waterfall {
  exchanges: Exchange[];
  /** Speech end → first frame out, over the exchanges that have both stamps. */
  firstFrame: { count: number; medianMs: number | null; maxMs: number | null };
}

interface Stage {
  name: StageName;
  label: string;
  /** Stamps from the caller's turn, or from the bot reply's. */
  from: "caller" | "bot";
  key: keyof TurnTimings;
  /** Drawn as a bar: the stages up to the first frame the caller hears. */
  bar: boolean;
}

const STAGES: readonly Stage[] = [
  { name: "speechEnd", label: "speech end", from: "caller", key: "speechEndAt", bar: true },
  { name: "sttFinal", label: "STT final", from: "caller", key: "sttFinalAt", bar: true },
  { name: "llmFirstToken", label: "LLM 1st token", from: "bot", key: "llmFirstTokenAt", bar: true },
  { name: "ttsFirstByte", label: "TTS 1st byte", from: "bot", key: "ttsFirstByteAt", bar: true },
  { name: "firstFrame", label: "1st frame out", from: "bot", key: "firstFrameAt", bar: true },
  { name: "lastFrame", label: "last frame", from: "bot", key: "lastFrameAt", bar: false },
  { name: "bargeIn", label: "barge-in", from: "bot", key: "bargeInAt", bar: false },
];

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

/** Pairs each caller turn with the bot reply that answers it; keypad-only calls give no exchanges. */
export function buildWaterfall(turns: readonly TurnRow[]): Waterfall {
  const exchanges: Exchange[] = [];
  let callerCount = 0;
  turns.forEach((t, i) => {
    if (t.speaker !== "caller") return;
    callerCount++;
    const bot = replyTo(t, turns, i);
    if (!hasStamps(t) && (bot === null || !hasStamps(bot))) return;
    exchanges.push(exchange(callerCount, t, bot));
  });
  const reached = exchanges.map((e) => e.offsets.firstFrame).filter((v): v is number => v !== null);
  return {
    exchanges,
    firstFrame: {
      count: reached.length,
      medianMs: reached.length === 0 ? null : median(reached),
      maxMs: reached.length === 0 ? null : Math.max(...reached),
    },
  };
}

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

/** By reply id when both rows know it; else the first bot turn before the caller speaks again. */
function replyTo(caller: TurnRow, turns: readonly TurnRow[], index: number): TurnRow | null {
  if (caller.replyId !== null) {
    const byId = turns.find((t) => t.speaker === "bot" && t.replyId === caller.replyId);
    if (byId) return byId;
  }
  for (let j = index + 1; j < turns.length; j++) {
    const t = turns[j] as TurnRow;
    if (t.speaker === "caller") return null;
    if (caller.replyId === null || t.replyId === null) return t;
  }
  return null;
}

function hasStamps(t: TurnRow): boolean {
  return Object.values(t.timings).some((v) => v !== null);
}

function exchange(turn: number, caller: TurnRow, bot: TurnRow | null): Exchange {
  const origin = caller.timings.speechEndAt;
  const offsets = {} as StageOffsets;
  for (const s of STAGES) {
    const at = s.from === "caller" ? caller.timings[s.key] : (bot?.timings[s.key] ?? null);
    offsets[s.name] = origin === null || at === null ? null : at - origin;
  }
  return {
    turn,
    callerTurnId: caller.id,
    botTurnId: bot?.id ?? null,
    replyId: bot?.replyId ?? caller.replyId,
    llmProvider: bot?.llmProvider ?? null,
    said: caller.text,
    interrupted: bot?.interrupted ?? false,
    offsets,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : Math.round(((sorted[mid - 1] as number) + upper) / 2);
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
