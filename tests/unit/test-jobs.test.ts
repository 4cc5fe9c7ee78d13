import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { jobCount, planJobs, testFiles } from "../../scripts/test-jobs.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("npm test's processes", () => {
  test("the files bun test would run: its four name patterns, anywhere but node_modules, dist and hidden folders", async () => {
    const root = mkdtempSync(join(tmpdir(), "voicebot-test-jobs-"));
    dirs.push(root);
    const files = ["tests/unit/a.test.ts", "tests/browser/page.test.tsx", "src/x_test.ts", "scripts/y.spec.js", "z_spec.jsx",
      "node_modules/dep/skip.test.ts", "dist/skip.test.ts", ".git/skip.test.ts", "tests/support/helper.ts"];
    for (const file of files) {
      mkdirSync(join(root, dirname(file)), { recursive: true });
      writeFileSync(join(root, file), "");
    }
    expect(await testFiles(root)).toEqual(["scripts/y.spec.js", "src/x_test.ts", "tests/browser/page.test.tsx", "tests/unit/a.test.ts", "z_spec.jsx"]);
  });

  test("unit and protocol files share one process, every other file has its own; the longest start first, a new file early", () => {
    const jobs = planJobs(["tests/e2e/storm.test.ts", "tests/protocol/p.test.ts", "tests/e2e/ai-call.test.ts", "tests/unit/a.test.ts", "tests/browser/page.test.ts", "tests/unit/b.test.ts"]);
    expect(jobs.map((j) => j.files)).toEqual([
      ["tests/e2e/ai-call.test.ts"],
      ["tests/protocol/p.test.ts", "tests/unit/a.test.ts", "tests/unit/b.test.ts"],
      ["tests/browser/page.test.ts"],
      ["tests/e2e/storm.test.ts"],
    ]);
    expect(jobs[1]?.name).toBe("tests/unit/ and tests/protocol/ (3 files)");
  });

  test("TEST_JOBS: 3 by default, a whole number from 1 to 16, anything else refused by name", () => {
    expect(jobCount(undefined)).toBe(3);
    expect(jobCount("")).toBe(3);
    expect(jobCount("1")).toBe(1);
    expect(jobCount("16")).toBe(16);
    for (const bad of ["0", "17", "2.5", "two", "-1"]) expect(() => jobCount(bad)).toThrow(`TEST_JOBS "${bad}" is not allowed; give a whole number of processes from 1 to 16`);
  });
});
