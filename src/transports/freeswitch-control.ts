/**
 * What a FreeSWITCH call needs from the Event Socket besides its WebSocket (PROTOCOLS.md §2, §3.3):
 * DTMF reaches voicebot only as ESL `DTMF` events, and with the community mod_audio_stream the
 * bot's audio is played by `uuid_broadcast` once the module's `mod_audio_stream::play` event says
 * which temp file holds it. The audiostream transport and this control together make one call.
 */
export interface ChannelListener {
  /** ESL `DTMF` event for this channel (`DTMF-Digit`). */
  onDtmf(digit: string): void;
  /** `CUSTOM mod_audio_stream::play` for this channel: the module wrote `file` (body `file`). */
  onPlay(file: string): void;
  /** `CHANNEL_HANGUP` for this channel. */
  onHangup(): void;
  /**
   * ESL is (back) up and subscribed: what waited for it may go. Events fired while it was down
   * (a `::play`) were lost: FreeSWITCH does not keep them for a client that comes back.
   */
  onControlUp(): void;
}

export interface FreeswitchMediaControl {
  /** The ESL connection is up, authenticated and subscribed (commands sent while down are dropped). */
  readonly connected: boolean;
  /** Route this channel's events (by `Unique-ID`) to `listener` until the returned function is called. */
  watch(uuid: string, listener: ChannelListener): () => void;
  /** `bgapi uuid_broadcast <uuid> <file> aleg`: queue the file after what is already playing. */
  broadcast(uuid: string, file: string): void;
  /** `bgapi uuid_break <uuid> all`: stop the file playing now and drop the queued ones. */
  breakPlayback(uuid: string): void;
  /**
   * `bgapi uuid_kill <uuid> NORMAL_CLEARING`: end the call. Closing the WebSocket is not enough:
   * FreeSWITCH keeps the call (parked, silent) when the server closes the stream.
   */
  hangup(uuid: string): void;
}
