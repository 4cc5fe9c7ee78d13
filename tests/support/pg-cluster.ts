/**
 * A throw-away PostgreSQL for tests: Debian's own server binaries (package `postgresql`), a cluster
 * made by initdb in a temp dir, listening on a free port of 127.0.0.1 (its unix socket in that dir,
 * reachable by nobody else), password (scram) auth for the `voicebot` role that tests connect as.
 * initdb refuses to run as root, as tests do here and in CI: the server then runs as `nobody`,
 * which owns the dir. stop()/start() keep the data and the port (outage tests); close() stops the
 * server at once and removes the dir. No server outlives its test process, however it ends: the
 * kernel kills the server with it (bun test runs no exit handler); a dir left by a killed process
 * is swept by a later start.
 */
import { afterAll, beforeAll } from "bun:test";
import { SQL } from "bun";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { requireTool } from "./system-tools.ts";

export const PG_USER = "voicebot";
const SUPERUSER = "postgres";
/** Only the role's own cluster uses it, and it lives as long as the cluster. */
const PASSWORD = "voicebot-test-password";
const NOBODY = { uid: 65534, gid: 65534 };
const READY_WITHIN_MS = 30_000;
/** Then the server is killed outright. */
const SHUTDOWN_WITHIN_MS = 10_000;
/** Longer than any test file runs: a dir this old without a live server was left by a killed test process. */
const STALE_AFTER_MS = 30 * 60_000;

export interface PgCluster {
  readonly port: number;
  /** Its temp dir (the data and the unix socket), removed by close(). */
  readonly dir: string;
  /** `postgres://voicebot:…@127.0.0.1:PORT/DB` (password included). */
  url(database: string): string;
  /** A new empty database owned by `voicebot`; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Shuts the server down (fast), keeping its data: connections fail until start(). */
  stop(): Promise<void>;
  /** Starts it again, on the same port with the same data. */
  start(): Promise<void>;
  /** Kills the server and removes its dir; safe to call twice. */
  close(): Promise<void>;
}

/** The server's binaries: /usr/lib/postgresql/<newest>/bin, not on PATH on Debian (a link on PATH leads there). */
function binDir(): string {
  return realpathSync(requireTool("postgres")).replace(/\/postgres$/, "");
}

/**
 * Runs as `nobody` when we are root (initdb and postgres refuse root); as ourselves otherwise. Either
 * way the kernel kills it when the test process dies (parent-death signal): bun test runs no exit
 * handler, and a test process killed mid-run must not leave a server behind.
 */
function asServerUser(cmd: string[]): string[] {
  const user = process.getuid?.() === 0 ? [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, "--clear-groups"] : [];
  return ["setpriv", ...user, "--pdeathsig=KILL", "--", ...cmd];
}

