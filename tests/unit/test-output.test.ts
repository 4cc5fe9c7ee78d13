import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countsOf, failuresIn } from "../../scripts/test-output.ts";

const dir = mkdtempSync(join(tmpdir(), "voicebot-test-output-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real `bun test` run of `source`, its two streams as one in the order written (as npm test reads them). */
async function bunTest(source: string): Promise<{ code: number; output: string }> {
  const file = join(dir, `case-${crypto.randomUUID()}.test.ts`);
  writeFileSync(file, source);
  const proc = Bun.spawn(["sh", "-c", `exec "$0" test "$1" 2>&1`, process.execPath, file], { stdout: "pipe", cwd: dir });
  const [output, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { code, output };
}

describe("npm test's reading of bun test's output", () => {
  test("a failed test is listed once, with what it printed and its expected and received values, and nothing the tests before it printed", async () => {
    const outcome = await bunTest(`
      import { expect, test } from "bun:test";
      test("quiet and fine", () => { console.log(["said by", "the passing test"].join(" ")); expect(1).toBe(1); });
      test("the channels agree", () => { console.log(["caller 14.90 s,", "bot 13.20 s"].join(" ")); expect(13.2).toBe(14.9); });
      test("also fine", () => expect(2).toBe(2));
    `);
    expect(countsOf(outcome)).toEqual({ passed: 2, failed: 1 });
    const failures = failuresIn(outcome.output);
    expect(failures).toHaveLength(1);
    const [first, ...details] = failures[0]!.split("\n");
    expect(first).toStartWith("(fail) the channels agree");
    const text = details.join("\n");
    expect(text).toContain("caller 14.90 s, bot 13.20 s");
    expect(text).toContain("Expected: 14.9");
    expect(text).toContain("Received: 13.2");
    expect(text).not.toContain("said by the passing test");
  });

  test("a process that fails without a failed test counts as one failure", () => {
    expect(countsOf({ code: 1, output: "error: Cannot find module\n 0 pass\n 0 fail\n" })).toEqual({ passed: 0, failed: 1 });
    expect(failuresIn("error: Cannot find module\n")).toEqual([]);
  });
});
