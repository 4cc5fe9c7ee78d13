/**
 * A live transcript kept from the feed's events: a turn's text may be sent again as it grows (the
 * bot's reply, sentence by sentence) or is cut (barge-in), so lines are kept by turn id.
 */
export interface Line {
  speaker: "caller" | "bot" | "event";
  text: string;
  at: number;
  turnId?: number;
}

export function withTurn(lines: readonly Line[], turnId: number, speaker: "caller" | "bot", text: string, at: number, max: number): Line[] {
  const i = lines.findIndex((l) => l.turnId === turnId);
  if (i < 0) return text === "" ? [...lines] : [...lines, { speaker, text, at, turnId }].slice(-max);
  const next = [...lines];
  if (text === "") next.splice(i, 1);
  else next[i] = { ...(next[i] as Line), text };
  return next;
}
