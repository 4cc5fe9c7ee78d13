import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { Store } from "../../src/store/store.ts";
import { tempStores } from "../support/temp-stores.ts";

const { tempDir, open, close } = tempStores("voicebot-timings-");
const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);
const NEW_COLUMNS = [
  "speech_end_at", "stt_final_at", "llm_first_token_at", "tts_first_byte_at", "first_frame_at", "last_frame_at", "barge_in_at",
  "llm_provider", "reply_id",
];



function newCall(store: Store): number {
  return store.insertCall({ uuid: "0b5f7c3e-1d2a-4c8e-9f00-123456789abc", transport: "audiosocket", tenant: "default", caller: null, peer: "10.0.0.5:1", sampleRate: 8000, startedAt: T0 });
}


describe("turn timings", () => {
  test("a new turn has every stamp null, and its reply id and provider if given", () => {
    const store = open(tempDir());
    const call = newCall(store);
    const said = store.addTurn(call, { speaker: "caller", text: "ma box ne marche plus", startedAt: T0 });
    const reply = store.addTurn(call, { speaker: "bot", text: "", startedAt: T0 + 700, replyId: 3, llmProvider: "groq:llama-3.3-70b-versatile" });
    const [caller, bot] = store.getCall(call)?.turns ?? [];
    expect(caller).toMatchObject({ id: said, replyId: null, llmProvider: null });
    expect(Object.values(caller?.timings ?? {})).toEqual([null, null, null, null, null, null, null]);
    expect(bot).toMatchObject({ id: reply, replyId: 3, llmProvider: "groq:llama-3.3-70b-versatile" });
  });

  test("setTurnTimings changes only the stamps given; null keeps, a later value replaces", () => {
    const store = open(tempDir());
    const call = newCall(store);
    const bot = store.addTurn(call, { speaker: "bot", text: "", startedAt: T0 });
    store.setTurnTimings(bot, { llmFirstTokenAt: T0 + 431 });
    store.setTurnTimings(bot, { ttsFirstByteAt: T0 + 598, firstFrameAt: T0 + 605 });
    store.setTurnTimings(bot, { llmFirstTokenAt: null, lastFrameAt: T0 + 4210 });
    store.setTurnTimings(bot, { firstFrameAt: T0 + 606 });
    store.setTurnTimings(bot, {});
    expect(store.getCall(call)?.turns[0]?.timings).toEqual({
      speechEndAt: null, sttFinalAt: null, llmFirstTokenAt: T0 + 431, ttsFirstByteAt: T0 + 598, firstFrameAt: T0 + 606,
      lastFrameAt: T0 + 4210, bargeInAt: null,
    });
  });

  test("sub-millisecond stamps are stored as whole ms", () => {
    const store = open(tempDir());
    const call = newCall(store);
    const caller = store.addTurn(call, { speaker: "caller", text: "allô", startedAt: T0 });
    store.setTurnTimings(caller, { speechEndAt: T0 + 1000.4, sttFinalAt: T0 + 1162.6 });
    expect(store.getCall(call)?.turns[0]?.timings).toMatchObject({ speechEndAt: T0 + 1000, sttFinalAt: T0 + 1163 });
  });

  test("setTurnReply and setTurnText fill in what is known later", () => {
    const store = open(tempDir());
    const call = newCall(store);
    const caller = store.addTurn(call, { speaker: "caller", text: "allô", startedAt: T0 });
    const bot = store.addTurn(call, { speaker: "bot", text: "", startedAt: T0 + 500, replyId: 7 });
    store.setTurnReply(caller, { replyId: 7 });
    store.setTurnReply(bot, { llmProvider: "openai:gpt-4o-mini" });
    store.setTurnText(bot, "Bonjour, je vous écoute");
    const [c, b] = store.getCall(call)?.turns ?? [];
    expect(c).toMatchObject({ replyId: 7, llmProvider: null, text: "allô" });
    expect(b).toMatchObject({ replyId: 7, llmProvider: "openai:gpt-4o-mini", text: "Bonjour, je vous écoute" });
  });

  test("bad values and unknown turns are refused with the name, the value and what is allowed", () => {
    const store = open(tempDir());
    const call = newCall(store);
    const turn = store.addTurn(call, { speaker: "bot", text: "", startedAt: T0 });
    expect(() => store.setTurnTimings(turn, { firstFrameAt: Number.NaN })).toThrow(
      "turn timing firstFrameAt NaN is not allowed: epoch milliseconds, a finite number of at least 0",
    );
    expect(() => store.setTurnTimings(turn, { bargeInAt: -5 })).toThrow("turn timing bargeInAt -5 is not allowed");
    expect(() => store.setTurnReply(turn, { replyId: 1.5 })).toThrow("turn reply id 1.5 is not allowed: a whole number of at least 0");
    expect(() => store.setTurnReply(turn, { llmProvider: " " })).toThrow('turn LLM provider " " is not allowed: a non-empty name');
    expect(() => store.addTurn(call, { speaker: "bot", text: "", startedAt: T0, replyId: -1 })).toThrow("turn reply id -1 is not allowed");
    expect(() => store.setTurnTimings(42, { sttFinalAt: T0 })).toThrow("no turn with id 42 in the store");
    expect(() => store.setTurnReply(42, { replyId: 1 })).toThrow("no turn with id 42 in the store");
    expect(() => store.setTurnText(42, "x")).toThrow("no turn with id 42 in the store");
    expect(store.getCall(call)?.turns[0]?.timings.firstFrameAt).toBeNull();
  });
});

