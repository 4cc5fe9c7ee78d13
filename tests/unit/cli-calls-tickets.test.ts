import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callsCommand } from "../../src/cli/calls.ts";
import { UsageError, type Command } from "../../src/cli/command.ts";
import { formatDuration, formatLocalTime, formatOffset, table } from "../../src/cli/format.ts";
import { ticketsCommand } from "../../src/cli/tickets.ts";
import { Store } from "../../src/store/store.ts";

const UUID = "0b5f7c3e-1d2a-4c8e-9f00-123456789abc";
const LIVE_UUID = "7d1e2f3a-0000-4000-8000-00000000beef";
const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);
let root = "";
let dataDir = "";
let callerRecording = "";

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs a command as the dispatcher would, with stdout and stderr captured. */
async function run(cmd: Command, argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const capture = (sink: string[]) => ((chunk: string | Uint8Array) => {
    sink.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    const code = await cmd.run(argv);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
}

async function usageError(cmd: Command, argv: string[]): Promise<string> {
  try {
    await run(cmd, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected a UsageError for ${argv.join(" ")}`);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "voicebot-cli-"));
  dataDir = join(root, "data");
  const store = Store.open(dataDir);
  const id = store.insertCall({ uuid: UUID, transport: "audiosocket", tenant: "default", caller: "+33612345678", peer: "10.0.0.5:40122", sampleRate: 8000, startedAt: T0 });
  store.setCallAnswered(id, T0 + 40);
  const recDir = join(dataDir, "recordings", "2026", "01", "15");
  mkdirSync(recDir, { recursive: true });
  callerRecording = join(recDir, `${UUID}.caller.8000.s16le`);
  writeFileSync(callerRecording, new Uint8Array(16000));
  store.setCallRecordings(id, [
    { channel: "caller", path: callerRecording, sampleRate: 8000 },
    { channel: "bot", path: join(recDir, `${UUID}.bot.8000.s16le`), sampleRate: 8000 },
  ]);
  const greeting = store.addTurn(id, { speaker: "bot", text: "Bonjour, tapez 1 pour Internet", startedAt: T0 + 100 });
  store.finishTurn(greeting, { endedAt: T0 + 2100, interrupted: true });
  store.addTurn(id, { speaker: "caller", text: "1", startedAt: T0 + 2100, endedAt: T0 + 2100 });
  store.addEvent(id, { kind: "dtmf", detail: "1", at: T0 + 2100 });
  const ticket = store.openTicket(id, { problemType: "internet", at: T0 + 2200 });
  store.updateTicket(ticket, { status: "escalated", phone: "0612345678", description: "box en panne", at: T0 + 9000 });
  store.endCall(id, { endedAt: T0 + 10_000, reason: "escalated" });
  store.insertCall({ uuid: LIVE_UUID, transport: "audiosocket", tenant: "default", caller: null, peer: "10.0.0.6:5000", sampleRate: 16000, startedAt: T0 + 60_000 });
  store.close();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("voicebot calls", () => {
  test("list prints an aligned table, newest first", async () => {
    const r = await run(callsCommand, ["list", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toBe("ID  UUID      STARTED              DURATION  CALLER        END          TICKET");
    expect(lines[1]).toBe(` 2  7d1e2f3a  ${formatLocalTime(T0 + 60_000)}      live  -             in progress  -`);
    expect(lines[2]).toBe(` 1  0b5f7c3e  ${formatLocalTime(T0)}      0:10  +33612345678  escalated    #1 escalated`);
    expect(lines[3]).toBe("2 of 2 calls, newest first");
  });

  test("list --limit and --json", async () => {
    const limited = await run(callsCommand, ["list", "--limit", "1", "--data-dir", dataDir]);
    expect(limited.out).toContain("1 of 2 calls");
    const r = await run(callsCommand, ["list", "--json", "--data-dir", dataDir]);
    const calls = JSON.parse(r.out) as { id: number; uuid: string; durationMs: number | null; ticketId: number | null }[];
    expect(calls.map((c) => [c.id, c.uuid, c.durationMs, c.ticketId])).toEqual([[2, LIVE_UUID, null, null], [1, UUID, 10_000, 1]]);
  });

  test("show prints the call's facts, recordings, timeline, events and ticket", async () => {
    const r = await run(callsCommand, ["show", "1", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Call 1  ${UUID}\n`);
    expect(r.out).toContain("  transport    audiosocket, tenant default, peer 10.0.0.5:40122\n");
    expect(r.out).toContain("  answered     +00:00.0\n");
    expect(r.out).toContain(`  ended        ${formatLocalTime(T0 + 10_000)}, after 0:10: escalated\n`);
    expect(r.out).toContain(`  caller  8000 Hz  15.6 KB (1.0 s)  ${callerRecording}\n`);
    expect(r.out).toMatch(/ {2}bot {5}8000 Hz {2}missing {10}\S+\.bot\.8000\.s16le\n/);
    expect(r.out).toContain("Timeline\n  +00:00.1  bot     Bonjour, tapez 1 pour Internet  (interrupted at +00:02.1)\n  +00:02.1  caller  1\n");
    expect(r.out).toContain("Events\n  +00:02.1  dtmf  1\n");
    expect(r.out).toContain("Ticket #1  escalated\n  problem      internet\n  phone        0612345678\n");
  });

  test("show by UUID with --json prints the whole call as one document", async () => {
    const r = await run(callsCommand, ["show", UUID.toUpperCase(), "--json", "--data-dir", dataDir]);
    const call = JSON.parse(r.out) as { id: number; turns: unknown[]; events: unknown[]; tickets: { status: string }[] };
    expect(call.id).toBe(1);
    expect(call.turns).toHaveLength(2);
    expect(call.events).toHaveLength(1);
    expect(call.tickets[0]?.status).toBe("escalated");
  });

  test("an unknown call is an error on stderr, exit 1", async () => {
    const r = await run(callsCommand, ["show", "99", "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(`voicebot calls: no call with id or UUID "99" in ${join(dataDir, "voicebot.db")}\n`);
  });

  test("a data dir without a database is an error on stderr, exit 1", async () => {
    const empty = join(root, "empty");
    const r = await run(callsCommand, ["list", "--data-dir", empty]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no database at ${join(empty, "voicebot.db")}: has \`voicebot serve\` run with this data dir?`);
  });

  test("--help lists the subcommands and options", async () => {
    const r = await run(callsCommand, ["--help"]);
    expect(r.code).toBe(0);
    for (const word of ["Usage: voicebot calls list", "voicebot calls show ID|UUID", "--limit N", "--json", "--data-dir DIR", "--config FILE", "--help"]) {
      expect(r.out).toContain(word);
    }
    expect((await run(callsCommand, ["show", "--help"])).out).toBe(r.out);
  });

  test("bad usage is a UsageError naming the problem", async () => {
    expect(await usageError(callsCommand, [])).toContain("missing subcommand: list or show");
    expect(await usageError(callsCommand, ["delete"])).toContain('unknown subcommand "delete"');
    expect(await usageError(callsCommand, ["list", "extra"])).toContain('calls list takes no arguments, got "extra"');
    expect(await usageError(callsCommand, ["show"])).toContain("needs exactly one call ID or UUID");
    expect(await usageError(callsCommand, ["show", "1", "--limit", "3"])).toContain("--limit applies to `calls list` only");
    expect(await usageError(callsCommand, ["list", "--limit", "0"])).toContain('--limit "0" is not allowed: a whole number from 1 to 10000');
    expect(await usageError(callsCommand, ["list", "--bogus"])).toContain("bogus");
  });
});

describe("voicebot tickets", () => {
  test("list prints a table and filters by status", async () => {
    const r = await run(ticketsCommand, ["list", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toBe("ID  STATUS     PROBLEM   PHONE       CUSTOMER  CALL  CREATED              DESCRIPTION");
    expect(lines[1]).toBe(` 1  escalated  internet  0612345678  -            1  ${formatLocalTime(T0 + 2200)}  box en panne`);
    expect(lines[2]).toBe("1 ticket, newest first");
    const none = await run(ticketsCommand, ["list", "--status", "resolved", "--data-dir", dataDir]);
    expect(none.out).toBe(`no resolved tickets in ${join(dataDir, "voicebot.db")}\n`);
    const json = await run(ticketsCommand, ["list", "--status", "escalated", "--json", "--data-dir", dataDir]);
    expect((JSON.parse(json.out) as { id: number }[]).map((t) => t.id)).toEqual([1]);
  });

  test("show prints the ticket and its call; --json the same as one document", async () => {
    const r = await run(ticketsCommand, ["show", "1", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Ticket #1  escalated\n");
    expect(r.out).toContain("  description  box en panne\n");
    expect(r.out).toContain(`Call 1  ${UUID}\n`);
    expect(r.out).toContain("  duration  0:10\n");
    expect(r.out).toContain("The whole call: voicebot calls show 1\n");
    const json = JSON.parse((await run(ticketsCommand, ["show", "1", "--json", "--data-dir", dataDir])).out) as { id: number; call: { uuid: string } };
    expect(json.id).toBe(1);
    expect(json.call.uuid).toBe(UUID);
  });

  test("an unknown ticket is an error on stderr, exit 1", async () => {
    const r = await run(ticketsCommand, ["show", "7", "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`voicebot tickets: no ticket with ID 7 in ${join(dataDir, "voicebot.db")}\n`);
  });

  test("--help and bad usage", async () => {
    const help = await run(ticketsCommand, ["list", "--help"]);
    expect(help.code).toBe(0);
    for (const word of ["Usage: voicebot tickets list", "voicebot tickets show ID", "--status S", "open, resolved, escalated, abandoned, incomplete", "--data-dir DIR", "--config FILE"]) {
      expect(help.out).toContain(word);
    }
    expect(await usageError(ticketsCommand, ["list", "--status", "closed"])).toContain('--status "closed" is not allowed: one of open, resolved');
    expect(await usageError(ticketsCommand, ["show", "abc"])).toContain('ticket ID "abc" is not allowed');
    expect(await usageError(ticketsCommand, ["show", "1", "--status", "open"])).toContain("apply to `tickets list` only");
  });
});

describe("formatting", () => {
  test("durations, offsets and tables", () => {
    expect([formatDuration(7_400), formatDuration(754_000), formatDuration(3_723_000)]).toEqual(["0:07", "12:34", "1:02:03"]);
    expect([formatOffset(0), formatOffset(62_340), formatOffset(600_000)]).toEqual(["+00:00.0", "+01:02.3", "+10:00.0"]);
    expect(table(["N", "NAME"], [["1", "a"], ["10", "bb"]], ["right"])).toBe(" N  NAME\n 1  a\n10  bb");
  });
});
