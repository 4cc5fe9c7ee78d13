/**
 * A local fake of the Asterisk Manager Interface for tests and `voicebot bench`, speaking the real
 * wire protocol (main/manager.c): the banner, CRLF `Key: Value` messages, Login (with its event
 * classes), Logoff, Ping, Status (with Variables, as a Status/StatusComplete event list), Redirect
 * (with Asterisk's own error texts) and async Originate of a Local channel into a rendered dialplan
 * (ami-originate.ts: it calls a real voicebot), ActionID echoed; channel events as Asterisk words them.
 * Bundled into the binary: no test-only imports, no console output.
 */
import type { Socket } from "bun";
import { AmiParser, serializeMessage, type AmiMessage } from "../../src/transports/ami-codec.ts";
import { originateLocal, type FakeAsteriskDialplan } from "./ami-originate.ts";

export type FakeAmiRedirectResult = { ok: true } | { ok: false; message: string };

export interface FakeAmiAction {
  action: string;
  fields: Record<string, string>;
  /** performance.now() at arrival. */
  at: number;
}

export interface FakeAmi {
  readonly host: string;
  readonly port: number;
  /** Every action received (after login), with its fields and arrival time (performance.now()). */
  readonly actions: FakeAmiAction[];
  /** Make a channel exist: emits Newchannel, VarSet <var>=<uuid>, Newexten (AudioSocket, AppData uuid,host:port) to logged-in clients. */
  addChannel(c: { channel: string; uniqueid: string; uuid: string; variable?: string }): void;
  /** Emits Hangup and forgets the channel. */
  hangupChannel(channel: string): void;
  /** Sends any event (fields in order, `Event` among them) to logged-in clients whose event classes take it. */
  emit(fields: Record<string, string>): void;
  /** Redirect result: default success when the channel exists, "Channel does not exist: X" otherwise. */
  onRedirect(handler: (fields: Record<string, string>) => FakeAmiRedirectResult): void;
  /** `stallOriginate`: Originate is queued, then nothing happens (a PBX that never places the call). */
  misbehave(m: { rejectLogin?: boolean; dropOnAction?: boolean; stallActions?: boolean; stallOriginate?: boolean }): void;
  /** Closes every client socket (to test reconnecting). */
  dropClients(): void;
  /** The oldest action of that name not returned before, waiting for it if needed (default 2000 ms). */
  waitForAction(name: string, timeoutMs?: number): Promise<{ fields: Record<string, string>; at: number }>;
  stop(): Promise<void>;
}

interface FakeChannel {
  channel: string;
  uniqueid: string;
  uuid: string;
  variable: string;
}

interface Client {
  socket: Socket<Client>;
  parser: AmiParser;
  loggedIn: boolean;
  /** Event classes asked for at Login; null = all. */
  classes: Set<string> | null;
  unsent: Uint8Array | null;
}

const AUDIOSOCKET_SERVICE = "127.0.0.1:9092";

/** The channel snapshot every channel event and Status carries, in Asterisk's order. */
function snapshot(c: FakeChannel): [string, string][] {
  return [
    ["Channel", c.channel],
    ["ChannelState", "6"],
    ["ChannelStateDesc", "Up"],
    ["CallerIDNum", "0600000000"],
    ["CallerIDName", "<unknown>"],
    ["ConnectedLineNum", "<unknown>"],
    ["ConnectedLineName", "<unknown>"],
    ["Language", "fr"],
    ["AccountCode", ""],
    ["Context", "voicebot"],
    ["Exten", "777"],
    ["Priority", "3"],
    ["Uniqueid", c.uniqueid],
    ["Linkedid", c.uniqueid],
  ];
}

/** Login's `Events:` as manager.c reads it: on/off words, or a list of classes. */
function eventClasses(value: string | undefined): Set<string> | null {
  const text = (value ?? "").trim().toLowerCase();
  if (text === "" || ["on", "yes", "true", "y", "t", "1", "all"].includes(text)) return null;
  if (["off", "no", "false", "n", "f", "0", "none"].includes(text)) return new Set();
  return new Set(text.split(",").map((part) => part.trim()));
}

/**
 * `dialplan`: what Originate's Local channels run (none: every Local channel is "No such
 * extension/context"); `write`: the user's write classes (manager.conf), default call,originate.
 * `secret` and `dialplan` may be read at each use, as Asterisk reads its files at each reload
 * (a staged /etc/asterisk that a script fills in; a null secret: no such user yet). `port`: a
 * port chosen before this Asterisk starts (default any free one).
 */
