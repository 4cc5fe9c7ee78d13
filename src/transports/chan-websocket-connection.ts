/**
 * One Asterisk chan_websocket call (`Dial(WebSocket/<connection>/c(slin16))`): admitted on its
 * MEDIA_START, then the caller's binary frames in, DTMF_END as keypad digits, and the bot's audio
 * out through a ChanWebsocketPlayback. The bot hangs up with HANGUP once a mark says its last words
 * have played; Asterisk answers with close 1000, and the caller hanging up is a bare close 1000
 * (fixtures s5a, s5c). Nothing here throws into Bun's handlers: every fault ends this connection
 * only, with one log line naming the call and the fault.
 */
import { CallTimer } from "./call-timer.ts";
import type { Logger } from "../log.ts";
import { frameSamplesFor } from "../media/pcm.ts";
import { callableNumber } from "./caller-id.ts";
import { ChanWebsocketError, encodeCommand, excerpt, parseEvent, type AsteriskEvent, type MediaStart } from "./chan-websocket-codec.ts";
import { ChanWebsocketPlayback, END_MARK } from "./chan-websocket-playback.ts";
import { LegClose } from "./leg-close.ts";
import { decodeMulaw } from "./mulaw.ts";
import type { AdmitCall, CallLeg, CallLegEvents, LegCloseReason, TransportStats } from "./types.ts";

/** The part of Bun's ServerWebSocket a connection uses. */
export interface ChanWebsocketSocket {
  /** Bun: bytes sent, -1 queued under back-pressure, 0 dropped. */
  send(data: string | Uint8Array): number;
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
}

/** What the upgrade said about the call: the tenant in the path, and the dial string's `v()` query. */
export interface ChanWebsocketRequest {
  tenantId: string | null;
  caller: string | null;
  dnis: string | null;
  tenantParam: string | null;
  /**
   * The caller channel's VB_UUID (the rendered dialplan passes it): the call's id then, so a
   * transfer finds that channel (AMI) or is read back by the dialplan (`/next`) after Dial().
   */
  uuid: string | null;
}

export interface ChanWebsocketContext {
  readonly admit: AdmitCall;
  readonly log: Logger;
  readonly stats: TransportStats;
  readonly resolveTenant: (id: string | null) => string | null;
  readonly firstMessageTimeoutMs: number;
  /** No caller frame this long: silence is fed in at real time until frames come again (default 100 ms). */
  readonly silenceFillAfterMs?: number;
  /** How long Asterisk gets to close after our HANGUP, and the last words to play out (default 2000 ms). */
  readonly closeWaitMs?: number;
  onGone(connection: ChanWebsocketConnection): void;
}

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const NUMBER_PATTERN = /^[^\u0000-\u001f\u007f]{1,64}$/;
/** Caller audio larger than 1 s in one message is not a frame. */
const MAX_AUDIO_SECONDS = 1;
/** Unsent audio (1 s) past which Asterisk is taken as not reading. */
const BUFFERED_LIMIT_SECONDS = 1;

/** `cws/c(ulaw)f(json)nv(…)`: the dial string's options, without their (arguments), include n. */
function noAutoAnswer(dialed: string | undefined): boolean {
  const options = dialed?.split("/")[1];
  return options !== undefined && options.replace(/\([^)]*\)/g, "").includes("n");
}

type Phase = "awaiting-start" | "in-call" | "ending" | "closed";

export class ChanWebsocketConnection implements CallLeg {
  id = "";
  readonly transport = "websocket";
  tenant = "";
  callerNumber: string | null = null;
  dnis: string | null = null;
  metadata: string | null = null;
  readonly reportsPlayedAudio = false;
  /** Asterisk sends DTMF_END for each key: the in-band detector stays off with DTMF_INBAND=auto. */
  readonly dtmfEvents = true;
  readonly playsAhead = false;
  sampleRate = 8000;
  frameSamples = 160;

