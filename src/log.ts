/**
 * One-line, greppable log records on stderr: `2026-11-22T03:42:07.123Z WARN  audiosocket call=… msg key=value`.
 * journald adds its own timestamp, but the admin reading a file or a terminal needs one too.
 */
import { writeSync } from "node:fs";

export type LogLevel = "debug" | "info" | "warn" | "error";

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: number = order[(process.env.LOG_LEVEL as LogLevel | undefined) ?? "info"] ?? order.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + "\n");

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(scope: string, fields?: LogFields): Logger;
}

function formatValue(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "-";
  const s = String(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

function make(scope: string, base: LogFields): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (order[level] < threshold) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${scope}`;
    for (const [k, v] of Object.entries(base)) line += ` ${k}=${formatValue(v)}`;
    line += ` ${msg}`;
    if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
    sink(line);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (childScope, fields) => make(childScope, { ...base, ...fields }),
  };
}

export const rootLogger: Logger = make("voicebot", {});

export function setLogLevel(level: LogLevel): void {
  threshold = order[level];
}

/**
 * For serve: the lines of one turn of the event loop leave in one write. A write to a pipe or the
 * journal costs tens of µs: three lines for each of a thousand calls arriving together would hold
 * the loop for a tenth of a second. Lines still pending when the process exits are written then.
 */
export function batchLogWrites(): void {
  let pending = "";
  const flush = (): void => {
    if (pending === "") return;
    const out = pending;
    pending = "";
    process.stderr.write(out);
  };
  sink = (line) => {
    if (pending === "") setImmediate(flush);
    pending += line + "\n";
  };
  process.on("exit", () => {
    if (pending !== "") writeSync(2, pending);
    pending = "";
  });
}

/** Tests capture log lines instead of printing them. */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}
