/** What npm test reads in a `bun test` process's output: its counts, and what each failed test printed. */

export interface Outcome {
  code: number;
  output: string;
}

export interface Counts {
  passed: number;
  failed: number;
}

/** bun test's own " N pass" and " N fail" lines; a process that failed without a failed test counts as one. */
export function countsOf({ code, output }: Outcome): Counts {
  const passed = Number(/^\s*(\d+) pass\s*$/m.exec(output)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail\s*$/m.exec(output)?.[1] ?? 0);
  return { passed, failed: failed + (code !== 0 && failed === 0 ? 1 : 0) };
}

/** Lines kept of what a failed test printed before its "(fail)" line, in the list at the end. */
const FAILURE_LINES = 40;

/**
 * Each failed test's "(fail)" line, then the last lines it printed (its error, expected and
 * received): CI may show only the output's tail, where npm test lists the failures again.
 */
export function failuresIn(output: string): string[] {
  const lines = output.split("\n");
  const seen = new Set<string>();
  const found: string[] = [];
  let testStart = 0;
  for (const [i, line] of lines.entries()) {
    if (!/^\((pass|fail|skip|todo)\)/.test(line)) continue;
    // bun lists a failed test twice (as it happens, and again at its end).
    if (line.startsWith("(fail)") && !seen.has(line)) {
      seen.add(line);
      const printed = lines.slice(Math.max(testStart, i - FAILURE_LINES), i).filter((l) => l.trim() !== "");
      found.push(printed.length === 0 ? line : `${line}\n${printed.map((l) => `    ${l}`).join("\n")}`);
    }
    testStart = i + 1;
  }
  return found;
}