  private phase: Phase = "awaiting-start";
  private log: Logger;
  private start: MediaStart | null = null;
  private playback: ChanWebsocketPlayback | null = null;
  private events: CallLegEvents | null = null;
  private readonly legClose = new LegClose();
  private readonly timer = new CallTimer((error) => this.onHandlerFailure(error));
  /** Decoded caller audio, reused; views by length so a frame allocates nothing. */
  private decoded = new Int16Array(0);
  /** The caller's timeline (performance.now() ms): the last frame received, or silence fed in for it. */
  private callerAt = 0;
  private readonly views = new Map<number, Int16Array>();
  private bufferedLimit = 0;
  private warnedXoff = false;

  constructor(
    private readonly socket: ChanWebsocketSocket,
    readonly peer: string,
    private readonly request: ChanWebsocketRequest,
    private readonly ctx: ChanWebsocketContext,
  ) {
    this.log = ctx.log.child("websocket", { peer });
    this.timer.set(ctx.firstMessageTimeoutMs, () => this.onNoStart());
  }

  sendAudio(samples: Int16Array): boolean {
    if (this.phase !== "in-call") return false;
    return this.playback!.push(samples);
  }

  flushPlayback(): void {
    if (this.phase === "in-call") this.playback!.flush();
  }

  get playbackPendingMs(): number {
    return this.phase === "in-call" ? this.playback!.pendingMs() : 0;
  }

  /** HANGUP once the end mark has played (or at once when nothing was played). */
  hangup(): void {
    if (this.phase !== "in-call") return;
    this.phase = "ending";
    const playback = this.playback!;
    const waitMs = this.ctx.closeWaitMs ?? 2000;
    if (playback.hasPlayed && playback.markEnd()) {
      this.timer.set(playback.pendingMs() + waitMs, () => this.sendHangup("the end mark was not reported in time"));
    } else this.sendHangup(null);
  }

  onMessage(data: string | Uint8Array): void {
    if (this.phase === "closed") return;
    try {
      if (typeof data === "string") this.onText(data);
      else this.onBinary(data);
    } catch (error) {
      if (error instanceof ChanWebsocketError) this.onProtocolError(1003, error.message);
      else this.onHandlerFailure(error);
    }
  }

  onSocketClosed(code: number, reason: string): void {
    const was = this.phase;
    this.release();
    const detail = code === 1006 ? "connection lost (1006, no close frame)" : `close ${code}${reason ? ` "${reason}"` : ""}`;
    if (was === "awaiting-start") this.log.warn(`Asterisk closed before MEDIA_START (${detail})`);
    else if (was === "in-call") {
      this.log.info(`Asterisk ended the call (${detail})`);
      this.finishLeg("caller-hangup", detail);
    } else if (was === "ending") this.finishLeg("server-hangup");
    this.ctx.onGone(this);
  }

  /** Server shutdown: HANGUP, then close 1001. */
  shutdown(): void {
    if (this.phase === "closed") return;
    if (this.start !== null) this.socket.send(encodeCommand(this.start.json, "HANGUP"));
    this.closeSocket(1001, "voicebot is shutting down");
    this.finishLeg("shutdown");
  }

  private onText(text: string): void {
    const event = parseEvent(text);
    if (this.phase === "awaiting-start") {
      if (event.kind !== "media-start") throw new ChanWebsocketError(`the first message is ${excerpt(text)}, not MEDIA_START`);
      this.metadata = text;
      this.startCall(event.start);
      return;
    }
    this.onEvent(event, text);
  }

  private onEvent(event: AsteriskEvent, text: string): void {
    const playback = this.playback!;
    switch (event.kind) {
      case "media-start":
        throw new ChanWebsocketError("a second MEDIA_START on the same connection");
      case "dtmf":
        if (this.phase === "in-call") this.events!.onDtmf(event.digit);
        return;
      case "xoff":
        playback.onXoff();
        if (!this.warnedXoff) this.log.warn("MEDIA_XOFF: Asterisk's queue holds 900 frames; the bot's audio is dropped until MEDIA_XON");
        this.warnedXoff = true;
        return;
      case "xon":
        playback.onXon();
        return;
      case "mark":
        if (event.id === END_MARK && this.phase === "ending") this.sendHangup(null);
        return;
      case "error":
        this.log.warn("Asterisk refused a command", { error: event.text });
        if (this.phase === "ending") this.sendHangup(null);
        return;
      case "unknown":
        this.log.debug("ignored an unknown event", { text: excerpt(text) });
        return;
      default:
        this.log.debug("event", { event: event.kind });
    }
  }

