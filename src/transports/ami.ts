/**
 * Asterisk Manager Interface client for the hand-off to a human (PROTOCOLS.md §3.1): stays logged in
 * (reconnecting with backoff), learns which channel runs each AudioSocket call from VarSet/Newexten
 * events, and Redirects that channel to the transfer target (Asterisk then closes the AudioSocket).
 */
import type { Socket } from "bun";
import type { Logger } from "../log.ts";
import { AmiMessage, AmiParser, serializeAction } from "./ami-codec.ts";
import { formatDialplanTarget, type DialplanTarget } from "./dialplan-target.ts";
import { DEFAULT_RECONNECT, reconnectDelayMs, type ReconnectPolicy } from "./reconnect.ts";

export interface AmiClientOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  log: Logger;
  /** The channel variable the shipped dialplan sets to the AudioSocket UUID before AudioSocket(). */
  uuidVariable?: string;
  actionTimeoutMs?: number;
  reconnect?: Partial<ReconnectPolicy>;
}

export class AmiError extends Error {
  override name = "AmiError";
}
/** Asterisk answered the Login with an error (bad user or secret, not permitted from this host). */
class AmiLoginRefused extends AmiError {}

/** VarSet and Newexten are in class dialplan; Hangup and Rename in class call. */
const LOGIN_EVENTS = "call,dialplan";
/** Calls whose Hangup was missed (events lost while disconnected) are dropped oldest first past this. */
const MAX_MAPPED_CALLS = 10_000;

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
}

const isSuccess = (response: AmiMessage): boolean => response.get("Response")?.toLowerCase() === "success";
const reason = (response: AmiMessage): string => response.get("Message") || `Response: ${response.get("Response") ?? "(none)"}`;

/** `events`: a list reply's events (Status), in order; empty for one-message replies. */
type Reply = { response: AmiMessage; events: AmiMessage[] };

/** `listEnd`: the event ending a list reply (Status → statuscomplete), lower case; null for one-message replies. */
type Pending = Reply & { action: string; listEnd: string | null; timer: Timer; resolve(reply: Reply): void; reject(error: AmiError): void };

/** `onClose` is called once, only for a connection whose banner arrived. */
type ConnectionHandlers = { onEvent(event: AmiMessage): void; onClose(connection: AmiConnection, why: string): void };

/** One TCP session: banner, actions matched to replies by ActionID, everything else as events. */
class AmiConnection {
  version = "";
  private socket: Socket<undefined> | null = null;
  private readonly parser: AmiParser;
  private readonly pending = new Map<string, Pending>();
  private readonly idPrefix = crypto.randomUUID().slice(0, 8);
  private nextId = 0;
  private unsent: Uint8Array | null = null;
  private established = false;
  private closed = false;
  private banner: { arrived(): void; failed(why: string): void } | null = null;

  constructor(
    private readonly address: { host: string; port: number },
    private readonly handlers: ConnectionHandlers,
  ) {
    const onBanner = (version: string): void => {
      this.version = version;
      this.established = true;
      this.banner?.arrived();
    };
    this.parser = new AmiParser({ onBanner, onMessage: (message) => this.onMessage(message) }, { expectBanner: true });
  }

  /** Resolves once Asterisk's banner arrived; rejects with the cause otherwise. */
  open(timeoutMs: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(() => this.close(`no AMI banner within ${timeoutMs} ms`), timeoutMs);
    this.banner = { arrived: resolve, failed: (why) => reject(new AmiError(why)) };
    Bun.connect({
      hostname: this.address.host,
      port: this.address.port,
      socket: {
        binaryType: "uint8array",
        open: (socket) => void ((this.socket = socket), socket.setNoDelay(true)),
        data: (_socket, chunk) => this.onData(chunk),
        drain: () => this.flush(),
        close: (_socket, error) => this.close(error ? `connection lost: ${describe(error)}` : "Asterisk closed the connection"),
        error: (_socket, error) => this.close(`socket error: ${describe(error)}`),
      },
    }).then(
      (socket) => this.closed && socket.terminate(),
      (error: unknown) => this.close(`cannot connect: ${describe(error)}`),
    );
    return promise.finally(() => clearTimeout(timer));
  }

