import { afterAll, beforeAll, beforeEach } from "bun:test";
import { setLogSink } from "../../src/log.ts";

/**
 * The log lines of the tests in this file, emptied before each test: ephemeral ports get reused
 * across a long run, and a line left from an earlier test must not match. Call at module level.
 */
export function captureLogLines(): string[] {
  const lines: string[] = [];
  beforeAll(() => setLogSink((line) => lines.push(line)));
  beforeEach(() => {
    lines.length = 0;
  });
  afterAll(() => setLogSink((line) => process.stderr.write(line + "\n")));
  return lines;
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}
