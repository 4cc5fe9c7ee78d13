/**
 * FreeSWITCH Event Socket client (inbound mode, PROTOCOLS.md §3.3): connects, answers `auth/request`,
 * subscribes with `event plain …`, and stays up until stop(), retrying within a second (reconnect.ts).
 * Replies come back in the order the commands were sent, so waiting commands form a FIFO; `bgapi`
 * results arrive later as BACKGROUND_JOB events, matched by Job-UUID.
 */
import type { Socket } from "bun";
import type { Logger } from "../log.ts";
import { EslDecoder, EslProtocolError, encodeCommand, type EslEvent, type EslMessage } from "./esl-codec.ts";
import { aclRejected, badPassword, passwordRejected } from "./esl-auth.ts";
import { DEFAULT_RECONNECT, reconnectDelayMs, type ReconnectPolicy } from "./reconnect.ts";

export interface EslClientOptions {
  host: string;
  port: number;
  password: string;
  log: Logger;
  /** Subscribed with `event plain …` after auth (and after every reconnect). */
  events?: string[];
  commandTimeoutMs?: number;
  reconnect?: Partial<ReconnectPolicy>;
}

export class EslError extends Error {
  override name = "EslError";
}

const DEFAULT_EVENTS = ["CHANNEL_HANGUP", "DTMF", "BACKGROUND_JOB", "CUSTOM"].concat(
  ["play", "error", "disconnect"].map((name) => `mod_audio_stream::${name}`),
);

type Kind = "auth" | "event" | "api" | "bgapi" | "exit";

interface Pending {
  readonly kind: Kind;
  readonly label: string;
  resolve(body: string): void;
  reject(error: EslError): void;
  done?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/** One TCP connection; a reconnect makes a new one, so late callbacks of an old one touch nothing. */
class Session {
  socket: Socket<undefined> | null = null;
  readonly fifo: Pending[] = [];
  readonly jobs = new Map<string, Pending>();
  unsent: Uint8Array | null = null;
  authed = false;
  /** The `event plain …` reply came back: FreeSWITCH now sends this session the events voicebot needs. */
  subscribed = false;
  dropped = false;
  connectTimer: ReturnType<typeof setTimeout> | undefined;
  markClosed: () => void = () => {};
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  constructor(readonly decoder: EslDecoder) {}
}

const encoder = new TextEncoder();

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const firstLine = (text: string): string => (text.split("\n", 1)[0] ?? "").trim();

function validateOptions(o: EslClientOptions): string[] {
  if (o.host.trim() === "") throw new EslError("ESL host is empty: give the FreeSWITCH host name or address");
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
    throw new EslError(`ESL port ${o.port} is not a TCP port: use an integer from 1 to 65535 (FreeSWITCH default 8021)`);
  }
  if (badPassword(o.password)) throw new EslError("ESL password is empty or holds a line break: use event_socket.conf's password");
  const events = o.events ?? DEFAULT_EVENTS;
  for (const name of events) {
    if (!/^\S+$/.test(name)) throw new EslError(`ESL event name ${JSON.stringify(name)} is not allowed: one word, no spaces`);
  }
  // bgapi() waits for BACKGROUND_JOB; put first, since FreeSWITCH reads every word after CUSTOM as a subclass.
  return events.includes("BACKGROUND_JOB") ? events : ["BACKGROUND_JOB", ...events];
}

export class EslClient {
  readonly stats = { reconnects: 0, commands: 0, failures: 0 };
  private readonly address: string;
  private readonly subscription: string;
  private readonly timeoutMs: number;
  private readonly backoff: ReconnectPolicy;
  private readonly listeners = new Set<(event: EslEvent) => void>();
  private readonly upListeners = new Set<() => void>();
  private readonly readyWaiters = new Set<(why: string | null) => void>();
  private session: Session | null = null;
  private running = false;
  private everConnected = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The state last logged, so that a retry loop logs each change once, not every attempt. */
  private state = "";

  constructor(private readonly o: EslClientOptions) {
    this.subscription = `event plain ${validateOptions(o).join(" ")}\n\n`;
    this.address = `${o.host}:${o.port}`;
    this.timeoutMs = o.commandTimeoutMs ?? 5000;
    this.backoff = { ...DEFAULT_RECONNECT, ...o.reconnect };
  }

