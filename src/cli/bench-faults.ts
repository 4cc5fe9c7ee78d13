/**
 * `voicebot bench --fake-providers --fault KIND`: N AI calls at once while one provider fails every
 * request in one way, each caller doing what a person would with that fault (speaking, or the
 * keypad once the bot asks for it). Reported per call: the longest silence the caller did not
 * cause, speech end → first bot audio, and the ticket's status, checked against the status the
 * fallback must leave (issue #11: everyone hears the bot within 2.5 s of finishing speaking).
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { DATABASE_FILE } from "../store/db.ts";
import type { FakeChatFault } from "../../tests/fakes/chat.ts";
import type { FakeDeepgramFault } from "../../tests/fakes/deepgram.ts";
import type { SpeechFault } from "../../tests/fakes/speech.ts";
import { simulatedPbxClock, SimulatedCaller } from "../simulate/caller.ts";
import type { CallResult, CallSetup, ScriptStep } from "../simulate/call-types.ts";
import type { FakeStack } from "../simulate/fake-stack.ts";
import { concatSamples, roundMs, summarize, type Summary } from "../simulate/stats.ts";
import { UsageError } from "./command.ts";

export const FAULT_KINDS = ["stt-stall", "stt-500", "stt-drop", "tts-stall", "tts-500", "llm-stall", "llm-500"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The issue's figure: every caller hears the bot within this of finishing speaking. */
export const SILENCE_TARGET_MS = 2500;
const CALL_RAMP_MS = 1000;
const GREETING_TIMEOUT_MS = 5000;
const ROWS_WAIT_MS = 5000;

export function parseFault(value: string | undefined): FaultKind | null {
  if (value === undefined) return null;
  const kind = FAULT_KINDS.find((k) => k === value);
  if (kind === undefined) throw new UsageError(`--fault "${value}" is not allowed; use one of ${FAULT_KINDS.join(", ")}`);
  return kind;
}

type Turn = "speak" | "keypad";

interface FaultPlan {
  describe: string;
  /** Utterances said in order, then the keypad's two answers (internet, then "it works"). */
  turns: readonly Turn[];
  /** The ticket status the fallback must leave, and the call's end reason. */
  ticket: string;
  endReason: string;
  deepgram?: FakeDeepgramFault;
  chat?: FakeChatFault;
  speech?: SpeechFault;
}

const talk: readonly Turn[] = ["speak", "speak", "speak"];
/** Once the bot says "Continuons avec le clavier", the caller answers its menu and question. */
const toKeypad: readonly Turn[] = ["keypad", "keypad"];

const PLANS: Readonly<Record<FaultKind, FaultPlan>> = {
  "stt-stall": { describe: "every Deepgram stream stays open and takes audio, but sends no result", turns: ["speak", ...toKeypad], ticket: "resolved", endReason: "resolved", deepgram: { kind: "stall" } },
  "stt-500": { describe: "every Deepgram handshake is refused with HTTP 500", turns: toKeypad, ticket: "resolved", endReason: "resolved", deepgram: { kind: "reject", status: 500 } },
  "stt-drop": { describe: "every Deepgram stream is closed 1011 700 ms after it opens", turns: toKeypad, ticket: "resolved", endReason: "resolved", deepgram: { kind: "drop", afterMs: 700 } },
  "tts-stall": { describe: "every speech request gets no response at all", turns: talk, ticket: "resolved", endReason: "resolved", speech: { kind: "stall" } },
  "tts-500": { describe: "every speech request is answered HTTP 500", turns: talk, ticket: "resolved", endReason: "resolved", speech: { kind: "status", status: 500 } },
  "llm-stall": { describe: "every chat request, on both models, sends its headers and no token", turns: talk, ticket: "incomplete", endReason: "ai-error", chat: { kind: "stall" } },
  "llm-500": { describe: "every chat request, on both models, is answered HTTP 500", turns: talk, ticket: "incomplete", endReason: "ai-error", chat: { kind: "status", status: 500 } },
};

export interface FaultBenchOptions {
  fault: FaultKind;
  calls: number;
  /** Each call is hung up by its caller after this long. */
  seconds: number;
  json: boolean;
  signal: AbortSignal;
  /** The callers' utterances at the call's rate, in the order the fake recognizer hears them. */
  audio: readonly Int16Array[];
  stack: FakeStack;
  /** A call's target and rate (AudioSocket, or mod_audio_stream through the fake FreeSWITCH). */
  setup(common: { script: ScriptStep[]; greetingTimeoutMs: number }): CallSetup;
}

interface CallRow {
  uuid: string;
  endReason: string | null;
  ticket: string | null;
}

function script(plan: FaultPlan, audio: readonly Int16Array[], seconds: number): ScriptStep[] {
  let said = 0;
  const steps: ScriptStep[] = plan.turns.map((turn) => (turn === "speak" ? { say: audio[said++ % audio.length] as Int16Array } : { dtmf: "1" }));
  steps.push({ hangupAfter: seconds });
  return steps;
}

