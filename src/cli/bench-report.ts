/** The offline bench's figures: built from the tally, printed as text or JSON. */
import type { CallResult } from "../simulate/call-types.ts";
import { formatConsoleFigures, type ConsoleFigures } from "./bench-console.ts";
import type { Lateness } from "../simulate/clock-figures.ts";
import type { RunWait } from "../simulate/cpu-wait.ts";
import type { HostCpuUse } from "../simulate/host-cpu.ts";
import type { Outcomes } from "../simulate/redial.ts";
import type { RssPoint } from "../simulate/rss-watch.ts";
import { concatSamples, histogram, roundMs, summarize, type Summary } from "../simulate/stats.ts";

/** Bounds of the per-call longest-gap buckets: a frame period, two, three (the issue's limits), then worse. */
export const GAP_BOUNDS_MS = [20, 40, 60, 100, 200] as const;

export interface Tally extends Outcomes {
  greetingMs: number[];
  jitter: number[][];
  /** Each call's longest time between two frames, and when it ended (ms into the call). */
  longestGapMs: number[];
  longestGapEndMs: number[];
  maxLeadMs: number;
  worstLeadP99Ms: number;
  /** mod_audio_stream stream mode: holes the callers' FreeSWITCH playout had. */
  heardUnderruns: number;
}

export function newTally(outcomes: Outcomes): Tally {
  return { ...outcomes, greetingMs: [], jitter: [], longestGapMs: [], longestGapEndMs: [], maxLeadMs: 0, worstLeadP99Ms: 0, heardUnderruns: 0 };
}

export function record(tally: Tally, r: CallResult): void {
  if (r.greetingDelayMs !== null) tally.greetingMs.push(r.greetingDelayMs);
  // Over mod_audio_stream FreeSWITCH plays on its own clock: the server's pacing shows on arrival.
  const paced = r.audiostream ?? r;
  tally.jitter.push(r.audiostream?.arrivalJitterMs ?? r.jitterMs);
  if (r.frames > 1) {
    tally.longestGapMs.push(r.longestGapMs);
    tally.longestGapEndMs.push(r.longestGapEndMs);
  }
  tally.maxLeadMs = Math.max(tally.maxLeadMs, paced.maxLeadMs);
  tally.worstLeadP99Ms = Math.max(tally.worstLeadP99Ms, paced.leadP99Ms);
  tally.heardUnderruns += r.audiostream?.underruns ?? 0;
}

export const rounded = (s: Summary) => ({ count: s.count, p50: roundMs(s.p50), p99: roundMs(s.p99), max: roundMs(s.max) });

/** The caller-side figures: greeting, jitter, gaps between frames, pacing lead. */
export function callerFigures(tally: Tally) {
  const gaps = summarize(tally.longestGapMs);
  return {
    greetingDelayMs: rounded(summarize(tally.greetingMs)),
    jitterMs: rounded(summarize(concatSamples(tally.jitter))),
    /** Per call, the longest time between two consecutive frames: p50/p99/max over the calls, and how many calls fall in each bucket. */
    longestGapMs: { ...rounded(gaps), calls: histogram(tally.longestGapMs, GAP_BOUNDS_MS), endedIntoCallMs: rounded(summarize(tally.longestGapEndMs)) },
    maxLeadMs: roundMs(tally.maxLeadMs),
    worstLeadP99Ms: roundMs(tally.worstLeadP99Ms),
  };
}

export interface SoakFigures {
  seconds: number;
  /** Before the first call, once the server is ready and settled. */
  rssStartBytes: number;
  rssPeakBytes: number;
  /** After the last call ended and a settle: what `ps` shows an admin then. */
  rssAfterBytes: number;
  /** (after − start) / start, percent. */
  rssGrowthPercent: number;
  timeline: RssPoint[];
}

export interface AdmissionFigures {
  /** Server time its admission queue spent per call: the start (rows, recorder, dialog, first prompt), digits, the end. */
  msPerCall: number;
  /** The longest one turn of the server's event loop spent on that queue. */
  longestSliceMs: number | null;
}

export interface ServerFigures {
  pid: number;
  listeningAfterMs: number | null;
  phrasesReadyAfterMs: number | null;
  cpuPercent: number;
  rssIdleBytes: number;
  rssPeakBytes: number;
  rssPerCallBytes: number;
}

export interface TextReport {
  calls: number;
  arrival: string;
  once: boolean;
  playback: string | null;
  completed: number;
  failed: number;
  cutAtEnd: number;
  interrupted: boolean;
  figures: ReturnType<typeof callerFigures>;
  underruns: number | null;
  heardUnderruns: number | null;
  /** Playout clock wake-ups, the server's (null: /metrics unread) and the bench client's. */
  lateness: { server: Lateness | null; client: Lateness };
  /** How long each event loop's thread waited for a core: the whole run and its first `headMs`; server null when it runs elsewhere. */
  cpuWait: { server: RunWait | null; client: RunWait; headMs: number };
  admission: AdmissionFigures | null;
  server: ServerFigures | null;
  soak: SoakFigures | null;
  /** What the console page open during the run did; null without --console. */
  console: ConsoleFigures | null;
  wallMs: number;
  clientCpuPercent: number;
  host: HostCpuUse | null;
  failures: Map<string, number>;
  serverError: string | null;
}

