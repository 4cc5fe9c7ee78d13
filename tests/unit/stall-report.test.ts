import { expect, test } from "bun:test";
import { stallReporter } from "../../src/cli/stall-report.ts";
import type { Logger } from "../../src/log.ts";

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => {}, info: () => {}, error: () => {},
    warn: (msg, fields) => void lines.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    child: () => log,
  };
  return { log, lines };
}

test("a hold-up of half a second or more is logged with its length; shorter ones are not", () => {
  const { log, lines } = capture();
  const report = stallReporter(log, () => 0);
  report(120);
  report(499);
  expect(lines).toEqual([]);
  report(2130.4);
  expect(lines).toEqual([`the event loop was held up: every call's audio stopped meanwhile (past 2 s, Asterisk hangs up) {"ms":2130}`]);
});

test("at most one line per 10 s; the next one counts those left out and the worst of them", () => {
  const { log, lines } = capture();
  let now = 0;
  const report = stallReporter(log, () => now);
  report(600);
  now = 3000;
  report(900);
  now = 6000;
  report(700);
  now = 10_000;
  report(550);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toEndWith(`{"ms":550,"moreSinceLastLine":2,"worstOfThoseMs":900}`);
  now = 25_000;
  report(800);
  expect(lines[2]).toEndWith(`{"ms":800}`);
});
