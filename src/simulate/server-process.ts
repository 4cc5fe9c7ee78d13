/**
 * `voicebot serve` as a child process, for the bench: started from this same executable,
 * watched through its log line and /healthz, measured from /proc, and always stopped.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export interface Endpoint {
  host: string;
  port: number;
}

export interface ProcSample {
  /** utime + stime of the process so far. */
  cpuSeconds: number;
  rssBytes: number;
}

export interface StartOptions {
  dataDir: string;
  maxCalls: number;
  /** More `serve` flags (e.g. `--config FILE`). */
  extraArgs?: readonly string[];
  /** How long to wait for the listening line and then for phrases "ready". */
  readyTimeoutMs?: number;
  /** Aborting stops the wait (and the server). */
  signal?: AbortSignal;
  /** Settings that must win over the caller's environment (VOICEBOT_ names come first). */
  env?: Readonly<Record<string, string>>;
  /** Resolve once it listens, without waiting for its phrases (a cold-start bench calls at once). */
  listeningOnly?: boolean;
}

/** Linux reports /proc times in USER_HZ, fixed at 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;
const TAIL_LINES = 40;
const LISTENING = / listening /;
const AUDIOSOCKET_FIELD = /\baudiosocket=(\S+):(\d+)/;
const HTTP_FIELD = /\bhttp=(\S+):(\d+)/;
/** A /healthz `listeners` value. */
const HOST_PORT = /^(\S+):(\d+)$/;

/**
 * How to run this program's `serve`: the compiled binary runs itself; from source, Bun runs
 * src/main.ts (found next to this file, so the working directory does not matter).
 */
function voicebotCommand(): string[] {
  if (import.meta.path.startsWith("/$bunfs/")) return [process.execPath];
  return [process.execPath, resolve(import.meta.dir, "..", "main.ts")];
}

/** CPU time and resident memory of a live process, from /proc (Linux only). */
function readProcSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces or parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || !rss) throw new Error(`cannot read CPU and RSS of pid ${pid} from /proc`);
  return { cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND, rssBytes: Number(rss[1]) * 1024 };
}

