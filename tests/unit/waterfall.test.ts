import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callsCommand } from "../../src/cli/calls.ts";
import { renderWaterfall } from "../../src/cli/waterfall.ts";
import { buildWaterfall } from "../../src/store/turn-exchanges.ts";
import { Store, type TurnRow, type TurnTimings } from "../../src/store/store.ts";

const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);
let root = "";
let dataDir = "";
let store: Store;

/** Runs `voicebot calls` as the dispatcher would, with stdout captured. */
async function callsOutput(argv: string[]): Promise<string> {
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    expect(await callsCommand.run([...argv, "--data-dir", dataDir])).toBe(0);
  } finally {
    process.stdout.write = write;
  }
  return out.join("");
}

let uuidCount = 0;
function newCall(): number {
  return store.insertCall({ uuid: `call-${++uuidCount}`, transport: "audiosocket", tenant: "default", caller: null, peer: "p", sampleRate: 8000, startedAt: T0 });
}

/** A turn through the Store, its stamps given as ms after T0. */
function turn(callId: number, speaker: "caller" | "bot", text: string, at: number, stamps: Partial<TurnTimings> = {}, extra: { replyId?: number; llmProvider?: string } = {}): number {
  const id = store.addTurn(callId, { speaker, text, startedAt: T0 + at, ...extra });
  const absolute: Partial<TurnTimings> = {};
  for (const [k, v] of Object.entries(stamps)) absolute[k as keyof TurnTimings] = v === null ? null : T0 + v;
  store.setTurnTimings(id, absolute);
  return id;
}

function turnsOf(callId: number): TurnRow[] {
  return store.getCall(callId)?.turns ?? [];
}

let aiCall = 0;
let keypadCall = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "voicebot-waterfall-"));
  dataDir = join(root, "data");
  store = Store.open(dataDir);

  aiCall = newCall();
  turn(aiCall, "bot", "Bonjour, je vous écoute", 100, { firstFrameAt: 120, lastFrameAt: 2000 }, { replyId: 1 });
  turn(aiCall, "caller", "ma box internet ne marche plus", 3000, { speechEndAt: 5000, sttFinalAt: 5162 }, { replyId: 2 });
  const cut = turn(aiCall, "bot", "Avez-vous redémarré", 5170, {
    llmFirstTokenAt: 5431, ttsFirstByteAt: 5598, firstFrameAt: 5605, lastFrameAt: 9210, bargeInAt: 6890,
  }, { replyId: 2, llmProvider: "groq:llama-3.3-70b-versatile" });
  store.finishTurn(cut, { endedAt: T0 + 6900, interrupted: true });
  turn(aiCall, "caller", "oui je l'ai déjà redémarrée deux fois et ça ne change rien du tout, toujours le voyant rouge", 6890, { speechEndAt: 9000, sttFinalAt: 9300 });
  turn(aiCall, "bot", "Je transfère", 9310, { llmFirstTokenAt: 9900, firstFrameAt: 10100, lastFrameAt: 12000 });

  keypadCall = newCall();
  turn(keypadCall, "bot", "Tapez 1", 100);
  store.addTurn(keypadCall, { speaker: "caller", text: "1", startedAt: T0 + 2000, endedAt: T0 + 2000 });
});

