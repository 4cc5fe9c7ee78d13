/**
 * `npm test`: typecheck, build the single executable (the e2e tests run it), then every test.
 * Ends with the plain "N passed, N failed" line CI reads, and a non-zero status on any failure.
 */
export {};

const bun = process.execPath;

async function step(name: string, cmd: string[]): Promise<{ code: number; output: string }> {
  process.stdout.write(`\n== ${name}: ${cmd.join(" ")}\n`);
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: process.env });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      sink.write(text);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  return { code: await proc.exited, output };
}

const typecheck = await step("typecheck", [bun, "x", "tsc", "--noEmit", "-p", "."]);
// The console page is browser code: its own settings (DOM, no Bun).
const typecheckPage = await step("typecheck the console page", [bun, "x", "tsc", "--noEmit", "-p", "src/console"]);
if (typecheck.code !== 0 || typecheckPage.code !== 0) {
  process.stdout.write("\n0 passed, 1 failed\n");
  process.exit(1);
}
const build = await step("build", [bun, "scripts/build.ts"]);
if (build.code !== 0) {
  process.stdout.write("\n0 passed, 1 failed\n");
  process.exit(1);
}
const tests = await step("tests", [bun, "test", ...process.argv.slice(2)]);
const passed = Number(/^\s*(\d+) pass\s*$/m.exec(tests.output)?.[1] ?? 0);
const failed = Number(/^\s*(\d+) fail\s*$/m.exec(tests.output)?.[1] ?? 0);
const broken = tests.code !== 0 && failed === 0 ? 1 : 0;
process.stdout.write(`\n${passed} passed, ${failed + broken} failed\n`);
process.exit(tests.code === 0 && passed > 0 ? 0 : 1);