  private startCall(start: MediaStart): void {
    this.timer.clear();
    if (!ID_PATTERN.test(start.channelId)) throw new ChanWebsocketError(`MEDIA_START channel_id ${excerpt(start.channelId)} is not 1-128 of A-Z a-z 0-9 . _ -`);
    const vars = start.variables;
    const tenantHint = this.request.tenantId ?? this.request.tenantParam ?? vars.VOICEBOT_TENANT ?? null;
    const tenant = this.ctx.resolveTenant(tenantHint);
    this.start = start;
    this.id = this.request.uuid ?? start.channelId;
    this.log = this.ctx.log.child("websocket", { peer: this.peer, call: this.id, ...(this.id === start.channelId ? {} : { channel: start.channelId }) });
    if (tenant === null) {
      this.ctx.stats.connectionsRejected++;
      this.log.warn("call refused: unknown tenant", { tenant: tenantHint });
      this.socket.send(encodeCommand(start.json, "HANGUP"));
      this.closeSocket(1008, "unknown tenant");
      return;
    }
    this.tenant = tenant;
    this.callerNumber = callableNumber(this.number(this.request.caller ?? vars.VOICEBOT_CALLER ?? null, "caller"));
    this.dnis = this.number(this.request.dnis ?? vars.VOICEBOT_DNIS ?? null, "dnis");
    this.sampleRate = start.format.sampleRate;
    this.frameSamples = frameSamplesFor(this.sampleRate);
    this.bufferedLimit = this.sampleRate * start.format.bytesPerSample * BUFFERED_LIMIT_SECONDS;
    this.decoded = new Int16Array(this.sampleRate * MAX_AUDIO_SECONDS);
    this.playback = new ChanWebsocketPlayback(start.format, start.optimalFrameSize, start.json, {
      send: (data) => this.send(data),
      dropped: () => this.ctx.stats.playbackDropped++,
    }, start.ptime);
    this.phase = "in-call";
    this.log.info("call connected", {
      tenant, caller: this.callerNumber, dnis: this.dnis, format: start.format.name, frame: start.optimalFrameSize, control: start.json ? "json" : "plain-text",
    });
    // Dialled with n (no auto-answer): the call waits for us (fixture s1b). Only JSON names the options.
    if (noAutoAnswer(vars.DIALEDPEERNUMBER) && !this.send(encodeCommand(start.json, "ANSWER"))) return;
    this.events = this.ctx.admit(this);
    if (this.legClose.admitted(this.events, this.log) || this.phase !== "in-call") return;
    // chan_websocket sends nothing while the caller sends nothing (fixture s4): this starts the call.
    this.callerAt = performance.now();
    this.events.onAudio(this.view(this.frameSamples).fill(0));
  }

  private number(value: string | null, what: string): string | null {
    if (value === null || value === "") return null;
    if (NUMBER_PATTERN.test(value)) return value;
    this.log.warn(`${what} ${excerpt(value)} ignored: over 64 characters or holds control characters`);
    return null;
  }

  private onBinary(bytes: Uint8Array): void {
    const length = bytes.length;
    this.ctx.stats.framesIn++;
    this.ctx.stats.bytesIn += length;
    if (this.phase === "awaiting-start") throw new ChanWebsocketError(`binary message of ${length} bytes before MEDIA_START`);
    if (this.phase !== "in-call") return;
    const format = this.start!.format;
    if (length % format.bytesPerSample !== 0) throw new ChanWebsocketError(`binary message of ${length} bytes is not a whole number of ${format.name} samples`);
    const samples = length / format.bytesPerSample;
    if (samples > this.decoded.length) {
      this.onProtocolError(1009, `binary message of ${length} bytes is over ${MAX_AUDIO_SECONDS} s of ${format.name}`);
      return;
    }
    if (samples === 0) return;
    this.callerAt = performance.now();
    const out = this.view(samples);
    if (format.encoding === "ulaw") decodeMulaw(bytes, out);
    else for (let i = 0, b = 0; i < samples; i++, b += 2) out[i] = ((bytes[b]! | (bytes[b + 1]! << 8)) << 16) >> 16;
    this.events!.onAudio(out);
  }

