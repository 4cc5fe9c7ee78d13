/**
 * `voicebot bench --console`: while the calls run, the bench does what a console page open on the
 * live view does to the server (issue #13: the console must add nothing measurable to call
 * pacing). It signs in with the ADMIN_TOKEN it gave serve, keeps the cookie, holds the live event
 * stream open reading every event, and each second asks for the live calls, the health page and the
 * newest 50 calls, now and then opening a finished call as a desk lead clicking one would.
 */
import type { Endpoint } from "../simulate/server-process.ts";
import { roundMs, summarize } from "../simulate/stats.ts";

/** How often the page polls, and every how many polls it opens the newest finished call too. */
export interface ConsolePace {
  pollMs: number;
  openCallEvery: number;
}
const PAGE_PACE: ConsolePace = { pollMs: 1000, openCallEvery: 5 };
const ROUTES = ["/api/live", "/api/health", "/api/calls?limit=50", "/api/calls/{id}"] as const;
type Route = (typeof ROUTES)[number];

interface Latency {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface ConsoleFigures {
  /** SSE events read from /api/live/events, by kind (call-started, turn, …). */
  events: Record<string, number>;
  eventsRead: number;
  /** Request → body read and parsed, per route and over all of them. */
  requests: Record<Route, Latency>;
  allRequests: Latency;
  /** Answers that were not 2xx or not JSON, the event stream ending early: the first few, and how many. */
  failures: string[];
  failed: number;
}

/** The settings that make serve ask for this token (a fresh random one per run). */
export function consoleEnv(token: string): Record<string, string> {
  return { VOICEBOT_ADMIN_TOKEN: token };
}

export function newConsoleToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
}

const MAX_FAILURES_KEPT = 5;

/** One open console page, started by `start` once the server listens, stopped after the calls. */
export class ConsoleWatch {
  private readonly stopping = new AbortController();
  private readonly times = new Map<Route, number[]>(ROUTES.map((r) => [r, []]));
  private readonly events = new Map<string, number>();
  private readonly failures: string[] = [];
  private failed = 0;
  private finishedCallId: number | null = null;
  private readonly running: Promise<void>;

  private constructor(private readonly base: string, private readonly cookie: string, private readonly pace: ConsolePace) {
    this.running = Promise.all([this.readEvents(), this.poll()]).then(() => undefined);
  }