/** The server user (nobody, when we are root) can reach a dir made under `base`: every ancestor is searchable by others. */
function serverReachable(base: string): boolean {
  if (process.getuid?.() !== 0) return true;
  for (let dir = base; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

/**
 * The dirs of clusters whose test process was killed (its server died with it, the dir stayed):
 * removed once their server is gone and they are older than any test runs.
 */
export function sweepStale(base: string): void {
  for (const name of readdirSync(base)) {
    if (!name.startsWith("voicebot-pg-")) continue;
    const dir = join(base, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs < STALE_AFTER_MS || serverAlive(join(dir, "data", "postmaster.pid"))) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Removed meanwhile by its own process, or not ours to read.
    }
  }
}

function serverAlive(pidFile: string): boolean {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

async function runToEnd(cmd: string[], what: string): Promise<void> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C.UTF-8" } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${(err || out).trim().slice(-2000)}`);
}

/** initdb in a temp dir owned by the server user, then the server started and `voicebot` created. */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = binDir();
  const base = serverReachable(tmpdir()) ? tmpdir() : "/tmp";
  sweepStale(base);
  const dir = mkdtempSync(join(base, "voicebot-pg-"));
  const data = join(dir, "data");
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    chownSync(dir, NOBODY.uid, NOBODY.gid);
    chownSync(pwfile, NOBODY.uid, NOBODY.gid);
  }
  chmodSync(dir, 0o700);
  let server: ReturnType<typeof Bun.spawn> | null = null;
  let log = "";
  let removed = false;
  const remove = async (): Promise<void> => {
    removed = true;
    await halt("SIGQUIT");
    rmSync(dir, { recursive: true, force: true });
  };
  // Chosen again if another process takes it between the probe and the server's bind (tests run in parallel).
  let port = freePort();
  // Through the cluster's own unix socket: a server of another test on the same TCP port must never answer for this one.
  const admin = (): SQL => new SQL({ path: dir, port, username: SUPERUSER, password: PASSWORD, database: "postgres", max: 1 });

  const start = async (): Promise<void> => {
    log = "";
    const proc = Bun.spawn(asServerUser([`${bin}/postgres`, "-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`,
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=40"]), {
      stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C.UTF-8" },
    });
    server = proc;
    const drained = (async () => {
      for await (const chunk of proc.stderr) log += new TextDecoder().decode(chunk);
    })();
    const deadline = Date.now() + READY_WITHIN_MS;
    for (;;) {
      if (proc.exitCode !== null) {
        await drained;
        throw new Error(`postgres exited (${proc.exitCode}) at start-up: ${log.trim().slice(-2000)}`);
      }
      const probe = admin();
      try {
        await probe`SELECT 1`;
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${READY_WITHIN_MS} ms: ${err instanceof Error ? err.message : String(err)}\n${log.slice(-2000)}`);
      } finally {
        await probe.close();
      }
      await Bun.sleep(50);
    }
  };

  /** SIGINT: a fast shutdown (clients cut, a checkpoint); SIGQUIT: immediate, for a dir about to be removed. */
  const halt = async (signal: "SIGINT" | "SIGQUIT"): Promise<void> => {
    const proc = server;
    server = null;
    if (proc === null) return;
    proc.kill(signal);
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(SHUTDOWN_WITHIN_MS).then(() => false)]);
    if (exited) return;
    proc.kill("SIGKILL");
    await proc.exited;
  };
  const stop = (): Promise<void> => halt("SIGINT");

  try {
    await runToEnd(asServerUser([`${bin}/initdb`, "-D", data, "-U", SUPERUSER, `--pwfile=${pwfile}`, "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
      "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"]), "initdb");
    for (let attempt = 1; ; attempt++) {
      try {
        await start();
        break;
      } catch (err) {
        if (attempt === 3 || !log.includes("could not bind")) throw err;
        port = freePort();
      }
    }
    const sql = admin();
    try {
      await sql.unsafe(`CREATE ROLE ${PG_USER} LOGIN PASSWORD '${PASSWORD}'`);
    } finally {
      await sql.close();
    }
  } catch (err) {
    await remove();
    throw err;
  }

  const url = (database: string): string => `postgres://${PG_USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return {
    get port() {
      return port;
    },
    dir,
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`test database name ${JSON.stringify(name)}: lower-case letters, digits and _ only`);
      const sql = admin();
      try {
        await sql.unsafe(`CREATE DATABASE ${name} OWNER ${PG_USER}`);
      } finally {
        await sql.close();
      }
      return url(name);
    },
    stop,
    start,
    async close() {
      if (!removed) await remove();
    },
  };
}

/**
 * One cluster for a test file (started before its first test, closed after its last) and a fresh
 * database per call of `database()`.
 */
export function pgClusterForFile(): { cluster(): PgCluster; database(): Promise<string> } {
  let cluster: PgCluster | null = null;
  let made = 0;
  beforeAll(async () => {
    cluster = await startPgCluster();
  }, READY_WITHIN_MS * 2);
  afterAll(async () => {
    await cluster?.close();
    cluster = null;
  }, SHUTDOWN_WITHIN_MS * 2);
  const get = (): PgCluster => {
    if (cluster === null) throw new Error("the test PostgreSQL is not running (pgClusterForFile() must be called at the top of the test file)");
    return cluster;
  };
  return {
    cluster: get,
    database: () => get().createDatabase(`test_${++made}`),
  };
}