  /**
   * The server's 20 ms sweep. Asterisk sends nothing while the caller sends nothing (a Local
   * channel, a phone with silence suppression: fixture s4), but the call's speech detection and
   * recognizer only see a sentence end in audio: after a gap of `silenceFillAfterMs`, silence is
   * fed in at real time, one frame per 20 ms, until the caller's frames come back.
   */
  fillSilence(now: number): void {
    if (this.phase !== "in-call" || now - this.callerAt < (this.ctx.silenceFillAfterMs ?? 100)) return;
    this.callerAt += 20;
    try {
      this.events!.onAudio(this.view(this.frameSamples).fill(0));
    } catch (error) {
      this.onHandlerFailure(error);
    }
  }

  private view(samples: number): Int16Array {
    let view = this.views.get(samples);
    if (view === undefined) {
      view = this.decoded.subarray(0, samples);
      if (this.views.size < 16) this.views.set(samples, view);
    }
    return view;
  }

  private send(data: string | Uint8Array): boolean {
    if (this.phase === "closed") return false;
    if (this.socket.send(data) === 0) {
      if (this.socket.readyState === 1) this.onWriteFailure("the socket dropped a message (Bun's back-pressure limit)");
      return false;
    }
    if (typeof data !== "string") {
      this.ctx.stats.framesOut++;
      this.ctx.stats.bytesOut += data.length;
    }
    const buffered = this.socket.getBufferedAmount();
    if (buffered > this.bufferedLimit) {
      this.onWriteFailure(`${buffered} bytes waiting for Asterisk to read`);
      return false;
    }
    return true;
  }

  private sendHangup(why: string | null): void {
    if (this.phase !== "ending") return;
    if (why !== null) this.log.warn(`${why}; hanging up now`);
    this.send(encodeCommand(this.start!.json, "HANGUP"));
    if (this.phase !== "ending") return;
    this.timer.set(this.ctx.closeWaitMs ?? 2000, () => {
      this.log.warn("Asterisk did not close after HANGUP; closing the connection");
      this.closeSocket(1000, "call ended");
      this.finishLeg("server-hangup");
    });
  }

  private onNoStart(): void {
    if (this.phase !== "awaiting-start") return;
    this.ctx.stats.protocolErrors++;
    this.log.warn(`no MEDIA_START within ${this.ctx.firstMessageTimeoutMs} ms of the upgrade; closing the connection`);
    this.closeSocket(1008, "no MEDIA_START");
  }

  private onProtocolError(code: number, message: string): void {
    this.ctx.stats.protocolErrors++;
    const hadLeg = this.phase === "in-call" || this.phase === "ending";
    this.log.warn(`protocol error: ${message}; closing the connection`);
    this.closeSocket(code, code === 1009 ? "message too large" : "protocol error");
    if (hadLeg) this.finishLeg("protocol-error", message);
  }

  private onWriteFailure(detail: string): void {
    this.log.warn(`Asterisk is not reading our audio: ${detail}; closing the connection`);
    this.closeSocket(1011, "not reading");
    this.finishLeg("write-error", detail);
  }

  /** A call handler threw: the call cannot go on. */
  private onHandlerFailure(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`call handler failed: ${message}; hanging up`);
    const hadLeg = this.phase === "in-call" || this.phase === "ending";
    if (hadLeg) this.socket.send(encodeCommand(this.start!.json, "HANGUP"));
    this.closeSocket(1011, "internal error");
    if (hadLeg) this.finishLeg("internal-error", message);
  }

  /** Bun may run the close handler inside close(), so the phase is set first. */
  private closeSocket(code: number, reason: string): void {
    if (this.phase === "closed") return;
    this.release();
    this.socket.close(code, reason);
    this.ctx.onGone(this);
  }

  private release(): void {
    this.phase = "closed";
    this.timer.clear();
  }

  private finishLeg(reason: LegCloseReason, detail?: string): void {
    if (this.id !== "") this.legClose.close(reason, detail, this.log);
  }
}
