import type { TicketRow } from "../store/shapes.ts";

/** Text output shared by `voicebot calls` and `voicebot tickets`: tables, times, sizes. */

export type Align = "left" | "right";

/** A header line over aligned columns. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  return columns([headers, ...rows], align).join("\n");
}

/** Rows padded to each column's widest cell, two spaces apart; no trailing spaces. */
export function columns(rows: readonly (readonly string[])[], align: readonly Align[] = []): string[] {
  const count = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: count }, (_, i) => Math.max(0, ...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((cells) =>
    cells
      .map((c, i) => (align[i] === "right" ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** "0:07", "12:34", "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Offset from the start of the call: "+01:02.3". */
export function formatOffset(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  const m = Math.floor(tenths / 600);
  const s = ((tenths % 600) / 10).toFixed(1).padStart(4, "0");
  return `+${String(m).padStart(2, "0")}:${s}`;
}

/** Local wall-clock time, as the admin reading the terminal lives it: "2026-01-15 10:30:00". */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Enough of a UUID to tell calls apart in a table. */
export function shortUuid(uuid: string): string {
  return uuid.slice(0, 8);
}

/** One line per cell: long texts are cut, line breaks flattened. */
export function cell(value: string | null | undefined, max = 40): string {
  if (value === null || value === undefined || value === "") return "-";
  const flat = value.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "  label        value" lines, labels aligned. */
export function facts(pairs: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}

/** A ticket's own lines, as both `calls show` and `tickets show` print them. */
export function ticketLines(t: TicketRow): string[] {
  return [
    `Ticket #${t.id}  ${t.status}`,
    ...facts([
      ["problem", t.problemType ?? "-"],
      ["phone", t.phone ?? "-"],
      ["customer", t.customer ?? "-"],
      ["description", t.description ?? "-"],
      ["created", formatLocalTime(t.createdAt)],
      ["updated", formatLocalTime(t.updatedAt)],
    ]),
  ];
}