export const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const ms = (v: number | null): string => (v === null ? "-" : `${v} ms`);

export function formatReport(r: TextReport): string {
  const f = r.figures;
  const g = f.greetingDelayMs;
  const lines = [
    `arrival          ${r.calls} calls ${r.arrival}, ${r.once ? "each living its script once" : "each redialing when its call ends"}`,
    `calls            ${r.completed} completed, ${r.failed} failed, ${r.cutAtEnd} cut short by the end of the run${r.interrupted ? " (interrupted)" : ""}`,
    `greeting delay   p50 ${ms(g.p50)}, p99 ${ms(g.p99)}, max ${ms(g.max)} (${g.count} calls)`,
  ];
  if (r.playback !== null) lines.unshift(`transport        mod_audio_stream, ${r.playback} playback, over a fake FreeSWITCH Event Socket`);
  // File mode sends a file per sentence: there is no frame pacing to judge.
  if (r.playback !== "file") {
    const gap = f.longestGapMs;
    const buckets = gap.calls.map((b) => `${b.upToMs === null ? `>${GAP_BOUNDS_MS[GAP_BOUNDS_MS.length - 1]}` : `≤${b.upToMs}`} ${b.count}`).join(", ");
    lines.push(
      `${r.playback === null ? "frame jitter    " : "streamAudio jitter"} p50 ${ms(f.jitterMs.p50)}, p99 ${ms(f.jitterMs.p99)} (${f.jitterMs.count} ${r.playback === null ? "frames" : "arrivals"})`,
      `longest gap      worst call ${ms(gap.max)}; per call p50 ${ms(gap.p50)}, p99 ${ms(gap.p99)}, ending ${ms(gap.endedIntoCallMs.p50)} into the call (p50); calls by longest gap (ms): ${buckets}`,
      `pacing lead      max ${ms(f.maxLeadMs)}, worst call's p99 ${ms(f.worstLeadP99Ms)}`,
    );
  }
  lines.push(`underruns        ${r.underruns ?? "- (/metrics could not be read)"}${r.heardUnderruns === null ? "" : ` in the server, ${r.heardUnderruns} heard by the callers (FreeSWITCH's playout ran dry mid-stream)`}`);
  const late = (l: Lateness | null): string => (l === null ? "-" : `${l.over10Ms} of ${l.wakeups} wake-ups over 10 ms late, ${l.over50Ms} over 50 ms`);
  lines.push(`clock lateness   server ${late(r.lateness.server)}; bench client ${late(r.lateness.client)}`);
  const wait = (w: RunWait | null): string | null => (w?.run ? `${w.run.waitPercent} % of the run${w.head ? ` (${w.head.waitPercent} % of its first ${r.cpuWait.headMs / 1000} s)` : ""}` : null);
  const waits = [["server", wait(r.cpuWait.server)], ["bench client", wait(r.cpuWait.client)]].filter(([, w]) => w !== null).map(([who, w]) => `${who} ${w}`);
  if (waits.length > 0) lines.push(`waiting for CPU  event loop ready to run but kept off the cores: ${waits.join("; ")}`);
  if (r.admission) lines.push(`queued call work ${r.admission.msPerCall} ms per call (start, digits, end), longest slice of it in one loop turn ${ms(r.admission.longestSliceMs)}`);
  if (r.server) {
    lines.push(
      `server start     listening ${ms(r.server.listeningAfterMs)} after spawn, phrases ready after ${ms(r.server.phrasesReadyAfterMs)}`,
      `server CPU       ${r.server.cpuPercent} % of one core (average over ${(r.wallMs / 1000).toFixed(1)} s)`,
      `server RSS       idle ${mb(r.server.rssIdleBytes)}, peak ${mb(r.server.rssPeakBytes)}, ${mb(r.server.rssPerCallBytes)} per active call`,
    );
  }
  if (r.soak) {
    const s = r.soak;
    lines.push(`soak RSS         start ${mb(s.rssStartBytes)}, peak ${mb(s.rssPeakBytes)}, after ${mb(s.rssAfterBytes)} (${s.rssGrowthPercent >= 0 ? "+" : ""}${s.rssGrowthPercent} % over ${s.seconds} s)`);
  }
  if (r.console) lines.push(...formatConsoleFigures(r.console));
  lines.push(`bench client CPU ${r.clientCpuPercent} % of one core`);
  if (r.host) lines.push(`host CPU         ${r.host.busyPercent} % busy, ${r.host.stealPercent} % stolen by the hypervisor (all cores)`);
  for (const [reason, count] of r.failures) lines.push(`failed ×${count}: ${reason}`);
  if (r.serverError) lines.push(r.serverError);
  return lines.join("\n") + "\n";
}
