import type { TurnRow, TurnTimings } from "./turns-events.ts";

/**
 * Where the time of each caller→bot exchange went, measured from the moment the caller stopped
 * speaking (local VAD): what `voicebot calls show` prints under "Latency" and the console draws.
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

export interface Stage {
  name: StageName;
  label: string;
  /** Stamps from the caller's turn, or from the bot reply's. */
  from: "caller" | "bot";
  key: keyof TurnTimings;
  /** Drawn as a bar: the stages up to the first frame the caller hears. */
  bar: boolean;
}

export const STAGES: readonly Stage[] = [
  { name: "speechEnd", label: "speech end", from: "caller", key: "speechEndAt", bar: true },
  { name: "sttFinal", label: "STT final", from: "caller", key: "sttFinalAt", bar: true },
  { name: "llmFirstToken", label: "LLM 1st token", from: "bot", key: "llmFirstTokenAt", bar: true },
  { name: "ttsFirstByte", label: "TTS 1st byte", from: "bot", key: "ttsFirstByteAt", bar: true },
  { name: "firstFrame", label: "1st frame out", from: "bot", key: "firstFrameAt", bar: true },
  { name: "lastFrame", label: "last frame", from: "bot", key: "lastFrameAt", bar: false },
  { name: "bargeIn", label: "barge-in", from: "bot", key: "bargeInAt", bar: false },
];

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
