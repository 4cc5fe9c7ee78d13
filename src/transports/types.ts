/**
 * What a transport hands to the call layer. Transports speak one wire protocol each and know
 * nothing about AI or dialogs: they turn a connection into a CallLeg and feed it CallLegEvents.
 */
export type TransportName = "audiosocket" | "audiostream" | "browser" | "asp" | "websocket";

/** Why a leg ended, as stored in `calls.end_reason` and counted in metrics. */
export type LegCloseReason =
  | "caller-hangup" // the PBX closed the connection (AudioSocket: plain EOF)
  | "server-hangup" // we sent the protocol's hang-up (AudioSocket 0x00) and closed
  | "protocol-error" // malformed input: the connection was closed, the fault logged
  | "write-error" // the socket could not take our audio (peer gone, buffer overflow)
  | "internal-error" // a call handler threw: we ended the call (AudioSocket: 0x00, the dialplan goes on)
  | "shutdown"; // the server is stopping

export interface CallLeg {
  /** Call id as the PBX knows it (AudioSocket: the UUID in 8-4-4-4-12 lower-case form). */
  readonly id: string;
  readonly transport: TransportName;
  /** Remote address, `ip:port`. */
  readonly peer: string;
  readonly tenant: string;
  /**
   * Caller number when known: mod_audio_stream metadata, or the dialplan's registration for an
   * AudioSocket call (POST /api/calls/{uuid}); AudioSocket itself carries none.
   */
  readonly callerNumber: string | null;
  /** The number the caller dialled, when known (same sources as `callerNumber`). */
  readonly dnis: string | null;
  /** What the PBX sent about the call, as sent (mod_audio_stream's first text frame); kept as an event. */
  readonly metadata: string | null;
  /**
   * True when the PBX reports what it really played to the caller, time-aligned with the caller's
   * audio (mod_audio_stream `stereo`: the right channel, through `onPlayedAudio`). The echo gate
   * then learns from that instead of from the frames we send.
   */
  readonly reportsPlayedAudio: boolean;
  /**
   * The wire delivers keypad digits as events (`onDtmf`) right now: AudioSocket and the console's
   * test call always; mod_audio_stream only while ESL is connected (digits come over ESL) or once
   * the dialplan forwarded one as text. Where false, DTMF_INBAND=auto listens for tones in the audio.
   */
  readonly dtmfEvents: boolean;
  /**
   * Sample rate of the audio both ways. AudioSocket learns it from the first audio frame's kind
   * (8 kHz until then); `onRateChange` tells the call when it changes.
   */
  readonly sampleRate: number;
  /** Samples in one 20 ms frame at `sampleRate`. */
  readonly frameSamples: number;
  /**
   * Write one frame of PCM at `sampleRate` to the wire now (header and payload in one write).
   * The samples are copied before this returns, so the caller may reuse the array.
   * Returns false when the leg is closed or could not take the frame.
   */
  sendAudio(samples: Int16Array): boolean;
  /**
   * Barge-in: drop the bot audio the PBX still holds or plays (mod_audio_stream file mode:
   * `uuid_break <uuid> all`). AudioSocket and stream mode hold at most the lead: a no-op.
   */
  flushPlayback(): void;
  /**
   * How long the PBX will still be playing audio it already has: mod_audio_stream file mode plays
   * each chunk after our clock has sent it. 0 where frames play as they are sent.
   */
  readonly playbackPendingMs: number;
  /**
   * The PBX queues the bot's audio and plays it at its own pace (mod_audio_stream file mode: one
   * file after another): frames go as soon as they are ready, not one per tick.
   */
  readonly playsAhead: boolean;
  /**
   * End the call from our side (AudioSocket: send 0x00, then close). Idempotent. `reason` is the
   * dialog's end reason when there is one: the console's test call shows it; PBX wires have no room for it.
   */
  hangup(reason?: string): void;
}

export interface CallLegEvents {
  /** Inbound PCM at the leg's rate; the array is only valid during the call (it is reused). */
  onAudio(samples: Int16Array): void;
  /** One keypad digit: 0-9, *, #, A-D. */
  onDtmf(digit: string): void;
  onRateChange(sampleRate: number): void;
  /** What the PBX played to the caller, one 20 ms frame at a time (only when `reportsPlayedAudio`). */
  onPlayedAudio?(samples: Int16Array): void;
  /** Called exactly once, after which the leg sends nothing more. */
  onClose(reason: LegCloseReason, detail?: string): void;
}

/** The call layer's answer to a new leg: the handlers for its events. */
export type AdmitCall = (leg: CallLeg) => CallLegEvents;

/**
 * True while a new connection is refused at the door (WHEN_FULL=refuse, at MAX_CONCURRENT_CALLS or
 * stopping), so the PBX moves on to its next appliance at once.
 */
export type RefusingNew = () => boolean;

/** Plain counters a transport keeps; the admin server turns them into metrics. */
export interface TransportStats {
  connectionsAccepted: number;
  connectionsRejected: number; // refused by AUDIOSOCKET_ALLOW (or token, for audiostream; sign-in, origin or query, for browser)
  protocolErrors: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** mod_audio_stream file mode: chunks of the bot's audio that waited for ESL to come back. */
  playbackDeferred: number;
  /** mod_audio_stream file mode: chunks that waited for ESL and were never played (it stayed down, or the call ended). */
  playbackDropped: number;
}

export function newTransportStats(): TransportStats {
  return {
    connectionsAccepted: 0, connectionsRejected: 0, protocolErrors: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0,
    playbackDeferred: 0, playbackDropped: 0,
  };
}
