/**
 * One console test call: a browser's WebSocket on the admin port as a CallLeg at 16 kHz
 * (browser-protocol.ts). Admitted as soon as it opens, like a PBX call; the browser's audio is
 * re-framed into 20 ms frames, and the bot's frames go back one per clock tick. Nothing here
 * throws into Bun's handlers: every fault ends this socket only, with one log line naming the call.
 */
import { CallTimer } from "./call-timer.ts";
import type { Logger } from "../log.ts";
import { LegClose } from "./leg-close.ts";
import {
  BROWSER_FRAME_SAMPLES, BROWSER_RATE, FLUSH_MESSAGE, audioFault, callMessage, endMessage, parseBrowserText,
  type ProtocolFault, type TryCallQuery,
} from "./browser-protocol.ts";
import type { AdmitCall, CallLeg, CallLegEvents, LegCloseReason, TransportStats } from "./types.ts";

/** The part of Bun's ServerWebSocket a connection uses. */
export interface BrowserSocket {
  /** Bun: bytes sent, -1 queued under back-pressure, 0 dropped. */
  send(data: string | Uint8Array): number;
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
}

export interface BrowserConnectionContext {
  readonly admit: AdmitCall;
  readonly log: Logger;
  readonly stats: TransportStats;
  /** Canonical tenant id (null given = the default tenant's); null = unknown. */
  readonly resolveTenant: (id: string | null) => string | null;
  /** No audio this long after the socket opened: the page's microphone never started. */
  readonly noAudioTimeoutMs: number;
  onGone(connection: BrowserConnection): void;
}

/** Who opened the call, from the console's sign-in (auth.ts Access). */
export interface BrowserCaller {
  who: string;
  via: string;
}

/** Unsent audio (1 s) past which the browser is taken as not reading. */
const BUFFERED_LIMIT_BYTES = BROWSER_RATE * 2;

type Phase = "in-call" | "closed";

export class BrowserConnection implements CallLeg {
  readonly id: string = crypto.randomUUID();
  readonly transport = "browser";
  readonly tenant: string;
  readonly callerNumber: string | null;
  readonly dnis = null;
  readonly metadata: string;
  readonly reportsPlayedAudio = false;
  readonly dtmfEvents = true;
  readonly playsAhead = false;
  readonly playbackPendingMs = 0;
  readonly sampleRate = BROWSER_RATE;
  readonly frameSamples = BROWSER_FRAME_SAMPLES;

  private phase: Phase = "in-call";
  private readonly log: Logger;
  private events: CallLegEvents | null = null;
  private readonly legClose = new LegClose();
  private readonly timer = new CallTimer((error) => this.onHandlerFailure(error));
  /** The caller's frame being filled, and the bot's frame as bytes on the wire; both reused. */
  private readonly frame = new Int16Array(BROWSER_FRAME_SAMPLES);
  private fill = 0;
  private readonly out = new Int16Array(BROWSER_FRAME_SAMPLES);
  private readonly outBytes = new Uint8Array(this.out.buffer);

  constructor(
    private readonly socket: BrowserSocket,
    readonly peer: string,
    query: TryCallQuery,
    caller: BrowserCaller,
    private readonly ctx: BrowserConnectionContext,
  ) {
    this.log = ctx.log.child("browser", { peer, call: this.id });
    this.callerNumber = query.callerNumber;
    this.metadata = JSON.stringify({ source: "console", who: caller.who, via: caller.via });
    const tenant = ctx.resolveTenant(query.tenant);
    this.tenant = tenant ?? "";
    if (query.callerError !== null) {
      this.refuse(query.callerError, "bad caller number");
      return;
    }
    if (tenant === null) {
      this.refuse(`tenant ${JSON.stringify(query.tenant)} is unknown`, "unknown tenant");
      return;
    }
    this.log.info("console test call connected", { tenant, caller: this.callerNumber ?? undefined, who: caller.who });
    if (!this.sendText(callMessage(this.id))) return;
    this.timer.set(ctx.noAudioTimeoutMs, () => this.onNoAudio());
    this.guard(() => {
      this.events = ctx.admit(this);
      this.legClose.admitted(this.events, this.log);
    });
  }

  /** False once the socket is closed (or was refused on open). */
  get live(): boolean {
    return this.phase === "in-call";
  }

