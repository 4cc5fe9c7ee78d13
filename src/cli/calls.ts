import { statSync } from "node:fs";
import type { CallDetail, CallSummary, RecordingFile } from "../store/store.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { cell, columns, facts, formatBytes, formatDuration, formatLocalTime, formatOffset, shortUuid, table, ticketLines } from "./format.ts";
import { buildWaterfall } from "../store/turn-exchanges.ts";
import { renderWaterfall } from "./waterfall.ts";
import { STORE_READER_HELP, STORE_READER_OPTIONS, openStoreReadonly, parseLimit, type OpenedReader } from "./readonly-store.ts";

const DEFAULT_LIMIT = 20;

const USAGE = `Usage: voicebot calls list [--limit N] [--json]
       voicebot calls show ID|UUID [--json]

The calls voicebot has answered, read from the database in the data dir (read only: safe while serve runs).

Subcommands:
  list              the latest calls, newest first
  show ID|UUID      one call: its facts, recordings, what was said when, events, ticket, and
                    per turn where the time went from the caller's speech end to the bot's
                    first audio frame (--json: the raw stamps per turn, and "latency")

Options:
  --limit N         how many calls \`list\` shows (default ${DEFAULT_LIMIT}, at most 10000)
${STORE_READER_HELP}
`;

export const callsCommand: Command = {
  name: "calls",
  summary: "list the calls answered, or show one with its timeline",
  async run(argv) {
    const parsed = parseCommandArgs(argv, { ...STORE_READER_OPTIONS, limit: { type: "string" } }, USAGE, true);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError("missing subcommand: list or show (see --help)");
    if (sub !== "list" && sub !== "show") throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: list or show (see --help)`);
    if (sub === "list" && rest.length > 0) throw new UsageError(`calls list takes no arguments, got ${JSON.stringify(rest[0])} (see --help)`);
    if (sub === "show" && rest.length !== 1) throw new UsageError("calls show needs exactly one call ID or UUID (see --help)");
    if (sub === "show" && values.limit !== undefined) throw new UsageError("--limit applies to `calls list` only (see --help)");
    const limit = parseLimit(values.limit, DEFAULT_LIMIT);

    const store = await openStoreReadonly("calls", values);
    if (!store) return 1;
    try {
      return sub === "list" ? await list(store, limit, values.json === true) : await show(store, rest[0] as string, values.json === true);
    } finally {
      await store.close();
    }
  },
};

async function list(store: OpenedReader, limit: number, json: boolean): Promise<number> {
  const calls = await store.reader.listCalls({ limit });
  if (json) {
    printJson(calls);
    return 0;
  }
  if (calls.length === 0) {
    process.stdout.write(`no calls yet in ${store.where}\n`);
    return 0;
  }
  const rows = calls.map((c) => [
    String(c.id),
    shortUuid(c.uuid),
    formatLocalTime(c.startedAt),
    c.durationMs === null ? "live" : formatDuration(c.durationMs),
    cell(c.caller, 20),
    c.endReason ?? "in progress",
    c.ticketId === null ? "-" : `#${c.ticketId} ${c.ticketStatus ?? ""}`.trimEnd(),
  ]);
  const text = table(["ID", "UUID", "STARTED", "DURATION", "CALLER", "END", "TICKET"], rows, ["right", "left", "left", "right"]);
  const total = await store.reader.countCalls();
  process.stdout.write(`${text}\n${calls.length} of ${total} call${total === 1 ? "" : "s"}, newest first\n`);
  return 0;
}

async function show(store: OpenedReader, idOrUuid: string, json: boolean): Promise<number> {
  const call = await store.reader.getCall(idOrUuid);
  if (!call) {
    process.stderr.write(`voicebot calls: no call with id or UUID ${JSON.stringify(idOrUuid)} in ${store.where}\n`);
    return 1;
  }
  const latency = buildWaterfall(call.turns);
  if (json) printJson({ ...call, latency });
  else process.stdout.write([...callPage(call), "", ...renderWaterfall(latency)].join("\n") + "\n");
  return 0;
}

function callPage(c: CallDetail): string[] {
  const at = (ms: number): string => formatOffset(ms - c.startedAt);
  const lines = [
    `Call ${c.id}  ${c.uuid}`,
    ...facts([
      ["transport", `${c.transport}, tenant ${c.tenant}, peer ${c.peer}`],
      ["caller", c.caller ?? "unknown"],
      ["started", formatLocalTime(c.startedAt)],
      ["answered", c.answeredAt === null ? "no" : at(c.answeredAt)],
      ["ended", ended(c)],
      ["sample rate", `${c.sampleRate} Hz`],
    ]),
    "",
    "Recordings",
    ...(c.recordings.length === 0 ? ["  none"] : recordingLines(c.recordings)),
    "",
    "Timeline",
  ];
  if (c.turns.length === 0) lines.push("  nothing said");
  const speakerWidth = "caller".length;
  for (const t of c.turns) {
    const cut = t.interrupted ? `  (interrupted${t.endedAt === null ? "" : ` at ${at(t.endedAt)}`})` : "";
    lines.push(`  ${at(t.startedAt)}  ${t.speaker.padEnd(speakerWidth)}  ${t.text}${cut}`);
  }
  lines.push("", "Events");
  if (c.events.length === 0) lines.push("  none");
  const kindWidth = Math.max(0, ...c.events.map((e) => e.kind.length));
  for (const e of c.events) lines.push(`  ${at(e.at)}  ${e.kind.padEnd(kindWidth)}  ${e.detail ?? ""}`.trimEnd());
  for (const t of c.tickets) lines.push("", ...ticketLines(t));
  if (c.tickets.length === 0) lines.push("", "No ticket");
  return lines;
}

function ended(c: CallSummary): string {
  if (c.endedAt === null || c.durationMs === null) return "not yet (in progress)";
  const why = c.endDetail ? `${c.endReason} (${c.endDetail})` : (c.endReason ?? "unknown reason");
  return `${formatLocalTime(c.endedAt)}, after ${formatDuration(c.durationMs)}: ${why}`;
}

/** Size on disk now, and the seconds of audio it holds (s16le: 2 bytes a sample). */
function recordingLines(files: readonly RecordingFile[]): string[] {
  const rows = files.map((f) => {
    let size = "missing";
    try {
      const bytes = statSync(f.path).size;
      size = `${formatBytes(bytes)} (${(bytes / 2 / f.sampleRate).toFixed(1)} s)`;
    } catch {
      // A file moved or deleted since: say so rather than fail the whole page.
    }
    return [`  ${f.channel}`, `${f.sampleRate} Hz`, size, f.path];
  });
  return columns(rows);
}