  /** Signs in (POST /api/session) and opens the page's streams; rejects when the sign-in is refused. */
  static async start(http: Endpoint, token: string, pace: ConsolePace = PAGE_PACE): Promise<ConsoleWatch> {
    const base = `http://${http.host}:${http.port}`;
    const res = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, name: "bench" }) });
    const cookie = res.headers.get("set-cookie")?.split(";")[0];
    if (!res.ok || cookie === undefined) throw new Error(`the console sign-in was refused: HTTP ${res.status} ${(await res.text()).trim()}`);
    return new ConsoleWatch(base, cookie, pace);
  }

  /** Closes the page and returns what it did. */
  async stop(): Promise<ConsoleFigures> {
    this.stopping.abort();
    await this.running;
    return this.figures();
  }

  /** What the page did so far. */
  figures(): ConsoleFigures {
    const latency = (values: number[]): Latency => {
      const s = summarize(values);
      return { count: s.count, p50: roundMs(s.p50), p99: roundMs(s.p99), max: roundMs(s.max) };
    };
    const requests = Object.fromEntries(ROUTES.map((r) => [r, latency(this.times.get(r) ?? [])])) as Record<Route, Latency>;
    const events = Object.fromEntries(this.events);
    return {
      events, eventsRead: [...this.events.values()].reduce((a, b) => a + b, 0),
      requests, allRequests: latency([...this.times.values()].flat()),
      failures: [...this.failures], failed: this.failed,
    };
  }

  private fail(what: string): void {
    this.failed++;
    if (this.failures.length < MAX_FAILURES_KEPT) this.failures.push(what);
  }

  /** The live view's stream: every frame split out and its data parsed, as the page does. */
  private async readEvents(): Promise<void> {
    try {
      const res = await fetch(`${this.base}/api/live/events`, { headers: { cookie: this.cookie }, signal: this.stopping.signal });
      if (!res.ok || res.body === null) return this.fail(`GET /api/live/events: HTTP ${res.status}`);
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of res.body) {
        pending += decoder.decode(chunk, { stream: true });
        let end = pending.indexOf("\n\n");
        while (end >= 0) {
          this.onFrame(pending.slice(0, end));
          pending = pending.slice(end + 2);
          end = pending.indexOf("\n\n");
        }
      }
      if (!this.stopping.signal.aborted) this.fail("GET /api/live/events: the server ended the stream during the run");
    } catch (err) {
      if (!this.stopping.signal.aborted) this.fail(`GET /api/live/events: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private onFrame(frame: string): void {
    let kind: string | null = null;
    let data = "";
    for (const line of frame.split("\n")) {
      if (line.startsWith("event: ")) kind = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    // Comments (the opening ": live", keep-alives) carry no event.
    if (kind === null) return;
    try {
      const change = JSON.parse(data) as { callId?: unknown };
      // The call a desk lead would open: the one that just left the live view.
      if (kind === "call-ended" && typeof change.callId === "number") this.finishedCallId = change.callId;
      this.events.set(kind, (this.events.get(kind) ?? 0) + 1);
    } catch {
      this.fail(`GET /api/live/events: a "${kind}" event whose data is not JSON`);
    }
  }

  /** Each second the page's three views, and every few seconds one finished call opened. */
  private async poll(): Promise<void> {
    for (let round = 1; !this.stopping.signal.aborted; round++) {
      const started = performance.now();
      const asks: Promise<unknown>[] = [this.get("/api/live", "/api/live"), this.get("/api/health", "/api/health"), this.get("/api/calls?limit=50", "/api/calls?limit=50")];
      if (round % this.pace.openCallEvery === 0 && this.finishedCallId !== null) asks.push(this.get("/api/calls/{id}", `/api/calls/${this.finishedCallId}`));
      await Promise.all(asks);
      const wait = this.pace.pollMs - (performance.now() - started);
      if (wait > 0 && !this.stopping.signal.aborted) await new Promise<void>((done) => {
        const timer = setTimeout(done, wait);
        this.stopping.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          done();
        }, { once: true });
      });
    }
  }

  /** One request timed to its parsed body; null (and a failure counted) when it did not answer JSON 2xx. */
  private async get(route: Route, path: string): Promise<unknown> {
    const started = performance.now();
    try {
      const res = await fetch(`${this.base}${path}`, { headers: { cookie: this.cookie } });
      const text = await res.text();
      if (!res.ok) {
        this.fail(`GET ${path}: HTTP ${res.status} ${text.trim().slice(0, 120)}`);
        return null;
      }
      const body: unknown = JSON.parse(text);
      this.times.get(route)?.push(performance.now() - started);
      return body;
    } catch (err) {
      this.fail(`GET ${path}: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }
}

/** The report's lines about the console. */
export function formatConsoleFigures(f: ConsoleFigures): string[] {
  const ms = (v: number | null): string => (v === null ? "-" : `${v} ms`);
  const kinds = Object.entries(f.events).map(([kind, n]) => `${n} ${kind}`).join(", ");
  const perRoute = ROUTES.map((r) => `${r} ${f.requests[r].count}× p50 ${ms(f.requests[r].p50)} p99 ${ms(f.requests[r].p99)}`).join("; ");
  const lines = [
    `console events   ${f.eventsRead} read from /api/live/events${kinds === "" ? "" : ` (${kinds})`}`,
    `console requests ${f.allRequests.count} answered, p50 ${ms(f.allRequests.p50)}, p99 ${ms(f.allRequests.p99)}, max ${ms(f.allRequests.max)}; ${perRoute}`,
  ];
  if (f.failed > 0) lines.push(`console failed ×${f.failed}: ${f.failures.join("; ")}`);
  return lines;
}
