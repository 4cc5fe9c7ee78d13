/**
 * What a simulated call needs from the PBX link it runs over: the call logic (script, timing,
 * listener) is the same whether the PBX is Asterisk over AudioSocket or FreeSWITCH with
 * mod_audio_stream, and only this small surface differs.
 */

/** What a wire reports to its call. */
export interface WireEvents {
  /**
   * The caller hears `bytes[start, end)` (s16le mono at `sampleRate`) at `atMs` (performance.now()).
   * The bytes are only read during the call (they may be a reused buffer).
   */
  heard(bytes: Uint8Array, start: number, end: number, sampleRate: number, atMs: number): void;
  /**
   * The PBX plays silence of its own at `atMs`: nothing of the bot's is left to play (the ASP media
   * server, which is sent nothing while the bot is quiet). Optional: other wires hear silence frames.
   */
  quiet?(atMs: number): void;
  /** The PBX was told to stop playing the bot's audio (FreeSWITCH `uuid_break`), at `atMs`. */
  playbackBroken(atMs: number): void;
  /** The server ended the call; `properly` when it hung up the PBX's way (0x00, `uuid_kill`, a transfer). */
  serverEnded(properly: boolean): void;
  /** The link failed or the server broke the protocol: the call ends as an error. */
  failed(message: string): void;
}

export interface CallWire {
  /** Where the call goes, for messages. */
  readonly target: string;
  /** The PBX hangs up when the server sent nothing for this long; 0 = it never does. */
  readonly idleTimeoutMs: number;
  /** Why this wire cannot send keypad digits, or null when it can. */
  readonly digitsUnsupported: string | null;
  /** Connects and sends what the PBX sends first; rejects with a readable reason when it cannot. */
  connect(events: WireEvents): Promise<void>;
  /**
   * Once per 20 ms of the call: one frame of the caller's voice at the call rate (null = silence),
   * and whatever the PBX plays to the caller on its own clock. Allocates nothing.
   */
  tick(frame: Int16Array | null, nowMs: number): void;
  sendDigit(digit: string, nowMs: number): void;
  /** The caller hangs up (or the call ended for another reason): close the link the PBX's way. */
  close(): void;
  /** Frames not sent because the link was still busy with earlier ones. */
  readonly framesSkipped: number;
}
