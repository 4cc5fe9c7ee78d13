/**
 * One ASP connection from a media server: protocol.capabilities on open, then any number of
 * sessions (calls) started, updated and ended over it, each an AspSession. The media server keeps
 * one connection for all its calls and reconnects when it drops.
 *
 * Faults: a message we cannot read at all (not JSON, a bad audio header) means the client is not
 * speaking ASP: protocol.error, close 1007, and every call on the connection ends with one log line
 * naming the fault (and the call, when the message named one). A well-formed message we cannot act
 * on (unknown type, unknown session) gets a recoverable protocol.error and the connection goes on.
 */
import type { Logger } from "../log.ts";
import { CALLER_ID_TEXT, callableNumber } from "./caller-id.ts";
import { capabilitiesMessage, negotiateStart, negotiateUpdate } from "./asp-negotiate.ts";
import {
  ERR, audioFault, hashHead, protocolError, protocolErrorMessage, sessionStartedMessage, sessionUpdatedMessage,
  parseClientText, type ProtocolError, type SessionStart,
} from "./asp-protocol.ts";
import { AspSession, type AspWire } from "./asp-session.ts";
import type { AdmitCall, TransportStats } from "./types.ts";

/** The part of Bun's ServerWebSocket a connection uses. */
export interface AspSocket {
  /** Bun: bytes sent, -1 queued under back-pressure, 0 dropped. */
  send(data: string | Uint8Array): number;
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
}

export interface AspConnectionContext {
  readonly admit: AdmitCall;
  readonly log: Logger;
  readonly stats: TransportStats;
  /** Canonical tenant id (null given = the default tenant's); null = unknown. */
  readonly resolveTenant: (id: string | null) => string | null;
  readonly maxSessionSeconds: number;
  readonly endWaitMs: number;
  onGone(connection: AspConnection): void;
}

/** Unsent data past which the media server is taken as not reading (a few seconds of many calls). */
const BUFFERED_LIMIT_BYTES = 4 * 1024 * 1024;

export class AspConnection {
  private open = true;
  private readonly log: Logger;
  private readonly sessions = new Map<string, AspSession>();
  /** Sessions by the first 4 bytes of their hash (a list: two live sessions may share them). */
  private readonly byHash = new Map<number, AspSession[]>();
  private strayFrames = 0;
  private readonly wire: AspWire = {
    sendText: (text) => this.send(text),
    sendBinary: (bytes) => this.send(bytes),
  };

