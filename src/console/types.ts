/**
 * What the console's JSON API answers (README, "The console's JSON API"); times are epoch ms. The
 * store's own shapes where the API sends them as they are.
 */
import type { ProviderCheckRun, TrendPoint } from "../admin/health-shapes.ts";
import type { CallSummary as StoredCall, StoredTicketStatus, TicketChange, TicketRow, TurnTimings } from "../store/shapes.ts";

export { TICKET_STATUSES } from "../store/shapes.ts";
export type TicketStatus = StoredTicketStatus;
export type Ticket = TicketRow;
export type { ProviderCheckRun };

export type CallSummary = Omit<StoredCall, "recordings" | "ticketStatus" | "dnis"> & { dnis: string | null; ticketStatus: TicketStatus | null };

export interface Turn {
  id: number;
  speaker: "caller" | "bot";
  text: string;
  startedAt: number;
  endedAt: number | null;
  interrupted: boolean;
  llmProvider: string | null;
  timings: TurnTimings;
}

export interface CallEvent {
  id: number;
  kind: string;
  detail: string | null;
  at: number;
}

export interface TicketDetail extends Ticket {
  call: CallSummary | null;
  changes: TicketChange[];
}

export interface Recording {
  format: "mp3" | "raw" | null;
  bytes: number | null;
  url: string | null;
  download: string | null;
}

export interface CallDetail extends CallSummary {
  turns: Turn[];
  events: CallEvent[];
  tickets: Ticket[];
  dtmf: { digit: string; at: number }[];
  recording: Recording;
  waterfall: Waterfall;
}

export interface LiveCall {
  id: number;
  uuid: string;
  caller: string | null;
  dnis: string | null;
  tenant: string;
  transport: string;
  state: string;
  ticketId: number | null;
  startedAt: number;
  durationMs: number;
}

/** One Server-Sent Event of /api/live/events, as the store wrote it. */
export type LiveChange =
  | { kind: "call-started"; callId: number; uuid: string; tenant: string; caller: string | null; transport: string; at: number }
  | { kind: "call-ended"; callId: number; reason: string; at: number }
  | { kind: "turn"; callId: number; turnId: number; speaker: "caller" | "bot"; text: string; at: number }
  | { kind: "event"; callId: number; event: string; detail: string | null; at: number };

export interface MetricSample {
  name?: string;
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  help: string;
  type: string;
  samples: MetricSample[];
}

export interface Health {
  status: string;
  version: string;
  activeCalls: number;
  maxCalls: number;
  uptimeSeconds?: number;
  modes?: Record<string, string>;
  listeners?: Record<string, unknown>;
  control?: Record<string, boolean | null>;
  providers?: unknown;
  metrics: Record<string, MetricFamily>;
  history?: TrendPoint[];
  providerChecks?: ProviderCheckRun | null;
  [key: string]: unknown;
}

export interface TenantView {
  id: string;
  companyName?: string;
  language: string;
  modes: Record<string, string>;
  [key: string]: unknown;
}

export type StageName = "speechEnd" | "sttFinal" | "llmFirstToken" | "ttsFirstByte" | "firstFrame" | "lastFrame" | "bargeIn";

/** One caller turn and the reply to it; offsets are ms after the caller stopped speaking. */
export interface Exchange {
  turn: number;
  said: string;
  llmProvider: string | null;
  interrupted: boolean;
  offsets: Record<StageName, number | null>;
}

export interface Waterfall {
  exchanges: Exchange[];
  firstFrame: { count: number; medianMs: number | null; maxMs: number | null };
}