/** Each call's row once the server closed it (it may see the hang-up after the caller does). */
async function callRows(dataDir: string, uuids: readonly string[]): Promise<Map<string, CallRow>> {
  const deadline = Date.now() + ROWS_WAIT_MS;
  for (;;) {
    const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
    let rows: CallRow[];
    try {
      rows = db.query<CallRow, []>(`SELECT c.uuid AS uuid, c.end_reason AS endReason, t.status AS ticket FROM calls c LEFT JOIN tickets t ON t.call_id = c.id`).all();
    } finally {
      db.close();
    }
    const byUuid = new Map(rows.map((r) => [r.uuid, r]));
    if (uuids.every((u) => (byUuid.get(u)?.endReason ?? null) !== null) || Date.now() > deadline) return byUuid;
    await Bun.sleep(100);
  }
}

function failureOf(r: CallResult, row: CallRow | undefined, plan: FaultPlan): string | null {
  if (r.error !== null) return r.error;
  if (r.hungUpBy !== "server") return "the caller hung up (the call did not end in time)";
  if (row === undefined) return "no call row in the server's database";
  if (row.ticket !== plan.ticket) return `ticket ${row.ticket ?? "missing"}, expected ${plan.ticket}`;
  if (row.endReason !== plan.endReason) return `call ended ${row.endReason ?? "without a reason"}, expected ${plan.endReason}`;
  return null;
}

const ms = (v: number): string => (Number.isFinite(v) ? `${roundMs(v)} ms` : "-");
const rounded = (s: Summary) => ({ count: s.count, p50: roundMs(s.p50), p99: roundMs(s.p99), max: roundMs(s.max) });

/** Runs the calls once each under the fault; returns the exit status. */
export async function runFaultBench(o: FaultBenchOptions): Promise<number> {
  const plan = PLANS[o.fault];
  const { deepgram, chat, speech } = o.stack.fakes;
  if (plan.deepgram) deepgram.failAll(plan.deepgram);
  if (plan.chat) chat.failAll(plan.chat);
  if (plan.speech) speech.failAlways(plan.speech);
  if (!o.json) process.stderr.write(`bench: ${o.calls} calls under ${o.fault} (${plan.describe})...\n`);
  const clock = simulatedPbxClock();
  const results = await Promise.all(Array.from({ length: o.calls }, async (_, i) => {
    await Bun.sleep((i * CALL_RAMP_MS) / o.calls);
    const setup = o.setup({ script: script(plan, o.audio, o.seconds), greetingTimeoutMs: GREETING_TIMEOUT_MS });
    return new SimulatedCaller({ ...setup, clock, signal: o.signal }).run();
  }));
  const unreachable = results.find((r) => !r.connected);
  if (unreachable) throw new Error(unreachable.error ?? "the server could not be reached");
  const rows = await callRows(o.stack.dataDir, results.map((r) => r.uuid));

  const perCall = results.map((r) => {
    const row = rows.get(r.uuid);
    return {
      uuid: r.uuid, longestSilenceMs: roundMs(r.longestSilenceMs), speechEndToBotAudioMs: r.responseMs.map(roundMs),
      ticket: row?.ticket ?? null, endReason: row?.endReason ?? null, failure: failureOf(r, row, plan),
    };
  });
  const failures = new Map<string, number>();
  for (const c of perCall) if (c.failure !== null) failures.set(c.failure, (failures.get(c.failure) ?? 0) + 1);
  const tickets: Record<string, number> = {};
  for (const row of rows.values()) if (row.ticket !== null) tickets[row.ticket] = (tickets[row.ticket] ?? 0) + 1;
  const response = summarize(concatSamples(results.map((r) => r.responseMs)));
  const silence = summarize(results.map((r) => r.longestSilenceMs));
  const withinTarget = results.filter((r) => r.longestSilenceMs <= SILENCE_TARGET_MS).length;
  const failed = perCall.filter((c) => c.failure !== null).length;
  const report = {
    fault: o.fault, describe: plan.describe, calls: o.calls, expected: { ticket: plan.ticket, endReason: plan.endReason },
    failed, failures: Object.fromEntries(failures),
    speechEndToBotAudioMs: rounded(response), longestSilenceMs: rounded(silence),
    silenceTargetMs: SILENCE_TARGET_MS, callsWithinTarget: withinTarget, tickets, perCall,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const lines = [
      `fault            ${o.fault}: ${plan.describe}`,
      `calls            ${o.calls - failed} as expected (ticket ${plan.ticket}, ended ${plan.endReason}), ${failed} failed`,
      `speech end → bot audio  p50 ${ms(response.p50)}, p99 ${ms(response.p99)}, max ${ms(response.max)} (${response.count} turns)`,
      `longest silence  p50 ${ms(silence.p50)}, max ${ms(silence.max)} per call (not caused by the caller); ≤ ${SILENCE_TARGET_MS} ms in ${withinTarget} of ${o.calls} calls`,
      `tickets          ${Object.entries(tickets).map(([status, n]) => `${status} ${n}`).join(", ") || "none"}`,
      ...perCall.map((c) => `  ${c.uuid.slice(0, 8)}  silence ${ms(c.longestSilenceMs ?? NaN)}  turns [${c.speechEndToBotAudioMs.join(", ")}] ms  ticket ${c.ticket ?? "-"}, ${c.endReason ?? "-"}${c.failure ? `  FAILED: ${c.failure}` : ""}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return failed > 0 || withinTarget < o.calls ? 1 : 0;
}