describe("tickets for AI calls", () => {
  test("updateTicket sets the customer and the status incomplete", () => {
    const store = open(tempDir());
    const ticket = store.openTicket(newCall(store), { at: T0 });
    store.updateTicket(ticket, { customer: "Mme Martin", status: "incomplete", at: T0 + 1 });
    expect(store.getTicket(ticket)).toMatchObject({ customer: "Mme Martin", status: "incomplete" });
  });
});

describe("migration 2 on a database written by the previous voicebot", () => {
  /** Exactly what a version-1 voicebot left on disk: its schema, its bookkeeping, its rows. */
  function writeV1Database(dataDir: string): void {
    const db = new Database(join(dataDir, "voicebot.db"), { create: true, strict: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    db.run((MIGRATIONS[0] as { sql: string }).sql);
    db.run("INSERT INTO schema_migrations (version, applied_at) VALUES (1, ?)", [T0]);
    db.run("INSERT INTO calls (uuid, transport, tenant, peer, sample_rate, started_at, ended_at, end_reason) VALUES ('old-call', 'audiosocket', 'default', 'p', 8000, ?, ?, 'resolved')", [T0, T0 + 9000]);
    db.run("INSERT INTO turns (call_id, speaker, text, started_at, ended_at, interrupted) VALUES (1, 'bot', 'Bonjour', ?, ?, 1)", [T0 + 100, T0 + 2000]);
    db.run("INSERT INTO turns (call_id, speaker, text, started_at, ended_at) VALUES (1, 'caller', '2', ?, ?)", [T0 + 2000, T0 + 2000]);
    db.run("INSERT INTO tickets (call_id, problem_type, status, created_at, updated_at) VALUES (1, 'mobile', 'resolved', ?, ?)", [T0 + 3000, T0 + 8000]);
    db.close();
  }

  test("readers refuse it until the writer upgrades it", () => {
    const dataDir = tempDir();
    writeV1Database(dataDir);
    expect(() => open(dataDir, { readonly: true })).toThrow(`schema version 1, this voicebot reads version ${MIGRATIONS.length}`);
  });

  test("the writer adds the columns, and the old rows survive with empty timings", () => {
    const dataDir = tempDir();
    writeV1Database(dataDir);
    const store = open(dataDir);
    const call = store.getCall("old-call");
    expect(call).toMatchObject({ id: 1, endReason: "resolved", ticketStatus: "resolved" });
    expect(call?.turns.map((t) => [t.speaker, t.text, t.interrupted, t.replyId, t.llmProvider])).toEqual([
      ["bot", "Bonjour", true, null, null],
      ["caller", "2", false, null, null],
    ]);
    for (const t of call?.turns ?? []) expect(Object.values(t.timings).every((v) => v === null)).toBe(true);
    expect(call?.tickets.map((t) => t.problemType)).toEqual(["mobile"]);

    const first = call?.turns[0]?.id as number;
    store.setTurnTimings(first, { firstFrameAt: T0 + 150 });
    expect(store.getCall(1)?.turns[0]?.timings.firstFrameAt).toBe(T0 + 150);
    close(store);

    const db = new Database(join(dataDir, "voicebot.db"), { readonly: true });
    try {
      const columns = db.query<{ name: string; type: string; notnull: number }, []>("PRAGMA table_info(turns)").all();
      for (const name of NEW_COLUMNS) {
        const col = columns.find((c) => c.name === name);
        expect(col?.type).toBe(name === "llm_provider" ? "TEXT" : "INTEGER");
        expect(col?.notnull).toBe(0);
      }
      const versions = db.query<{ version: number }, []>("SELECT version FROM schema_migrations ORDER BY version").all();
      expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      db.close();
    }
    expect(open(dataDir, { readonly: true }).getCall(1)?.turns).toHaveLength(2);
  });
});