export async function startFakeAmi(o: {
  username: string; secret: string | (() => string | null); version?: string; port?: number;
  dialplan?: FakeAsteriskDialplan | (() => FakeAsteriskDialplan); write?: string[];
}): Promise<FakeAmi> {
  const secret = typeof o.secret === "function" ? o.secret : () => o.secret as string;
  const dialplan = typeof o.dialplan === "function" ? o.dialplan : () => (o.dialplan as FakeAsteriskDialplan | undefined) ?? { text: "" };
  const banner = `Asterisk Call Manager/${o.version ?? "13.0.0"}\r\n`;
  const clients = new Set<Client>();
  const channels = new Map<string, FakeChannel>();
  const actions: FakeAmiAction[] = [];
  const cursors = new Map<string, number>();
  const watchers = new Set<() => void>();
  const faults = { rejectLogin: false, dropOnAction: false, stallActions: false, stallOriginate: false };
  const write = new Set((o.write ?? ["call", "originate"]).map((w) => w.toLowerCase()));
  let redirectHandler: ((fields: Record<string, string>) => FakeAmiRedirectResult) | null = null;

  const flush = (client: Client): void => {
    if (client.unsent === null) return;
    const written = Math.max(0, client.socket.write(client.unsent));
    client.unsent = written >= client.unsent.length ? null : client.unsent.subarray(written);
  };
  const send = (client: Client, text: string): void => {
    const bytes = Buffer.from(text);
    client.unsent = client.unsent === null ? bytes : Buffer.concat([client.unsent, bytes]);
    flush(client);
  };
  const reply = (client: Client, request: AmiMessage, response: string, fields: [string, string][]): void => {
    const id = request.get("ActionID");
    send(client, serializeMessage([["Response", response], ...(id === undefined ? [] : [["ActionID", id] as [string, string]]), ...fields]));
  };
  const error = (client: Client, request: AmiMessage, message: string): void => reply(client, request, "Error", [["Message", message]]);

  const broadcast = (fields: readonly (readonly [string, string])[]): void => {
    const privilege = fields.find(([key]) => key.toLowerCase() === "privilege")?.[1];
    const eventClass = privilege?.split(",")[0]?.trim().toLowerCase();
    const text = serializeMessage(fields);
    for (const client of clients) {
      if (!client.loggedIn) continue;
      if (eventClass !== undefined && client.classes !== null && !client.classes.has(eventClass)) continue;
      send(client, text);
    }
  };
  const channelEvent = (name: string, privilege: string, c: FakeChannel, extra: [string, string][]): void => {
    broadcast([["Event", name], ["Privilege", privilege], ...snapshot(c), ...extra]);
  };

  const findChannel = (name: string): FakeChannel | undefined =>
    channels.get(name) ?? [...channels.values()].find((c) => c.uniqueid === name);

  const onLogin = (client: Client, request: AmiMessage): void => {
    const userOk = (request.get("Username") ?? "").toLowerCase() === o.username.toLowerCase();
    if (faults.rejectLogin || !userOk || request.get("Secret") !== secret()) {
      error(client, request, "Authentication failed");
      client.socket.end();
      return;
    }
    client.loggedIn = true;
    client.classes = eventClasses(request.get("Events"));
    reply(client, request, "Success", [["Message", "Authentication accepted"]]);
  };

  const onStatus = (client: Client, request: AmiMessage): void => {
    const wanted = request.get("Channel");
    const listed = wanted ? [findChannel(wanted)] : [...channels.values()];
    if (listed[0] === undefined && wanted) return error(client, request, "No such channel");
    const variables = (request.get("Variables") ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
    const id: [string, string][] = request.has("ActionID") ? [["ActionID", request.get("ActionID")!]] : [];
    reply(client, request, "Success", [["EventList", "start"], ["Message", "Channel status will follow"]]);
    let count = 0;
    for (const c of listed) {
      if (c === undefined) continue;
      count++;
      const values = variables.map((v): [string, string] => ["Variable", `${v}=${v === c.variable ? c.uuid : ""}`]);
      const app: [string, string][] = [["Type", "PJSIP"], ["Application", "AudioSocket"], ["Data", `${c.uuid},${AUDIOSOCKET_SERVICE}`]];
      send(client, serializeMessage([["Event", "Status"], ["Privilege", "Call"], ...snapshot(c), ...app, ...values, ...id]));
    }
    send(client, serializeMessage([["Event", "StatusComplete"], ...id, ["EventList", "Complete"], ["ListItems", String(count)], ["Items", String(count)]]));
  };

  const onRedirect = (client: Client, request: AmiMessage): void => {
    const fields = request.toRecord();
    for (const key of ["Channel", "Context", "Exten", "Priority"]) {
      if (!request.get(key)) return error(client, request, `${key} not specified`);
    }
    const priority = request.get("Priority")!;
    if (/^-?\d+$/.test(priority) && Number(priority) < 1) return error(client, request, "Priority is invalid");
    const channel = request.get("Channel")!;
    const result = redirectHandler?.(fields) ?? (findChannel(channel) ? { ok: true } : { ok: false, message: `Channel does not exist: ${channel}` });
    if (result.ok) reply(client, request, "Success", [["Message", "Redirect successful"]]);
    else error(client, request, result.message);
  };

  const onOriginate = (client: Client, request: AmiMessage): void => {
    // manager.c checks the action's class against the user's write= before anything else.
    if (!write.has("originate")) return error(client, request, "Permission denied");
    if (!request.get("Channel")) return error(client, request, "Channel not specified");
    if (!/^(true|yes|1|on)$/i.test(request.get("Async") ?? "")) return error(client, request, "the fake manager answers only Async originates");
    reply(client, request, "Success", [["Message", "Originate successfully queued"]]);
    if (!faults.stallOriginate) originateLocal(dialplan(), request.toRecord(), broadcast);
  };

  const onAction = (client: Client, request: AmiMessage): void => {
    const action = request.get("Action");
    if (!action) return error(client, request, "Missing action in request");
    const name = action.toLowerCase();
    if (!client.loggedIn) {
      if (name === "login") return onLogin(client, request);
      if (name === "logoff") return void (reply(client, request, "Goodbye", [["Message", "Thanks for all the fish."]]), client.socket.end());
      return error(client, request, "Permission denied");
    }
    actions.push({ action, fields: request.toRecord(), at: performance.now() });
    for (const watcher of [...watchers]) watcher();
    if (faults.dropOnAction) return void client.socket.terminate();
    if (faults.stallActions) return;
    switch (name) {
      case "login":
        return reply(client, request, "Success", [["Message", "Already authenticated"]]);
      case "logoff":
        reply(client, request, "Goodbye", [["Message", "Thanks for all the fish."]]);
        return void client.socket.end();
      case "ping":
        return reply(client, request, "Success", [["Ping", "Pong"], ["Timestamp", (Date.now() / 1000).toFixed(6)]]);
      case "status":
        return onStatus(client, request);
      case "redirect":
        return onRedirect(client, request);
      case "originate":
        return onOriginate(client, request);
      default:
        error(client, request, `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`);
    }
  };

  const listener = Bun.listen<Client>({
    hostname: "127.0.0.1",
    port: o.port ?? 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        const parser = new AmiParser({ onMessage: (message) => onAction(client, message) }, { expectBanner: false });
        const client: Client = { socket, parser, loggedIn: false, classes: null, unsent: null };
        socket.data = client;
        clients.add(client);
        send(client, banner);
      },
      data(socket, chunk) {
        try {
          socket.data.parser.push(chunk);
        } catch {
          // Past a protocol error the stream cannot be followed; Asterisk would answer "line too long".
          socket.terminate();
        }
      },
      drain(socket) {
        flush(socket.data);
      },
      close(socket) {
        clients.delete(socket.data);
      },
    },
  });

  return {
    host: listener.hostname,
    port: listener.port,
    actions,
    addChannel(c) {
      const channel: FakeChannel = { ...c, variable: c.variable ?? "VB_UUID" };
      channels.set(c.channel, channel);
      channelEvent("Newchannel", "call,all", channel, []);
      channelEvent("VarSet", "dialplan,all", channel, [["Variable", channel.variable], ["Value", c.uuid]]);
      channelEvent("Newexten", "dialplan,all", channel, [["Extension", "777"], ["Application", "AudioSocket"], ["AppData", `${c.uuid},${AUDIOSOCKET_SERVICE}`]]);
    },
    hangupChannel(name) {
      const channel = channels.get(name);
      if (!channel) return;
      channels.delete(name);
      channelEvent("Hangup", "call,all", channel, [["Cause", "16"], ["Cause-txt", "Normal Clearing"]]);
    },
    emit(fields) {
      broadcast(Object.entries(fields));
    },
    onRedirect(handler) {
      redirectHandler = handler;
    },
    misbehave(m) {
      Object.assign(faults, m);
    },
    dropClients() {
      for (const client of clients) client.socket.terminate();
    },
    waitForAction(name, timeoutMs = 2000) {
      const key = name.toLowerCase();
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const from = cursors.get(key) ?? 0;
          const index = actions.findIndex((a, i) => i >= from && a.action.toLowerCase() === key);
          if (index < 0) return false;
          cursors.set(key, index + 1);
          resolve({ fields: actions[index]!.fields, at: actions[index]!.at });
          return true;
        };
        if (check()) return;
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`fake AMI: no ${name} action within ${timeoutMs} ms`));
        }, timeoutMs);
        const watcher = (): void => {
          if (!check()) return;
          clearTimeout(timer);
          watchers.delete(watcher);
        };
        watchers.add(watcher);
      });
    },
    async stop() {
      for (const client of clients) client.socket.terminate();
      clients.clear();
      listener.stop(true);
    },
  };
}
