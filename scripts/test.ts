/**
 * `npm test`: typecheck, build the single executable (the e2e tests run it), then every test.
 * The test files run in TEST_JOBS `bun test` processes at once (scripts/test-jobs.ts); each
 * process's output is printed whole when it ends, under its name, and the failed tests are listed
 * again at the end. `npm test -- FILES…` runs just those, in one process, its output as it comes.
 * Ends with the plain "N passed, N failed" line CI reads, and a non-zero status on any failure.
 */
import { installCommand, missingPackages } from "../tests/support/system-tools.ts";
import { jobCount, planJobs, testFiles, type TestJob } from "./test-jobs.ts";
import { MARKER_VARIABLE, killLeftovers, newMarker } from "./test-processes.ts";
import { countsOf, failuresIn, type Counts, type Outcome } from "./test-output.ts";

const bun = process.execPath;

/** Runs a command; its output is streamed to ours when `live`, kept whole in any case. */
function run(cmd: string[], live: boolean, env: Record<string, string | undefined> = process.env): { done: Promise<Outcome>; output: () => string; kill: (signal: NodeJS.Signals) => void } {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream): Promise<void> => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      if (live) sink.write(text);
    }
  };
  const done = Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]).then(async () => ({ code: await proc.exited, output }));
  return { done, output: () => output, kill: (signal) => proc.kill(signal) };
}

async function step(name: string, cmd: string[]): Promise<Outcome> {
  process.stdout.write(`\n== ${name}: ${cmd.join(" ")}\n`);
  return run(cmd, true).done;
}

function finish({ passed, failed }: Counts): never {
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

/** The jobs, `width` at a time, longest first; each job's output printed whole as it ends. */
async function runJobs(jobs: TestJob[], width: number): Promise<Counts> {
  const running = new Map<TestJob, ReturnType<typeof run>>();
  // Cut short (Ctrl-C, CI's timeout): show what the unfinished jobs said so far, then stop them.
  const interrupt = (signal: NodeJS.Signals): void => {
    for (const [job, proc] of running) {
      process.stdout.write(`\n== ${job.name}: interrupted; its output so far:\n${proc.output()}`);
      proc.kill(signal);
      killLeftovers(newMarker(job.name));
    }
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  const total: Counts = { passed: 0, failed: 0 };
  const summary: string[] = [];
  const failures: string[] = [];
  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      const started = performance.now();
      process.stdout.write(`-- started ${job.name}\n`);
      // "./": a path, not a name filter that could match other files too.
      const marker = newMarker(job.name);
      const proc = run([bun, "test", ...job.files.map((f) => `./${f}`)], false, { ...process.env, [MARKER_VARIABLE]: marker });
      running.set(job, proc);
      const outcome = await proc.done;
      running.delete(job);
      const leftovers = killLeftovers(marker);
      if (leftovers.length > 0) {
        outcome.output += `\n${job.name} left ${leftovers.length} process(es) running after it ended; killed:\n${leftovers.join("\n")}\n`;
        process.stdout.write(`-- ${job.name} left processes running; killed ${leftovers.length}\n`);
      }
      const counts = countsOf(outcome);
      const line = `${job.name}: ${counts.passed} pass, ${counts.failed} fail, ${((performance.now() - started) / 1000).toFixed(1)} s`;
      process.stdout.write(`\n== ${line}\n${outcome.output.trimEnd()}\n\n`);
      summary.push(line);
      const failedTests = failuresIn(outcome.output);
      const crashed = outcome.output.includes("# Unhandled error") ? "an unhandled error between tests (see its output above)" : `exited with status ${outcome.code}`;
      const why = failedTests.length > 0 ? failedTests : counts.failed > 0 ? [crashed] : [];
      failures.push(...why.map((l) => `${job.name}: ${l}`));
      total.passed += counts.passed;
      total.failed += counts.failed;
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  process.stdout.write(`\n== tests, ${jobs.length} processes, ${width} at a time:\n${summary.join("\n")}\n`);
  if (failures.length > 0) process.stdout.write(`\nFailed:\n${failures.join("\n")}\n`);
  return total;
}

/**
 * The Debian tools some tests check with (tests/support/system-tools.ts): installed here when
 * missing and this runs as root with apt, as on a fresh CI machine; otherwise the tests that need
 * them fail, and this says now which command fixes it.
 */
async function provideSystemTools(): Promise<void> {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const apt = Bun.which("apt-get");
  if (process.getuid?.() === 0 && apt !== null) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = [apt, "install", "-y", "--no-install-recommends", ...missing];
    process.stdout.write(`\n== system tools the tests need: installing ${missing.join(" ")}\n`);
    if ((await run(install, true, env).done).code !== 0) {
      await run([apt, "update"], true, env).done;
      await run(install, true, env).done;
    }
  }
  const still = missingPackages();
  if (still.length > 0) process.stdout.write(`\n== MISSING system tools: the tests that need them will fail. Install them with:\n   ${installCommand(still)}\n`);
}

let width: number;
try {
  width = jobCount(process.env.TEST_JOBS);
} catch (err) {
  process.stderr.write(`npm test: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
await provideSystemTools();
const typecheck = await step("typecheck", [bun, "x", "tsc", "--noEmit", "-p", "."]);
// The console page is browser code: its own settings (DOM, no Bun).
const typecheckPage = await step("typecheck the console page", [bun, "x", "tsc", "--noEmit", "-p", "src/console"]);
if (typecheck.code !== 0 || typecheckPage.code !== 0) finish({ passed: 0, failed: 1 });
const build = await step("build", [bun, "scripts/build.ts"]);
if (build.code !== 0) finish({ passed: 0, failed: 1 });

const asked = process.argv.slice(2);
if (asked.length > 0) finish(countsOf(await step("tests", [bun, "test", ...asked])));
const started = performance.now();
const counts = await runJobs(planJobs(await testFiles(process.cwd())), width);
process.stdout.write(`tests took ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
finish(counts);