afterAll(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const AI_CALL_LATENCY = [
  "Latency (ms after the caller stopped speaking; █ = 50 ms)",
  '  turn 1  "ma box internet ne marche plus"',
  "    reply 2 by groq:llama-3.3-70b-versatile",
  "    speech end        0 ms  |",
  "    STT final       162 ms  |███▏",
  "    LLM 1st token   431 ms  |████████▌",
  "    TTS 1st byte    598 ms  |███████████▉",
  "    1st frame out   605 ms  |████████████   ← caller hears the bot",
  "    last frame     4210 ms",
  "    barge-in       1890 ms  (bot cut off)",
  '  turn 2  "oui je l\'ai déjà redémarrée deux fois et ça ne change rien du tout,…"',
  "    speech end        0 ms  |",
  "    STT final       300 ms  |██████",
  "    LLM 1st token   900 ms  |██████████████████",
  "    TTS 1st byte      —",
  "    1st frame out  1100 ms  |██████████████████████   ← caller hears the bot",
  "    last frame     3000 ms",
  "  speech end → 1st frame out: median 853 ms, max 1100 ms over 2 turns",
];

describe("calls show: the latency waterfall", () => {
  test("follows the rest of the page: a line per stage, offsets from the caller's speech end", async () => {
    const out = await callsOutput(["show", String(aiCall)]);
    expect(out).toContain("Timeline\n");
    expect(out).toEndWith(`\nNo ticket\n\n${AI_CALL_LATENCY.join("\n")}\n`);
  });

  test("keeps to 80 columns, with no colour codes when not a terminal", async () => {
    const out = await callsOutput(["show", String(aiCall)]);
    const latency = out.slice(out.indexOf("Latency"));
    for (const line of latency.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    expect(out).not.toContain("\u001b[");
  });

  test("a keypad call has no timings to show", async () => {
    const out = await callsOutput(["show", String(keypadCall)]);
    expect(out).toEndWith("\nLatency\n  no turn timings recorded\n");
  });

  test("--json has the raw stamps of every turn and the waterfall", async () => {
    const doc = JSON.parse(await callsOutput(["show", String(aiCall), "--json"])) as {
      turns: { speaker: string; replyId: number | null; llmProvider: string | null; timings: Record<string, number | null> }[];
      latency: { exchanges: { turn: number; callerTurnId: number; botTurnId: number | null; interrupted: boolean; offsets: Record<string, number | null> }[]; firstFrame: unknown };
    };
    expect(doc.turns).toHaveLength(5);
    expect(doc.turns[2]).toMatchObject({
      speaker: "bot", replyId: 2, llmProvider: "groq:llama-3.3-70b-versatile",
      timings: { speechEndAt: null, sttFinalAt: null, llmFirstTokenAt: T0 + 5431, ttsFirstByteAt: T0 + 5598, firstFrameAt: T0 + 5605, lastFrameAt: T0 + 9210, bargeInAt: T0 + 6890 },
    });
    expect(Object.keys(doc.turns[0]?.timings ?? {})).toEqual(["speechEndAt", "sttFinalAt", "llmFirstTokenAt", "ttsFirstByteAt", "firstFrameAt", "lastFrameAt", "bargeInAt"]);
    expect(doc.latency.exchanges[0]).toMatchObject({
      turn: 1, interrupted: true,
      offsets: { speechEnd: 0, sttFinal: 162, llmFirstToken: 431, ttsFirstByte: 598, firstFrame: 605, lastFrame: 4210, bargeIn: 1890 },
    });
    expect(doc.latency.exchanges[1]?.offsets.ttsFirstByte).toBeNull();
    expect(doc.latency.firstFrame).toEqual({ count: 2, medianMs: 853, maxMs: 1100 });
  });
});

describe("buildWaterfall and renderWaterfall", () => {
  test("missing stamps show as —; a reply never stored leaves the bot stages empty", () => {
    const call = newCall();
    turn(call, "caller", "allô ?", 0, { sttFinalAt: 900 });
    turn(call, "caller", "il y a quelqu'un ?", 3000, { speechEndAt: 4000, sttFinalAt: 4200 });
    const w = buildWaterfall(turnsOf(call));
    expect(w.exchanges.map((e) => e.botTurnId)).toEqual([null, null]);
    expect(renderWaterfall(w)).toEqual([
      "Latency (ms after the caller stopped speaking; █ = 10 ms)",
      '  turn 1  "allô ?"',
      "    speech end        —",
      "    STT final         —",
      "    LLM 1st token     —",
      "    TTS 1st byte      —",
      "    1st frame out     —",
      "    last frame        —",
      '  turn 2  "il y a quelqu\'un ?"',
      "    speech end        0 ms  |",
      "    STT final       200 ms  |████████████████████",
      "    LLM 1st token     —",
      "    TTS 1st byte      —",
      "    1st frame out     —",
      "    last frame        —",
      "  speech end → 1st frame out: no turn reached its first frame",
    ]);
  });

  test("a reply cut off before any barge-in stamp still says so", () => {
    const call = newCall();
    turn(call, "caller", "bonjour", 0, { speechEndAt: 1000 });
    const bot = turn(call, "bot", "Bonjour", 1100, { firstFrameAt: 1500 });
    store.finishTurn(bot, { endedAt: T0 + 1700, interrupted: true });
    const lines = renderWaterfall(buildWaterfall(turnsOf(call)));
    expect(lines).toContain("    barge-in          —  (bot cut off)");
    expect(lines).toContain("    1st frame out   500 ms  |█████████████████████████   ← caller hears the bot");
    expect(lines.at(-1)).toBe("  speech end → 1st frame out: median 500 ms, max 500 ms over 1 turn");
  });

  test("pairs by reply id when both turns know it, skipping other replies in between", () => {
    const call = newCall();
    turn(call, "caller", "je veux parler à quelqu'un", 0, { speechEndAt: 1000 }, { replyId: 5 });
    turn(call, "bot", "stale", 1010, { firstFrameAt: 1100 }, { replyId: 4 });
    const answer = turn(call, "bot", "Je vous passe un conseiller", 1020, { firstFrameAt: 1700 }, { replyId: 5 });
    const [e] = buildWaterfall(turnsOf(call)).exchanges;
    expect(e).toMatchObject({ botTurnId: answer, replyId: 5 });
    expect(e?.offsets.firstFrame).toBe(700);
  });

  test("a slow outlier widens the scale so every line still fits 80 columns", () => {
    const call = newCall();
    turn(call, "caller", "a", 0, { speechEndAt: 0, sttFinalAt: 150 });
    turn(call, "bot", "b", 100, { firstFrameAt: 31_000 });
    const lines = renderWaterfall(buildWaterfall(turnsOf(call)));
    expect(lines[0]).toBe("Latency (ms after the caller stopped speaking; █ = 2000 ms)");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines).toContain("    STT final       150 ms  |");
  });

  test("the median of an odd count is the middle value", () => {
    const call = newCall();
    [300, 900, 500].forEach((firstFrame, i) => {
      turn(call, "caller", `q${i}`, i * 10_000, { speechEndAt: i * 10_000 + 1000 });
      turn(call, "bot", `r${i}`, i * 10_000 + 1001, { firstFrameAt: i * 10_000 + 1000 + firstFrame });
    });
    expect(buildWaterfall(turnsOf(call)).firstFrame).toEqual({ count: 3, medianMs: 500, maxMs: 900 });
  });
});
