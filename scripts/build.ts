/**
 * `bun scripts/build.ts`: compiles voicebot into one executable, dist/voicebot, that runs from any
 * directory with no node_modules beside it (side files such as eSpeak's voice data are embedded by
 * `with { type: "file" }` imports in the modules that use them).
 *
 * Workers: each must be listed here, or the binary fails with ModuleNotFound when it starts one.
 * In the binary every module is bundled into the main entry, whose URL is /$bunfs/root/<name>, so
 * `new Worker(new URL("./x.ts", import.meta.url))` looks for /$bunfs/root/x.ts. Hence
 * `--entry-naming=[name].[ext]`: workers land flat at the bunfs root, so their file names must be
 * unique, and each worker must be created from a module in its own directory as "./<file>.ts".
 */
import { basename } from "node:path";

const ENTRY = "src/main.ts";
const WORKERS = ["src/media/resampler-worker.ts", "src/ai/tts/espeak-worker.ts", "src/store/sqlite-writer-worker.ts", "src/media/recording-worker.ts", "src/media/mp3-worker.ts", "src/store/history-worker.ts"] as const;
const OUTFILE = "dist/voicebot";

const root = new URL("..", import.meta.url).pathname;

function fail(message: string): never {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

for (const file of [ENTRY, ...WORKERS]) {
  if (!(await Bun.file(root + file).exists())) fail(`${file} does not exist`);
}
const names = WORKERS.map((file) => basename(file));
const clash = names.find((name, i) => names.indexOf(name) !== i);
if (clash) fail(`two workers are named ${clash}; worker file names must be unique (they share the binary's root)`);

const command = [
  process.execPath,
  "build",
  "--compile",
  "--bytecode",
  "--format=esm",
  "--minify",
  "--entry-naming=[name].[ext]",
  // Runtime settings come from voicebot's own config, never from a bunfig.toml in the cwd.
  "--no-compile-autoload-bunfig",
  ENTRY,
  ...WORKERS,
  "--outfile",
  OUTFILE,
];
process.stdout.write(`${command.slice(1).join(" ")}\n`);
const started = performance.now();
const build = Bun.spawn(command, { cwd: root, stdout: "inherit", stderr: "inherit" });
const code = await build.exited;
if (code !== 0) fail(`bun build exited with status ${code}`);

const size = Bun.file(root + OUTFILE).size;
process.stdout.write(`${OUTFILE}: ${(size / 1024 / 1024).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
