import { expect } from "bun:test";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whole calls take tens of seconds of real time: the audio is paced, not simulated. */
export const E2E_TIMEOUT_MS = 180_000;

export const BINARY = new URL("../../dist/voicebot", import.meta.url).pathname;

export function requireBinary(): void {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`npm run build\` (npm test does it first)`);
}

export interface RunningServer {
  audiosocket: { host: string; port: number };
  http: string;
  dataDir: string;
  logs: () => string;
  /** Sends a signal (SIGTERM twice, say) without waiting; `exited` resolves with the exit status. */
  signal(name: NodeJS.Signals): void;
  exited: Promise<number>;
  stop(): Promise<number>;
}

/** Where one of the server's listeners took its port ("host:port"), as /healthz reports it. */
export async function listenerOf(server: Pick<RunningServer, "http">, name: "audiostream" | "websocket" | "asp"): Promise<string> {
  const health = (await (await fetch(`${server.http}/healthz`)).json()) as { listeners: Partial<Record<string, string>> };
  const where = health.listeners[name];
  if (where === undefined) throw new Error(`/healthz lists no ${name} listener`);
  return where;
}

/** Only what the binary needs: no provider keys leak in from the developer's shell. */
function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "info", ...extra };
}

/**
 * The compiled binary serving on free ports, from another working directory; resolves once its
 * phrases are ready, or with `waitForPhrases: false` as soon as it listens (a cold start).
 */
export async function startServer(env: Record<string, string> = {}, args: string[] = [], options: { waitForPhrases?: boolean } = {}): Promise<RunningServer> {
  requireBinary();
  const dataDir = mkdtempSync(join(tmpdir(), "voicebot-e2e-"));
  const proc = Bun.spawn([BINARY, "serve", "--audiosocket", "127.0.0.1:0", "--audiostream", "127.0.0.1:0", "--asp", "127.0.0.1:0", "--websocket", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir", dataDir, ...args], {
    cwd: tmpdir(), env: baseEnv(env), stdout: "pipe", stderr: "pipe",
  });
  let logs = "";
  const decoder = new TextDecoder();
  const waiter: { resolve: ((m: RegExpExecArray) => void) | null } = { resolve: null };
  const found = new Promise<RegExpExecArray>((resolve) => (waiter.resolve = resolve));
  (async () => {
    for await (const chunk of proc.stderr) {
      logs += decoder.decode(chunk, { stream: true });
      const m = / listening .*audiosocket=([\d.]+):(\d+).*http=([\d.]+:\d+)/.exec(logs);
      if (m && waiter.resolve) {
        waiter.resolve(m);
        waiter.resolve = null;
      }
    }
  })();
  const m = await Promise.race([
    found,
    proc.exited.then((code) => {
      throw new Error(`serve exited with ${code} before listening:\n${logs}`);
    }),
  ]);
  const http = `http://${m[3]}`;
  for (let i = 0; i < 600 && options.waitForPhrases !== false; i++) {
    const health = (await (await fetch(`${http}/healthz`)).json()) as { phrases: string };
    if (health.phrases === "ready") break;
    await Bun.sleep(100);
  }
  return {
    audiosocket: { host: m[1] as string, port: Number(m[2]) },
    http,
    dataDir,
    logs: () => logs,
    signal: (name) => proc.kill(name),
    exited: proc.exited,
    async stop() {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
      printWarnings(logs);
      return code;
    },
  };
}

/** Server lines kept in a test's output: a failed test's list at the end of npm test shows what serve said. */
const WARNINGS_SHOWN = 8;

/** The server's last WARN and ERROR lines after it listened (a hold-up, a refused write, a fault). */
function printWarnings(logs: string): void {
  const after = logs.slice(Math.max(0, logs.indexOf(" listening ")));
  const lines = after.split("\n").filter((l) => / (WARN|ERROR) /.test(l)).slice(-WARNINGS_SHOWN);
  if (lines.length > 0) console.error(`serve's last WARN/ERROR lines:\n${lines.join("\n")}`);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  requireBinary();
  const proc = Bun.spawn([BINARY, ...args], { cwd: tmpdir(), env: baseEnv(env), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** After the calls: every fault was handled, none left to the runtime, and the server stops cleanly. */
export async function expectCleanStop(server: RunningServer): Promise<void> {
  expect(server.logs()).not.toContain("unhandled rejection");
  expect(server.logs()).not.toContain("call handler failed");
  expect(await server.stop()).toBe(0);
}
