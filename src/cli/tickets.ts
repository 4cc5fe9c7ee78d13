import { TICKET_STATUSES, isTicketStatus, type TicketDetail } from "../store/store.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";
import { cell, facts, formatDuration, formatLocalTime, table, ticketLines } from "./format.ts";
import { STORE_READER_HELP, STORE_READER_OPTIONS, openStoreReadonly, parseLimit, type OpenedReader } from "./readonly-store.ts";

const DEFAULT_LIMIT = 20;

const USAGE = `Usage: voicebot tickets list [--status S] [--limit N] [--json]
       voicebot tickets show ID [--json]

The tickets calls have left (the number read to the caller is the ticket ID), read from the
database in the data dir (read only: safe while serve runs).

Subcommands:
  list              the latest tickets, newest first
  show ID           one ticket and the call it came from

Options:
  --status S        only tickets with this status: ${TICKET_STATUSES.join(", ")}
  --limit N         how many tickets \`list\` shows (default ${DEFAULT_LIMIT}, at most 10000)
${STORE_READER_HELP}
`;

export const ticketsCommand: Command = {
  name: "tickets",
  summary: "list the tickets calls left, or show one",
  async run(argv) {
    const options = { ...STORE_READER_OPTIONS, limit: { type: "string" }, status: { type: "string" } } as const;
    const parsed = parseCommandArgs(argv, options, USAGE, true);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError("missing subcommand: list or show (see --help)");
    if (sub !== "list" && sub !== "show") throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: list or show (see --help)`);
    if (sub === "list" && rest.length > 0) throw new UsageError(`tickets list takes no arguments, got ${JSON.stringify(rest[0])} (see --help)`);
    if (sub === "show") {
      if (rest.length !== 1) throw new UsageError("tickets show needs exactly one ticket ID (see --help)");
      if (values.limit !== undefined || values.status !== undefined) throw new UsageError("--limit and --status apply to `tickets list` only (see --help)");
    }
    if (values.status !== undefined && !isTicketStatus(values.status)) {
      throw new UsageError(`--status ${JSON.stringify(values.status)} is not allowed: one of ${TICKET_STATUSES.join(", ")}`);
    }
    const limit = parseLimit(values.limit, DEFAULT_LIMIT);
    const id = sub === "show" ? ticketId(rest[0] as string) : 0;

    const store = await openStoreReadonly("tickets", values);
    if (!store) return 1;
    try {
      return sub === "list" ? await list(store, limit, values.status, values.json === true) : await show(store, id, values.json === true);
    } finally {
      await store.close();
    }
  },
};

function ticketId(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && Number.isSafeInteger(n))) throw new UsageError(`ticket ID ${JSON.stringify(value)} is not allowed: a ticket number such as 12`);
  return n;
}

async function list(store: OpenedReader, limit: number, status: string | undefined, json: boolean): Promise<number> {
  const tickets = await store.reader.listTickets({ limit, status });
  if (json) {
    printJson(tickets);
    return 0;
  }
  if (tickets.length === 0) {
    process.stdout.write(status === undefined ? `no tickets yet in ${store.where}\n` : `no ${status} tickets in ${store.where}\n`);
    return 0;
  }
  const rows = tickets.map((t) => [
    String(t.id),
    t.status,
    cell(t.problemType, 12),
    cell(t.phone, 16),
    cell(t.customer, 20),
    String(t.callId),
    formatLocalTime(t.createdAt),
    cell(t.description, 40),
  ]);
  const text = table(["ID", "STATUS", "PROBLEM", "PHONE", "CUSTOMER", "CALL", "CREATED", "DESCRIPTION"], rows, ["right", "left", "left", "left", "left", "right"]);
  process.stdout.write(`${text}\n${tickets.length} ticket${tickets.length === 1 ? "" : "s"}, newest first\n`);
  return 0;
}

async function show(store: OpenedReader, id: number, json: boolean): Promise<number> {
  const ticket = await store.reader.getTicket(id);
  if (!ticket) {
    process.stderr.write(`voicebot tickets: no ticket with ID ${id} in ${store.where}\n`);
    return 1;
  }
  if (json) printJson(ticket);
  else process.stdout.write(ticketPage(ticket).join("\n") + "\n");
  return 0;
}

function ticketPage(t: TicketDetail): string[] {
  const lines = ticketLines(t);
  const c = t.call;
  if (!c) return [...lines, "", `Call ${t.callId}: not in the database`];
  return [
    ...lines,
    "",
    `Call ${c.id}  ${c.uuid}`,
    ...facts([
      ["caller", c.caller ?? "unknown"],
      ["started", formatLocalTime(c.startedAt)],
      ["duration", c.durationMs === null ? "in progress" : formatDuration(c.durationMs)],
      ["end", c.endDetail ? `${c.endReason} (${c.endDetail})` : (c.endReason ?? "-")],
    ]),
    "",
    `The whole call: voicebot calls show ${c.id}`,
  ];
}
