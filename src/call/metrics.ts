/** Counters the call layer keeps; the admin server renders them (it never reaches into calls). */
export interface CallMetrics {
  callsStarted: number;
  callsRejectedBusy: number;
  callsEnded: Map<string, number>;
  /** Frames a playing utterance had to fill with silence because its audio was not ready. */
  playoutUnderruns: number;
  framesSent: number;
  dtmfReceived: number;
  ticketsOpened: number;
  /** AI mode: replies asked of the model, those that failed, and barge-ins. */
  replies: number;
  replyFailures: number;
  bargeIns: number;
  /** Filler phrases played because a reply was late. */
  fillers: number;
  sttReconnects: number;
  /** Calls moved to the keypad because recognition could not be restored. */
  sttLost: number;
  /** Callers handed to a technician by the PBX, and hand-offs the PBX refused or could not take. */
  transfers: number;
  transferFailures: number;
}

export function newCallMetrics(): CallMetrics {
  return {
    callsStarted: 0,
    callsRejectedBusy: 0,
    callsEnded: new Map(),
    playoutUnderruns: 0,
    framesSent: 0,
    dtmfReceived: 0,
    ticketsOpened: 0,
    replies: 0,
    replyFailures: 0,
    bargeIns: 0,
    fillers: 0,
    sttReconnects: 0,
    sttLost: 0,
    transfers: 0,
    transferFailures: 0,
  };
}

export function countEnd(metrics: CallMetrics, reason: string): void {
  metrics.callsEnded.set(reason, (metrics.callsEnded.get(reason) ?? 0) + 1);
}