  constructor(
    private readonly socket: AspSocket,
    readonly peer: string,
    /** The tenant named by the URL path (`ws://host:port/<tenant>`), for sessions whose metadata names none. */
    private readonly pathTenant: string | null,
    private readonly ctx: AspConnectionContext,
  ) {
    this.log = ctx.log.child("asp", { peer });
    this.log.info("media server connected", { tenant: pathTenant ?? undefined });
    this.send(capabilitiesMessage(ctx.maxSessionSeconds));
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  onMessage(data: string | Uint8Array): void {
    if (!this.open) return;
    if (typeof data === "string") this.onText(data);
    else this.onBinary(data);
  }

  onSocketClosed(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    const detail = code === 1006 ? "connection lost (1006, no close frame)" : `close ${code}${reason ? ` "${reason}"` : ""}`;
    this.log.info(`the media server closed the connection (${detail})`, { calls: this.sessions.size });
    this.endSessions("caller-hangup", `media server connection closed: ${detail}`);
    this.ctx.onGone(this);
  }

  /** Server stopping: each call is hung up on the media server, then close 1001. */
  shutdown(): void {
    if (!this.open) return;
    for (const session of [...this.sessions.values()]) session.shutdown();
    this.closeSocket(1001, "voicebot is shutting down");
  }

  private onText(text: string): void {
    const message = parseClientText(text);
    switch (message.type) {
      case "fault":
        return this.onFault(message.detail, message.sessionId);
      case "unknown":
        this.log.warn(`unknown message type ${JSON.stringify(message.messageType)}; ignored`, { call: message.sessionId ?? undefined });
        this.send(protocolErrorMessage(protocolError(ERR.invalidMessageType, `Unknown message type: ${message.messageType}`, { received_type: message.messageType }), message.sessionId));
        return;
      case "session.start":
        return this.startSession(message.start);
      case "session.update": {
        const session = this.sessions.get(message.sessionId);
        if (session === undefined || !session.live) return this.sessionNotFound(message.sessionId, "session.update");
        const result = negotiateUpdate(session.negotiated, message.audio, message.vad);
        if (result.status === "rejected") {
          this.log.warn("session.update refused", { call: session.id, errors: describeErrors(result.errors) });
          this.send(sessionUpdatedMessage(session.id, result.status, null, result.errors));
          return;
        }
        session.negotiated = result.negotiated;
        this.send(sessionUpdatedMessage(session.id, result.status, result.negotiated, []));
        return;
      }
      case "session.end": {
        const session = this.sessions.get(message.sessionId);
        if (session === undefined) return this.sessionNotFound(message.sessionId, "session.end");
        session.onEnd(message.reason);
        return;
      }
      case "audio.speech_start":
        this.sessions.get(message.sessionId)?.onSpeechStart();
        return;
      case "audio.speech_end":
        this.sessions.get(message.sessionId)?.onSpeechEnd();
        return;
    }
  }

  private startSession(start: SessionStart): void {
    const id = start.sessionId;
    const refuse = (errors: ProtocolError[]): void => {
      this.log.warn("session refused", { call: id, errors: describeErrors(errors) });
      this.send(sessionStartedMessage(id, "rejected", null, errors));
    };
    if (this.sessions.has(id)) return refuse([protocolError(ERR.sessionAlreadyActive, `Session already active: ${id}`, { session_id: id })]);
    const result = negotiateStart(start.audio, start.vad);
    if (result.status === "rejected") return refuse(result.errors);
    const meta = start.metadata ?? {};
    const askedTenant = text(meta.tenant) ?? this.pathTenant;
    const tenant = this.ctx.resolveTenant(askedTenant);
    if (tenant === null) {
      return refuse([protocolError(ERR.invalidMessageFormat, `Unknown tenant: ${askedTenant}`, { field: "metadata.tenant", value: askedTenant })]);
    }
    const caller = text(meta.caller_number) ?? text(meta.caller_id);
    const dnis = text(meta.called_number) ?? text(meta.dnis);
    if (!this.send(sessionStartedMessage(id, result.status, result.negotiated, []))) return;
    const session = new AspSession({
      sessionId: id, peer: this.peer, tenant,
      callerNumber: callableNumber(caller), dnis,
      metadata: JSON.stringify({ call_id: start.callId, ...meta }),
      negotiated: result.negotiated, wire: this.wire, log: this.ctx.log, stats: this.ctx.stats, endWaitMs: this.ctx.endWaitMs,
      onGone: (gone) => this.forget(gone),
    });
    this.sessions.set(id, session);
    const sharing = this.byHash.get(session.hashHead);
    if (sharing === undefined) this.byHash.set(session.hashHead, [session]);
    else sharing.push(session);
    this.log.info("session started", {
      call: id, status: result.status, rate: session.sampleRate, tenant, caller: session.callerNumber ?? undefined,
      sip_call: start.callId ?? undefined, legacy: start.legacy || undefined,
    });
    session.admit(this.ctx.admit);
  }

  private onBinary(bytes: Uint8Array): void {
    const fault = audioFault(bytes);
    if (fault !== null) {
      const named = bytes.length >= 10 ? this.sessionFor(bytes) : undefined;
      return this.onFault(fault, named?.id ?? null);
    }
    const session = this.sessionFor(bytes);
    if (session === undefined) {
      // Frames in flight when a session ends are normal; with calls live and none matching, say what it looks like.
      if (this.strayFrames++ === 0) {
        this.log.warn("audio for no live session dropped (first on this connection; later ones are not logged): its header's bytes 2-9 are not md5(session_id)[0..8], as a client using the spec draft's 14-byte header would send", { calls: this.sessions.size });
      }
      return;
    }
    session.onAudio(bytes);
  }

  private sessionFor(bytes: Uint8Array): AspSession | undefined {
    const sharing = this.byHash.get(hashHead(bytes, 2));
    if (sharing === undefined) return undefined;
    for (const session of sharing) if (session.owns(bytes)) return session;
    return undefined;
  }

  private sessionNotFound(sessionId: string, what: string): void {
    this.log.debug(`${what} for no live session`, { call: sessionId });
    this.send(protocolErrorMessage(protocolError(ERR.sessionNotFound, `Session not found: ${sessionId}`, { session_id: sessionId }), sessionId));
  }

  private onFault(detail: string, sessionId: string | null): void {
    this.ctx.stats.protocolErrors++;
    this.log.warn(`protocol error: ${detail}; closing the connection (1007)`, { call: sessionId ?? undefined, calls: this.sessions.size });
    this.send(protocolErrorMessage(protocolError(ERR.invalidMessageFormat, detail, undefined, false), sessionId));
    this.endSessions("protocol-error", detail);
    this.closeSocket(1007, "invalid ASP message");
  }

  private send(data: string | Uint8Array): boolean {
    if (!this.open) return false;
    const sent = this.socket.send(data);
    if (sent === 0 && this.socket.readyState === 1) return this.onWriteFailure("the socket dropped a message (Bun's back-pressure limit)");
    const buffered = this.socket.getBufferedAmount();
    if (buffered > BUFFERED_LIMIT_BYTES) return this.onWriteFailure(`${buffered} bytes waiting for the media server to read`);
    return sent !== 0;
  }

  private onWriteFailure(detail: string): false {
    this.log.warn(`the media server is not reading: ${detail}; closing the connection`, { calls: this.sessions.size });
    this.endSessions("write-error", detail);
    this.closeSocket(1011, "not reading");
    return false;
  }

  private endSessions(reason: "caller-hangup" | "protocol-error" | "write-error", detail: string): void {
    for (const session of [...this.sessions.values()]) session.onConnectionEnded(reason, detail);
  }

  private forget(session: AspSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    const sharing = this.byHash.get(session.hashHead);
    if (sharing === undefined) return;
    const left = sharing.filter((other) => other !== session);
    if (left.length === 0) this.byHash.delete(session.hashHead);
    else this.byHash.set(session.hashHead, left);
  }

  /** Bun may run the close handler inside close(), so the state is set first. */
  private closeSocket(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.endSessions("caller-hangup", reason);
    this.socket.close(code, reason);
    this.ctx.onGone(this);
  }
}

/** A metadata value as caller id text, or null (absent, not a string, not printable). */
function text(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return CALLER_ID_TEXT.test(trimmed) ? trimmed : null;
}

function describeErrors(errors: ProtocolError[]): string {
  return errors.map((e) => `[${e.code}] ${e.message}`).join("; ");
}