  /** Logged in and subscribed: commands can be sent, and the events they lead to will arrive. */
  get connected(): boolean {
    return this.session?.subscribed === true;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  ready(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (why: string | null): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        if (why === null) resolve();
        else reject(new EslError(`ESL not connected to ${this.address}: ${why}`));
      };
      const timer = setTimeout(() => done(`nothing after ${timeoutMs} ms${this.state === "" ? "" : ` (${this.state})`}`), timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  api(command: string): Promise<string> {
    return this.send("api", command);
  }

  bgapi(command: string): Promise<string> {
    return this.send("bgapi", command);
  }

  onEvent(listener: (event: EslEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called each time the client becomes `connected` (the first time and after every reconnect). */
  onConnected(listener: () => void): () => void {
    this.upListeners.add(listener);
    return () => this.upListeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.retryTimer);
    const session = this.session;
    if (session?.authed) {
      this.command(session, "exit\n\n", { kind: "exit", label: "exit", resolve: () => {}, reject: () => {} });
      await Promise.race([session.closed, Bun.sleep(Math.min(this.timeoutMs, 1000))]);
    }
    if (session) this.drop(session, "ESL client stopped");
    for (const waiter of [...this.readyWaiters]) waiter("client stopped");
  }

  private send(kind: "api" | "bgapi", command: string): Promise<string> {
    const label = `${kind} ${command.trim().split(" ", 1)[0]}`;
    const session = this.session;
    return new Promise<string>((resolve, reject) => {
      const fail = (error: EslError): void => {
        this.stats.failures++;
        reject(error);
      };
      if (command.trim() === "") return fail(new EslError(`ESL ${kind} needs a command, got an empty one`));
      let line: string;
      try {
        line = encodeCommand(`${kind} ${command.trim()}`);
      } catch (error) {
        return fail(new EslError(describe(error)));
      }
      if (!session?.authed) return fail(new EslError(`ESL not connected to ${this.address}: "${label}" not sent`));
      this.stats.commands++;
      this.command(session, line, { kind, label, resolve, reject: fail });
    });
  }

  /** Queues the reply waiter and writes the command now, in this call (barge-in timing depends on it). */
  private command(session: Session, line: string, pending: Pending): void {
    pending.timer = setTimeout(() => {
      this.settle(pending, new EslError(`ESL "${pending.label}" got no answer from ${this.address} within ${this.timeoutMs} ms`));
      for (const [job, waiting] of session.jobs) if (waiting === pending) session.jobs.delete(job);
      // FreeSWITCH answers one command after another on one thread, and ours are quick: a reply owed
      // this long means that thread is stuck, and only a new connection gets a new one.
      if (session.fifo.includes(pending)) this.drop(session, `FreeSWITCH ESL at ${this.address} stopped answering commands`);
    }, this.timeoutMs);
    session.fifo.push(pending);
    this.write(session, encoder.encode(line));
  }

  private settle(pending: Pending, outcome: string | EslError): void {
    if (pending.done) return;
    pending.done = true;
    clearTimeout(pending.timer);
    if (typeof outcome === "string") pending.resolve(outcome);
    else pending.reject(outcome);
  }

  /** Bun's socket.write takes what the kernel takes: keep the rest, in order, for the drain callback. */
  private write(session: Session, bytes: Uint8Array): void {
    let out = bytes;
    if (session.unsent) {
      out = new Uint8Array(session.unsent.length + bytes.length);
      out.set(session.unsent);
      out.set(bytes, session.unsent.length);
    }
    if (out.length === 0) return;
    const written = session.socket?.write(out) ?? 0;
    session.unsent = written < out.length ? out.subarray(Math.max(written, 0)) : null;
  }

  private connect(): void {
    const session: Session = new Session(new EslDecoder((message) => this.onMessage(session, message)));
    this.session = session;
    const silent = `FreeSWITCH ESL at ${this.address} sent no auth/request within ${this.timeoutMs} ms`;
    session.connectTimer = setTimeout(() => this.drop(session, silent), this.timeoutMs);
    const gone = (reason: string): void => {
      session.markClosed();
      this.drop(session, reason);
    };
    Bun.connect({
      hostname: this.o.host,
      port: this.o.port,
      socket: {
        binaryType: "uint8array",
        open: (socket) => {
          if (session.dropped) return socket.terminate();
          socket.setNoDelay(true);
          session.socket = socket;
        },
        data: (_socket, chunk) => {
          try {
            session.decoder.push(chunk);
          } catch (error) {
            if (!(error instanceof EslProtocolError)) throw error;
            this.drop(session, `FreeSWITCH ESL at ${this.address} sent a malformed message: ${error.message}`);
          }
        },
        drain: () => this.write(session, new Uint8Array(0)),
        close: () => gone(`FreeSWITCH ESL at ${this.address} closed the connection`),
        connectError: (_socket, error) => gone(`cannot connect to FreeSWITCH ESL at ${this.address}: ${error.message}`),
        error: (_socket, error) => this.o.log.error("ESL socket handler failed", { esl: this.address, error: describe(error) }),
      },
    }).catch(() => {});
  }

  private onMessage(session: Session, message: EslMessage): void {
    if (session.dropped) return;
    switch (message.contentType) {
      case "auth/request": {
        clearTimeout(session.connectTimer);
        const onAccepted = (): void => this.onAuthenticated(session);
        return this.command(session, `auth ${this.o.password}\n\n`, { kind: "auth", label: "auth", resolve: onAccepted, reject: () => {} });
      }
      case "command/reply":
      case "api/response":
        return this.onReply(session, message);
      case "text/event-plain":
        if (message.event) this.onEventMessage(session, message.event);
        return;
      case "text/disconnect-notice":
        return this.drop(session, `FreeSWITCH ESL at ${this.address} sent a disconnect notice`);
      case "text/rude-rejection":
        return this.drop(session, aclRejected(this.address, session.socket?.localAddress ?? ""), true);
      default:
        this.o.log.debug("ESL message ignored", { esl: this.address, contentType: message.contentType });
    }
  }

  private onReply(session: Session, message: EslMessage): void {
    const pending = session.fifo.shift();
    if (!pending) {
      this.o.log.warn("ESL reply with no command waiting for it", { esl: this.address, reply: firstLine(message.body) });
      return;
    }
    const text = message.contentType === "api/response" ? message.body : (message.headers.get("Reply-Text") ?? "");
    const failed = text.startsWith("-ERR");
    if (pending.kind === "auth" && failed) {
      this.settle(pending, new EslError(firstLine(text)));
      this.drop(session, passwordRejected(this.address), true);
    } else if (pending.kind === "event" && failed) {
      this.o.log.warn("ESL event subscription refused", { esl: this.address, reply: firstLine(text) });
      this.settle(pending, text);
    } else if (pending.kind === "bgapi") {
      const job = message.headers.get("Job-UUID");
      if (failed || job === undefined) this.settle(pending, new EslError(`ESL "${pending.label}" refused: ${firstLine(text) || "no Job-UUID"}`));
      else if (!pending.done) session.jobs.set(job, pending);
    } else {
      this.settle(pending, failed && pending.kind === "api" ? new EslError(firstLine(text)) : text);
    }
  }

  private onAuthenticated(session: Session): void {
    session.authed = true;
    // Nobody sends on this session before the reply: an event (a `::play`) fired before FreeSWITCH
    // applies the subscription would be lost, so `connected` waits for it.
    const onSubscribed = (): void => this.onSubscribed(session);
    this.command(session, this.subscription, { kind: "event", label: "event plain", resolve: onSubscribed, reject: () => {} });
  }

  private onSubscribed(session: Session): void {
    if (session.dropped) return;
    session.subscribed = true;
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    this.attempt = 0;
    this.report("connected");
    for (const waiter of [...this.readyWaiters]) waiter(null);
    for (const listener of [...this.upListeners]) {
      try {
        listener();
      } catch (error) {
        this.o.log.error("ESL connection listener failed", { esl: this.address, error: describe(error) });
      }
    }
  }

  private onEventMessage(session: Session, event: EslEvent): void {
    const job = event.name === "BACKGROUND_JOB" ? event.headers.get("Job-UUID") : undefined;
    const pending = job === undefined ? undefined : session.jobs.get(job);
    if (job !== undefined && pending) {
      session.jobs.delete(job);
      this.settle(pending, event.body.startsWith("-ERR") ? new EslError(firstLine(event.body)) : event.body);
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.o.log.error("ESL event listener failed", { esl: this.address, event: event.name, error: describe(error) });
      }
    }
  }

  /**
   * Ends a session for good: its waiting commands fail, and a new one is scheduled unless stopped
   * (`refused`: FreeSWITCH said no, which retrying soon will not change).
   */
  private drop(session: Session, reason: string, refused = false): void {
    if (session.dropped) return;
    session.dropped = true;
    session.authed = false;
    session.subscribed = false;
    clearTimeout(session.connectTimer);
    if (this.session === session) this.session = null;
    session.socket?.terminate();
    const lost = new EslError(`ESL connection to ${this.address} lost: ${reason}`);
    for (const pending of [...session.fifo, ...session.jobs.values()]) this.settle(pending, lost);
    session.fifo.length = 0;
    session.jobs.clear();
    if (!this.running) return;
    this.report(reason);
    const delay = reconnectDelayMs(this.backoff, this.attempt, refused);
    this.attempt++;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private report(state: string): void {
    if (state === this.state) return;
    this.state = state;
    if (state === "connected") this.o.log.info("ESL connected", { esl: this.address });
    else this.o.log.warn(state, { esl: this.address });
  }
}