/** Value of an unlabelled sample in Prometheus text, or null when the metric is absent. */
export function metricValue(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{\\})? ([^\\s]+)`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

function endpointFrom(line: string, field: RegExp): Endpoint | null {
  const m = field.exec(line);
  if (!m) return null;
  const host = (m[1] as string).replace(/^\[(.*)\]$/, "$1");
  // A wildcard listener is reached on loopback.
  return { host: host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host, port: Number(m[2]) };
}

export class ServerProcess {
  private readonly tail: string[] = [];
  private listening: ((line: string) => void) | null = null;
  private exitCode: number | null = null;
  audiosocket: Endpoint = { host: "", port: 0 };
  http: Endpoint = { host: "", port: 0 };
  /** The mod_audio_stream WebSocket listener, from /healthz `listeners.audiostream`; null = not reported. */
  audiostream: Endpoint | null = null;
  /** The ASP listener, from /healthz `listeners.asp`; null = not reported. */
  asp: Endpoint | null = null;
  /** The chan_websocket listener, from /healthz `listeners.websocket`; null = not reported. */
  websocket: Endpoint | null = null;
  /** From spawn to the "listening" line: the service start-up time an admin sees. */
  listeningAfterMs = 0;
  /** From spawn to /healthz reporting the phrase cache in memory. */
  phrasesReadyAfterMs = 0;

  private constructor(
    private readonly proc: Bun.Subprocess<"ignore", "ignore", "pipe">,
    private readonly readyTimeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly spawnedAt: number,
  ) {
    void proc.exited.then((code) => (this.exitCode = code));
    void this.drainStderr();
  }

  /** Starts `serve` and resolves once it listens and its phrases are ready; rejects with its log tail otherwise. */
  static async start(options: StartOptions): Promise<ServerProcess> {
    const cmd = [
      ...voicebotCommand(), "serve",
      "--audiosocket", "127.0.0.1:0", "--audiostream", "127.0.0.1:0", "--asp", "127.0.0.1:0", "--websocket", "127.0.0.1:0", "--http", "127.0.0.1:0",
      "--data-dir", options.dataDir, "--max-calls", String(options.maxCalls),
      ...(options.extraArgs ?? []),
    ];
    // The listening line is logged at info: a quieter LOG_LEVEL inherited from the shell would hide it.
    const spawnedAt = performance.now();
    const proc = Bun.spawn({ cmd, stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, ...options.env, VOICEBOT_LOG_LEVEL: "info" } });
    const server = new ServerProcess(proc, options.readyTimeoutMs ?? 120_000, options.signal, spawnedAt);
    try {
      await server.waitUntilReady(options.listeningOnly === true);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get exited(): Promise<number> {
    return this.proc.exited;
  }

  /** The last lines the server logged, for error messages. */
  logTail(): string {
    return this.tail.join("\n");
  }

  sample(): ProcSample {
    return readProcSample(this.proc.pid);
  }

  /** SIGTERM (the server hangs up its calls and flushes), SIGKILL after 10 s. Resolves with the exit code. */
  async stop(): Promise<number> {
    if (this.exitCode !== null) return this.exitCode;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    const code = await this.proc.exited;
    clearTimeout(timer);
    return code;
  }

  /** For a second Ctrl-C: no waiting for calls to be hung up. */
  kill(): void {
    this.proc.kill("SIGKILL");
  }

  /** Resolves once /healthz reports every phrase in memory (or `timeoutMs` after now: rejects). */
  async waitForPhrases(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const health = await this.race(this.health(), deadline, "report its phrases ready");
      if (health.phrases === "ready") {
        this.phrasesReadyAfterMs = performance.now() - this.spawnedAt;
        const listeners = health.listeners as { audiostream?: unknown; asp?: unknown; websocket?: unknown } | undefined;
        this.audiostream = typeof listeners?.audiostream === "string" ? endpointFrom(listeners.audiostream, HOST_PORT) : null;
        this.asp = typeof listeners?.asp === "string" ? endpointFrom(listeners.asp, HOST_PORT) : null;
        this.websocket = typeof listeners?.websocket === "string" ? endpointFrom(listeners.websocket, HOST_PORT) : null;
        return;
      }
      await this.race(Bun.sleep(100), deadline, "report its phrases ready");
    }
  }

  private async waitUntilReady(listeningOnly: boolean): Promise<void> {
    const deadline = performance.now() + this.readyTimeoutMs;
    const line = await this.race(
      new Promise<string>((resolveLine) => (this.listening = resolveLine)),
      deadline,
      "log its listening line",
    );
    const audiosocket = endpointFrom(line, AUDIOSOCKET_FIELD);
    const http = endpointFrom(line, HTTP_FIELD);
    if (!audiosocket || !http) throw new Error(`cannot find audiosocket=HOST:PORT and http=HOST:PORT in the server's line: ${line}`);
    this.audiosocket = audiosocket;
    this.http = http;
    this.listeningAfterMs = performance.now() - this.spawnedAt;
    if (!listeningOnly) await this.waitForPhrases(Math.max(0, deadline - performance.now()));
  }

  /** The /healthz body, or an empty one while it cannot be read. */
  private async health(): Promise<{ phrases?: unknown; listeners?: unknown }> {
    try {
      const res = await fetch(`http://${this.http.host}:${this.http.port}/healthz`);
      return res.ok ? ((await res.json()) as { phrases?: unknown; listeners?: unknown }) : {};
    } catch {
      return {};
    }
  }

  /** `work`, unless the server exits or the deadline passes first: then an error with its log tail. */
  private async race<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`voicebot serve did not ${what} within ${Math.round(this.readyTimeoutMs / 1000)} s`)), Math.max(0, deadline - performance.now()));
    });
    const died = this.proc.exited.then((code): never => {
      throw new Error(`voicebot serve exited with status ${code} before it could ${what}`);
    });
    let onAbort = (): void => {};
    const aborted = new Promise<never>((_, reject) => (onAbort = () => reject(new Error("interrupted"))));
    if (this.signal?.aborted) onAbort();
    this.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await Promise.race([work, late, died, aborted]);
    } catch (err) {
      const tail = this.logTail();
      throw new Error(`${err instanceof Error ? err.message : String(err)}${tail ? `\n--- its last log lines ---\n${tail}` : ""}`);
    } finally {
      clearTimeout(timer);
      this.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Reads stderr to the end (a full pipe would block the server), keeping the last lines. */
  private async drainStderr(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.proc.stderr) {
      partial += decoder.decode(chunk, { stream: true });
      let newline = partial.indexOf("\n");
      while (newline >= 0) {
        this.onLine(partial.slice(0, newline));
        partial = partial.slice(newline + 1);
        newline = partial.indexOf("\n");
      }
    }
    if (partial) this.onLine(partial);
  }

  private onLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.listening && LISTENING.test(line)) {
      this.listening(line);
      this.listening = null;
    }
  }
}