  /** Sends one action with a fresh ActionID; `listEnd` names the event closing a list reply. */
  send(action: string, fields: Record<string, string>, timeoutMs: number, listEnd: string | null = null): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      if (this.closed || this.socket === null) throw new AmiError(`the AMI connection is closed (${action} not sent)`);
      const id = `${this.idPrefix}-${++this.nextId}`;
      const bytes = Buffer.from(serializeAction(action, { ...fields, ActionID: id }));
      const timer = setTimeout(() => this.pending.delete(id) && reject(new AmiError(`no reply to ${action} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, { action, resolve, reject, timer, listEnd: listEnd?.toLowerCase() ?? null, response: new AmiMessage(), events: [] });
      this.write(bytes);
    });
  }

  close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.end();
    this.socket = null;
    this.banner?.failed(why);
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new AmiError(`${why} before the reply to ${pending.action}`));
    }
    this.pending.clear();
    if (this.established) this.handlers.onClose(this, why);
  }

  private onData(chunk: Uint8Array): void {
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.close(describe(error)); // an AmiProtocolError: the stream cannot be resynchronised
    }
  }

  private onMessage(message: AmiMessage): void {
    const id = message.get("ActionID");
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || pending === undefined) {
      if (message.has("Event")) this.handlers.onEvent(message);
      return;
    }
    if (message.has("Response")) {
      pending.response = message;
      if (pending.listEnd === null || !isSuccess(message)) this.settle(id, pending);
    } else if (pending.listEnd !== null) {
      if (message.get("Event")?.toLowerCase() === pending.listEnd) this.settle(id, pending);
      else pending.events.push(message);
    }
  }

  private settle(id: string, pending: Pending): void {
    clearTimeout(pending.timer);
    this.pending.delete(id);
    pending.resolve({ response: pending.response, events: pending.events });
  }

  private write(bytes: Uint8Array): void {
    this.unsent = this.unsent === null ? bytes : Buffer.concat([this.unsent, bytes]);
    this.flush();
  }

  /** Sends what the socket takes now; `drain` calls again for the rest. */
  private flush(): void {
    if (this.unsent === null || this.socket === null) return;
    const written = Math.max(0, this.socket.write(this.unsent));
    this.unsent = written >= this.unsent.length ? null : this.unsent.subarray(written);
  }
}

type Source = "varset" | "app";

/** AudioSocket UUID → the channel each kind of event named; bounded, forgotten on Hangup, following Rename. */
class ChannelMap {
  private readonly calls = new Map<string, Partial<Record<Source, string>>>();

  /** The VarSet mapping is the caller channel on both the app and the Dial path: it wins. */
  get(uuid: string): string | null {
    const call = this.calls.get(uuid);
    return call?.varset ?? call?.app ?? null;
  }

  /** The first channel seen for a UUID keeps it until it hangs up. */
  learn(source: Source, uuid: string, channel: string): void {
    const call = this.calls.get(uuid) ?? {};
    if (call[source] !== undefined) return;
    call[source] = channel;
    if (!this.calls.has(uuid) && this.calls.size >= MAX_MAPPED_CALLS) this.calls.delete(this.calls.keys().next().value!);
    this.calls.set(uuid, call);
  }

  /**
   * Hangup (`to` undefined) forgets a channel, Rename gives its calls the new name. Only the bot's
   * live calls are held, so a scan per event costs less than keeping a reverse index in step.
   */
  replace(from: string, to: string | undefined): void {
    for (const [uuid, call] of this.calls) {
      if (call.varset === from) call.varset = to;
      if (call.app === from) call.app = to;
      if (call.varset === undefined && call.app === undefined) this.calls.delete(uuid);
    }
  }
}

const normalizeUuid = (uuid: string): string => uuid.trim().toLowerCase();
/** In the Dial(AudioSocket/…) path the AudioSocket leg is not the one to redirect (PROTOCOLS.md §3.1). */
const isAudioSocketLeg = (channel: string): boolean => channel.startsWith("AudioSocket/");

/** Logs in on an open connection; resolves with the reply's latency, rejects with Asterisk's reason. */
async function login(connection: AmiConnection, o: { username: string; secret: string }, events: string, timeoutMs: number): Promise<number> {
  const sentAt = performance.now();
  const reply = await connection.send("Login", { Username: o.username, Secret: o.secret, Events: events }, timeoutMs);
  if (!isSuccess(reply.response)) throw new AmiLoginRefused(`Asterisk refused the login of user "${o.username}": ${reason(reply.response)}`);
  return performance.now() - sentAt;
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export class AmiClient {
  readonly stats = { logins: 0, reconnects: 0, actions: 0, failures: 0 };
  private readonly log: Logger;
  private readonly address: string;
  private readonly uuidVariable: string;
  private readonly actionTimeoutMs: number;
  private readonly backoff: ReconnectPolicy;
  private readonly channels = new ChannelMap();
  private readonly waiters = new Set<{ resolve(): void; reject(error: AmiError): void }>();
  private connection: AmiConnection | null = null;
  private connecting: AmiConnection | null = null;
  private stopped = false;
  private failedAttempts = 0;
  private retryTimer: Timer | null = null;
  private lastProblem: string | null = null;

  constructor(private readonly options: AmiClientOptions) {
    this.uuidVariable = options.uuidVariable ?? "VB_UUID";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(this.uuidVariable)) throw new Error(`AMI UUID variable ${JSON.stringify(this.uuidVariable)} is not a dialplan variable name`);
    this.actionTimeoutMs = options.actionTimeoutMs ?? 5000;
    this.backoff = { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.address = formatAddress(options.host, options.port);
    this.log = options.log.child("ami", { ami: this.address });
  }

  /** Logged in now. */
  get connected(): boolean {
    return this.connection !== null;
  }

  start(): void {
    if (this.stopped || this.connecting !== null || this.connection !== null || this.retryTimer !== null) return;
    void this.attempt();
  }

  /** Resolves once logged in (or rejects after timeoutMs): for start-up logs and doctor. */
  ready(timeoutMs: number): Promise<void> {
    if (this.connection !== null) return Promise.resolve();
    if (this.stopped) return Promise.reject(new AmiError(`AMI client for ${this.address} is stopped`));
    const waiter = Promise.withResolvers<void>();
    this.waiters.add(waiter);
    const timer = setTimeout(() => waiter.reject(new AmiError(`not logged in to AMI at ${this.address} within ${timeoutMs} ms: ${this.lastProblem ?? "no login attempt has finished yet"}`)), timeoutMs);
    return waiter.promise.finally(() => {
      clearTimeout(timer);
      this.waiters.delete(waiter);
    });
  }

  /** The channel (name) running the AudioSocket call with this UUID, learned from events; null if unknown. */
  channelFor(uuid: string): string | null {
    return this.channels.get(normalizeUuid(uuid));
  }

  /** Redirects that call's channel to the target; rejects with an AmiError naming the cause. */
  async redirect(uuid: string, target: DialplanTarget): Promise<void> {
    const where = formatDialplanTarget(target);
    try {
      const connection = this.connection;
      if (connection === null) throw new AmiError(`AMI at ${this.address} is not connected (${this.lastProblem ?? "not logged in yet"})`);
      const channel = this.channelFor(uuid) ?? (await this.lookUpChannel(connection, normalizeUuid(uuid)));
      this.stats.actions++;
      const fields = { Channel: channel, Context: target.context, Exten: target.exten, Priority: target.priority };
      const reply = await connection.send("Redirect", fields, this.actionTimeoutMs);
      if (!isSuccess(reply.response)) throw new AmiError(`Asterisk refused to redirect ${channel}: ${reason(reply.response)}`);
      this.log.info("call redirected", { call: uuid, channel, target: where });
    } catch (error) {
      this.stats.failures++;
      throw new AmiError(`cannot redirect call ${uuid} to ${where}: ${describe(error)}`);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    for (const waiter of this.waiters) waiter.reject(new AmiError(`AMI client for ${this.address} was stopped`));
    this.connecting?.close("AMI client stopped");
    const connection = this.connection;
    this.connection = null;
    // Logoff lets Asterisk log a clean log-off instead of a dropped session.
    await connection?.send("Logoff", {}, Math.min(this.actionTimeoutMs, 1000)).catch(() => undefined);
    connection?.close("AMI client stopped");
  }

  private async attempt(): Promise<void> {
    this.retryTimer = null;
    const connection = new AmiConnection(
      { host: this.options.host, port: this.options.port },
      { onEvent: (event) => this.onEvent(event), onClose: (lost, why) => this.onClose(lost, why) },
    );
    this.connecting = connection;
    try {
      await connection.open(this.actionTimeoutMs);
      await login(connection, this.options, LOGIN_EVENTS, this.actionTimeoutMs);
      if (this.stopped) throw new AmiError("AMI client stopped");
    } catch (error) {
      connection.close(describe(error));
      if (!this.stopped) this.retryLater(describe(error), error instanceof AmiLoginRefused);
      return;
    } finally {
      this.connecting = null;
    }
    this.connection = connection;
    this.stats.logins++;
    this.failedAttempts = 0;
    this.lastProblem = null;
    this.log.info("logged in", { user: this.options.username, version: connection.version, events: LOGIN_EVENTS });
    for (const waiter of this.waiters) waiter.resolve();
  }

  private onClose(connection: AmiConnection, why: string): void {
    if (connection !== this.connection) return;
    this.connection = null;
    if (!this.stopped) this.retryLater(why, false);
  }

  /** Logs a problem once per change (not on every retry), then waits the backoff with jitter. */
  private retryLater(problem: string, refused: boolean): void {
    const delayMs = reconnectDelayMs(this.backoff, this.failedAttempts++, refused);
    const fields = { problem, user: this.options.username, retryMs: delayMs };
    if (problem !== this.lastProblem) this.log.warn("AMI unavailable, retrying with backoff", fields);
    else this.log.debug("AMI still unavailable", fields);
    this.lastProblem = problem;
    this.stats.reconnects++;
    this.retryTimer = setTimeout(() => void this.attempt(), delayMs);
  }

  /** Fallback when no event named the channel: ask Status for every channel's UUID variable. */
  private async lookUpChannel(connection: AmiConnection, uuid: string): Promise<string> {
    this.stats.actions++;
    const reply = await connection.send("Status", { Variables: this.uuidVariable }, this.actionTimeoutMs, "StatusComplete");
    if (!isSuccess(reply.response)) throw new AmiError(`Status lookup failed: ${reason(reply.response)}`);
    const wanted = `${this.uuidVariable}=${uuid}`.toLowerCase();
    for (const status of reply.events) {
      const channel = status.get("Channel");
      if (channel === undefined || isAudioSocketLeg(channel)) continue;
      if (status.getAll("Variable").some((value) => value.toLowerCase() === wanted)) {
        this.channels.learn("varset", uuid, channel);
        return channel;
      }
    }
    throw new AmiError(`no channel is known for it (no ${this.uuidVariable} VarSet or AudioSocket Newexten event seen, and Status lists no channel with ${this.uuidVariable}=${uuid})`);
  }

  private onEvent(event: AmiMessage): void {
    const channel = event.get("Channel");
    if (channel === undefined || channel === "none") return;
    const name = event.get("Event")?.toLowerCase();
    if (name === "varset") {
      const value = event.get("Value");
      // `Set(__VB_UUID=…)` (an inherited variable) reports the name with its underscores.
      if (value && !isAudioSocketLeg(channel) && event.get("Variable")?.replace(/^_{1,2}/, "") === this.uuidVariable) {
        this.channels.learn("varset", normalizeUuid(value), channel);
      }
    } else if (name === "newexten") {
      const uuid = event.get("AppData")?.split(",")[0];
      if (uuid && event.get("Application")?.toLowerCase() === "audiosocket") this.channels.learn("app", normalizeUuid(uuid), channel);
    } else if (name === "hangup" || name === "rename") {
      this.channels.replace(channel, name === "rename" ? event.get("Newname") || channel : undefined);
    }
  }
}

/** One-shot login check for `voicebot doctor`: connect, Login, Logoff; `ms` is the login reply's latency. */
export async function checkAmiLogin(
  o: Pick<AmiClientOptions, "host" | "port" | "username" | "secret"> & { timeoutMs: number },
): Promise<{ ok: boolean; message: string; ms: number }> {
  const address = formatAddress(o.host, o.port);
  const connection = new AmiConnection({ host: o.host, port: o.port }, { onEvent: () => {}, onClose: () => {} });
  const startedAt = performance.now();
  try {
    await connection.open(o.timeoutMs);
    const ms = await login(connection, o, "off", o.timeoutMs);
    await connection.send("Logoff", {}, o.timeoutMs).catch(() => undefined);
    return { ok: true, message: `logged in to AMI ${connection.version} at ${address} as "${o.username}"`, ms };
  } catch (error) {
    return { ok: false, message: `AMI at ${address}: ${describe(error)}`, ms: performance.now() - startedAt };
  } finally {
    connection.close("login check done");
  }
}
