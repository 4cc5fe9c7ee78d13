/**
 * The shapes of what the store keeps, as the console's JSON API sends them: plain types with no
 * import, so the browser page (its own tsconfig, no Bun) checks against the same ones.
 */
export type Speaker = "bot" | "caller";

/**
 * One recording file of a call: raw s16le mono at `sampleRate` ("caller", "bot"), or once
 * `voicebot recordings convert` has run, one stereo MP3 (caller left, bot right).
 */
export interface RecordingFile {
  channel: "caller" | "bot" | "stereo";
  path: string;
  sampleRate: number;
}

export interface NewCall {
  uuid: string;
  transport: string;
  tenant: string;
  caller: string | null;
  /** The number dialled, when the PBX said. */
  dnis?: string | null;
  peer: string;
  sampleRate: number;
  startedAt: number;
}

/** A call as lists show it; times are epoch ms. `ticketId` is the call's first ticket, if any. */
export interface CallSummary extends NewCall {
  id: number;
  answeredAt: number | null;
  endedAt: number | null;
  endReason: string | null;
  endDetail: string | null;
  recordings: RecordingFile[];
  /** null while the call is still going. */
  durationMs: number | null;
  ticketId: number | null;
  ticketStatus: string | null;
  /** The appliance that took the call (NODE_ID); null in a store of one appliance. */
  node: string | null;
  /** That appliance's admin base URL (NODE_URL), where its recordings are fetched from. */
  nodeUrl: string | null;
}

/** The dialog's statuses, plus "incomplete": the ticket of a call cut off by a voicebot stop. */
export const TICKET_STATUSES = ["open", "resolved", "escalated", "abandoned", "incomplete"] as const;
export type StoredTicketStatus = (typeof TICKET_STATUSES)[number];

export interface TicketRow {
  /** Also the ticket number read to the caller. */
  id: number;
  callId: number;
  customer: string | null;
  phone: string | null;
  problemType: string | null;
  description: string | null;
  status: StoredTicketStatus;
  createdAt: number;
  updatedAt: number;
  /** The call's tenant, copied when the ticket is opened. */
  tenant: string;
  /** Set from the console (ticket_changes keeps every edit). */
  notes: string | null;
  assignee: string | null;
}

export interface TicketChange {
  field: "status" | "notes" | "assignee";
  oldValue: string | null;
  newValue: string | null;
  /** Who made it: the console session's or the bearer's name. */
  by: string;
  at: number;
}

/**
 * When each stage of a turn happened, epoch ms; null until reached. A caller turn carries the
 * first two (speech end by local VAD, final transcript); the bot reply answering it the rest.
 */
export interface TurnTimings {
  speechEndAt: number | null;
  sttFinalAt: number | null;
  llmFirstTokenAt: number | null;
  ttsFirstByteAt: number | null;
  firstFrameAt: number | null;
  lastFrameAt: number | null;
  bargeInAt: number | null;
}