  sendAudio(samples: Int16Array): boolean {
    if (this.phase !== "in-call") return false;
    let bytes: Uint8Array = this.outBytes;
    if (samples.length === this.out.length) this.out.set(samples);
    else bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    const sent = this.socket.send(bytes);
    if (sent === 0) {
      if (this.socket.readyState === 1) this.onWriteFailure("the socket dropped a frame (Bun's back-pressure limit)");
      return false;
    }
    this.ctx.stats.framesOut++;
    this.ctx.stats.bytesOut += bytes.length;
    const buffered = this.socket.getBufferedAmount();
    if (buffered > BUFFERED_LIMIT_BYTES) {
      this.onWriteFailure(`${buffered} bytes of audio waiting for the browser to read`);
      return false;
    }
    return true;
  }

  /** Barge-in: the browser drops the bot audio it has queued. */
  flushPlayback(): void {
    if (this.phase === "in-call") this.sendText(FLUSH_MESSAGE);
  }

  /** The bot hangs up: the browser hears why, then close 1000. */
  hangup(reason?: string): void {
    if (this.phase !== "in-call") return;
    this.sendText(endMessage(reason ?? "hangup"));
    this.log.info("the bot ended the test call", { reason });
    this.closeSocket(1000, "call ended");
    this.finishLeg("server-hangup");
  }

  onMessage(data: string | Uint8Array): void {
    if (this.phase !== "in-call") return;
    this.guard(() => (typeof data === "string" ? this.onText(data) : this.onBinary(data)));
  }

  onSocketClosed(code: number, reason: string): void {
    if (this.phase !== "in-call") return;
    this.release();
    const detail = code === 1006 ? "connection lost (1006, no close frame)" : `close ${code}${reason ? ` "${reason}"` : ""}`;
    this.log.info(`the browser closed the test call (${detail})`);
    this.finishLeg("caller-hangup", detail);
    this.ctx.onGone(this);
  }

  /** Server shutdown: the browser hears why; the call ends. */
  shutdown(): void {
    if (this.phase !== "in-call") return;
    this.sendText(endMessage("shutdown"));
    this.closeSocket(1001, "voicebot is shutting down");
    this.finishLeg("shutdown");
  }

  private onText(text: string): void {
    const message = parseBrowserText(text);
    if (message.type === "fault") return this.onProtocolError(message.fault);
    if (message.type === "hangup") {
      this.log.info("the caller hung up (hangup message)");
      this.closeSocket(1000, "caller hung up");
      this.finishLeg("caller-hangup");
      return;
    }
    this.events?.onDtmf(message.digit);
  }

  private onBinary(bytes: Uint8Array): void {
    const length = bytes.length;
    this.ctx.stats.bytesIn += length;
    const fault = audioFault(length);
    if (fault !== null) return this.onProtocolError(fault);
    this.timer.clear();
    const frame = this.frame;
    for (let b = 0; b < length; b += 2) {
      frame[this.fill] = ((bytes[b]! | (bytes[b + 1]! << 8)) << 16) >> 16;
      if (++this.fill < frame.length) continue;
      this.fill = 0;
      this.ctx.stats.framesIn++;
      this.events?.onAudio(frame);
      if (this.phase !== "in-call") return;
    }
  }

  private onNoAudio(): void {
    this.onProtocolError({ code: 1008, reason: "no audio", detail: `no audio within ${this.ctx.noAudioTimeoutMs} ms of the socket opening (the page's microphone did not start)` });
  }

  private sendText(text: string): boolean {
    if (this.socket.send(text) === 0 && this.socket.readyState === 1) {
      this.onWriteFailure("the socket dropped a control message (Bun's back-pressure limit)");
      return false;
    }
    return this.phase === "in-call";
  }

  /** Refused at once (bad query): nothing was admitted, so there is no call to end. */
  private refuse(detail: string, reason: string): void {
    this.ctx.stats.connectionsRejected++;
    this.log.warn(`test call refused: ${detail}`);
    this.closeSocket(1008, reason);
  }

  private onProtocolError(fault: ProtocolFault): void {
    this.ctx.stats.protocolErrors++;
    this.log.warn(`protocol error: ${fault.detail}; closing the test call (${fault.code} "${fault.reason}")`);
    this.closeSocket(fault.code, fault.reason);
    this.finishLeg("protocol-error", fault.detail);
  }

  private onWriteFailure(detail: string): void {
    this.log.warn(`the browser is not reading our audio: ${detail}; closing the test call`);
    this.closeSocket(1011, "not reading");
    this.finishLeg("write-error", detail);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.onHandlerFailure(error);
    }
  }

  /** A call handler threw: the call cannot go on. */
  private onHandlerFailure(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`call handler failed: ${message}; hanging up`);
    this.closeSocket(1011, "internal error");
    this.finishLeg("internal-error", message);
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
    this.legClose.close(reason, detail, this.log);
  }
}
