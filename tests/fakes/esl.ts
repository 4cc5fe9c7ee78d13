/**
 * A fake FreeSWITCH Event Socket (mod_event_socket, inbound mode) speaking the real wire protocol:
 * `auth/request`, `auth`, `event plain …` (CUSTOM followed by subclasses), `api` → `api/response`,
 * `bgapi` → `command/reply` with Job-UUID then a BACKGROUND_JOB event, `exit`, disconnect notices,
 * the ACL's `text/rude-rejection`; `bgapi originate` of a loopback channel into a rendered dialplan
 * (esl-originate.ts: it calls a real voicebot). Quiet and free of test imports: `voicebot bench` and the
 * simulator's fake FreeSWITCH run it inside the binary.
 */
import type { Socket } from "bun";
import { originateLoopback, type FakeFreeswitchDialplan } from "./esl-originate.ts";

export interface FakeEsl {
  readonly host: string;
  readonly port: number;
  /** Every command line received after auth, with arrival time (performance.now()). */
  readonly commands: { line: string; at: number }[];
  /** Reply body for `api`/`bgapi` commands, given the whole line; null = the default ("+OK\n"). */
  onCommand(handler: (line: string) => string | null): void;
  /** Sends an event, event-plain framed, to every client subscribed to it (by name, or CUSTOM + subclass). */
  emit(event: { name: string; subclass?: string; uuid?: string; headers?: Record<string, string>; body?: string }): void;
  /** `stallOriginate`: `bgapi originate` gets its Job-UUID, then no BACKGROUND_JOB ever comes. */
  misbehave(m: { rejectAuth?: boolean; rude?: boolean; stallCommands?: boolean; stallOriginate?: boolean }): void;
  /** Closes every client (to test reconnects), after a `text/disconnect-notice` when `notice` is set. */
  dropClients(options?: { notice?: boolean }): void;
  /** FreeSWITCH stops (or has not started yet): every client is cut off and the port refuses connections. */
  stopListening(): void;
  /** FreeSWITCH is back on the same port. */
  listenAgain(): void;
  /** The first command starting with `prefix` not yet returned by an earlier call, waiting for it if needed. */
  waitForCommand(prefix: string, timeoutMs?: number): Promise<{ line: string; at: number }>;
  /** Authenticated clients now. */
  readonly clients: number;
  stop(): Promise<void>;
}

interface Client {
  socket: Socket<Client>;
  readonly decoder: TextDecoder;
  text: string;
  unsent: Uint8Array | null;
  closing: boolean;
  authed: boolean;
  all: boolean;
  readonly events: Set<string>;
  readonly subclasses: Set<string>;
  /** Commands held while stalled, answered in order once the stall ends (a blocked listener thread). */
  readonly held: string[];
}

const GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";
const DENIED = "Access Denied, go away.\n";
const MAX_COMMAND_CHARS = 1024 * 1024;
const encoder = new TextEncoder();
/** Characters switch_url_encode escapes in event-plain header values, besides controls and non-ASCII. */
const URL_UNSAFE = new Set(`\r\n "#%&+:;<=>?@[\\]^\`{|}`.split("").map((c) => c.charCodeAt(0)));

function urlEncode(value: string): string {
  let out = "";
  for (const byte of encoder.encode(value)) {
    out += byte < 0x20 || byte >= 0x7f || URL_UNSAFE.has(byte) ? "%" + byte.toString(16).toUpperCase().padStart(2, "0") : String.fromCharCode(byte);
  }
  return out;
}

function withBody(head: string, body: string): string {
  return `${head}Content-Length: ${encoder.encode(body).length}\n\n${body}`;
}

function reply(text: string, extra = ""): string {
  return `Content-Type: command/reply\nReply-Text: ${text}\n${extra}\n`;
}

/**
 * `dialplan`: what `bgapi originate` runs (none: originate answers as `onCommand` says). `password`
 * and `dialplan` may be read at each use (a staged FreeSWITCH whose files a script changes).
 */
export async function startFakeEsl(o: {
  password?: string | (() => string); port?: number; dialplan?: FakeFreeswitchDialplan | (() => FakeFreeswitchDialplan | undefined);
} = {}): Promise<FakeEsl> {
  const password = typeof o.password === "function" ? o.password : () => (o.password as string | undefined) ?? "ClueCon";
  const dialplan = typeof o.dialplan === "function" ? o.dialplan : () => o.dialplan as FakeFreeswitchDialplan | undefined;
  const coreUuid = crypto.randomUUID();
  const clients = new Set<Client>();
  const commands: { line: string; at: number }[] = [];
  const claimed = new Set<number>();
  const waiters = new Set<{ prefix: string; take(index: number): void }>();
  const flags = { rejectAuth: false, rude: false, stallCommands: false, stallOriginate: false };
  let handler: (line: string) => string | null = () => null;
  let sequence = 0;

  const send = (client: Client, text: string): void => {
    let out = encoder.encode(text);
    if (client.unsent) {
      const joined = new Uint8Array(client.unsent.length + out.length);
      joined.set(client.unsent);
      joined.set(out, client.unsent.length);
      out = joined;
    }
    client.unsent = null;
    flush(client, out);
  };
  const flush = (client: Client, out: Uint8Array): void => {
    const written = out.length === 0 ? 0 : client.socket.write(out);
    if (written < out.length) client.unsent = out.subarray(Math.max(written, 0));
    else if (client.closing) client.socket.end();
  };
  const hangUp = (client: Client, notice: boolean): void => {
    if (notice) send(client, withBody("Content-Type: text/disconnect-notice\n", GOODBYE));
    client.closing = true;
    if (!client.unsent) client.socket.end();
  };

  const eventText = (event: Parameters<FakeEsl["emit"]>[0]): string => {
    const now = new Date();
    const headers: [string, string][] = [];
    if (event.subclass !== undefined) headers.push(["Event-Subclass", event.subclass]);
    headers.push(
      ["Event-Name", event.name],
      ["Core-UUID", coreUuid],
      ["FreeSWITCH-Hostname", "fake-freeswitch"],
      ["FreeSWITCH-Switchname", "fake-freeswitch"],
      ["FreeSWITCH-IPv4", "127.0.0.1"],
      ["Event-Date-Local", now.toISOString().slice(0, 19).replace("T", " ")],
      ["Event-Date-GMT", now.toUTCString()],
      ["Event-Date-Timestamp", String(now.getTime() * 1000)],
      ["Event-Calling-File", "fake_esl.ts"],
      ["Event-Calling-Function", "emit"],
      ["Event-Calling-Line-Number", "1"],
      ["Event-Sequence", String(++sequence)],
    );
    if (event.uuid !== undefined) headers.push(["Unique-ID", event.uuid], ["Channel-Call-UUID", event.uuid]);
    headers.push(...Object.entries(event.headers ?? {}));
    const head = headers.map(([name, value]) => `${name}: ${urlEncode(value)}\n`).join("");
    const plain = event.body === undefined || event.body === "" ? head + "\n" : withBody(head, event.body);
    return `Content-Length: ${encoder.encode(plain).length}\nContent-Type: text/event-plain\n\n${plain}`;
  };
  const wants = (client: Client, name: string, subclass: string | undefined): boolean =>
    client.authed &&
    !client.closing &&
    (client.all ||
      (name === "CUSTOM" ? client.events.has("CUSTOM") && (subclass === undefined || client.subclasses.has(subclass)) : client.events.has(name)));
  const emit = (event: Parameters<FakeEsl["emit"]>[0]): void => {
    let text: string | null = null;
    for (const client of clients) {
      if (!wants(client, event.name, event.subclass)) continue;
      text ??= eventText(event);
      send(client, text);
    }
  };

  const record = (line: string): void => {
    const entry = { line, at: performance.now() };
    commands.push(entry);
    for (const waiter of waiters) {
      if (!line.startsWith(waiter.prefix)) continue;
      waiter.take(commands.length - 1);
      return;
    }
  };

  const subscribe = (client: Client, words: string[]): string => {
    const [format, ...names] = words;
    if (format?.toLowerCase() !== "plain") return reply(`-ERR the fake Event Socket speaks only plain events, not ${format ?? "(none)"}`);
    let custom = false;
    let keywords = 0;
    for (const word of names) {
      // As mod_event_socket does: every word after CUSTOM is a subclass name.
      if (custom) client.subclasses.add(word);
      else if (word.toUpperCase() === "ALL") client.all = true;
      else client.events.add(word.toUpperCase());
      if (!custom) keywords++;
      if (word.toUpperCase() === "CUSTOM") custom = true;
    }
    return reply(keywords === 0 ? "-ERR no keywords supplied" : "+OK event listener enabled plain");
  };

  const execute = (client: Client, line: string): void => {
    const [verb = "", ...words] = line.split(" ").filter((w) => w !== "");
    const lower = verb.toLowerCase();
    if (lower === "exit") {
      send(client, reply("+OK bye"));
      return hangUp(client, true);
    }
    if (!client.authed) {
      if (lower !== "auth") return send(client, reply("-ERR command not found"));
      if (line.slice(5) !== password() || flags.rejectAuth) {
        send(client, reply("-ERR invalid"));
        return hangUp(client, true);
      }
      client.authed = true;
      return send(client, reply("+OK accepted"));
    }
    if (flags.stallCommands || client.held.length > 0) return void client.held.push(line);
    if (lower === "event") return send(client, subscribe(client, words));
    if (lower !== "api" && lower !== "bgapi") return send(client, reply("-ERR command not found"));
    const command = words.join(" ");
    const plan = lower === "bgapi" && words[0] === "originate" ? dialplan() : undefined;
    if (plan) return originate(client, words.slice(1).join(" "), plan);
    const body = handler(line) ?? (words[0] === "uuid_broadcast" ? "+OK Message sent\n" : "+OK\n");
    if (lower === "api") return send(client, withBody("Content-Type: api/response\n", body === "" ? "-ERR no reply\n" : body));
    const job = crypto.randomUUID();
    send(client, reply(`+OK Job-UUID: ${job}`, `Job-UUID: ${job}\n`));
    const [jobCommand = "", ...args] = command.split(" ");
    const headers: Record<string, string> = { "Job-UUID": job, "Job-Command": jobCommand };
    if (args.length > 0) headers["Job-Command-Arg"] = args.join(" ");
    emit({ name: "BACKGROUND_JOB", headers, body: body === "" ? "Command returned no output!" : body });
  };

  const originate = (client: Client, args: string, dialplan: FakeFreeswitchDialplan): void => {
    const job = crypto.randomUUID();
    send(client, reply(`+OK Job-UUID: ${job}`, `Job-UUID: ${job}\n`));
    if (flags.stallOriginate) return;
    void originateLoopback(dialplan, args, emit).then((body) =>
      emit({ name: "BACKGROUND_JOB", headers: { "Job-UUID": job, "Job-Command": "originate", "Job-Command-Arg": args }, body }));
  };

  const onData = (client: Client, chunk: Uint8Array): void => {
    client.text += client.decoder.decode(chunk, { stream: true }).replace(/\r/g, "");
    for (;;) {
      client.text = client.text.replace(/^\n+/, "");
      const end = client.text.indexOf("\n\n");
      if (end < 0) break;
      const line = client.text.slice(0, client.text.indexOf("\n"));
      client.text = client.text.slice(end + 2);
      if (client.closing) continue;
      if (client.authed) record(line);
      execute(client, line);
    }
    if (client.text.length > MAX_COMMAND_CHARS) hangUp(client, true);
  };

  const listen = (port: number) => Bun.listen<Client>({
    hostname: "127.0.0.1",
    port,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        const client: Client = {
          socket,
          decoder: new TextDecoder(),
          text: "",
          unsent: null,
          closing: false,
          authed: false,
          all: false,
          events: new Set(),
          subclasses: new Set(),
          held: [],
        };
        socket.data = client;
        clients.add(client);
        if (!flags.rude) return send(client, "Content-Type: auth/request\n\n");
        send(client, withBody("Content-Type: text/rude-rejection\n", DENIED));
        hangUp(client, true);
      },
      data: (socket, chunk) => onData(socket.data, chunk),
      drain(socket) {
        const unsent = socket.data.unsent;
        socket.data.unsent = null;
        if (unsent) flush(socket.data, unsent);
      },
      close: (socket) => void clients.delete(socket.data),
      error: () => {},
    },
  });
  let listener: ReturnType<typeof listen> | null = listen(o.port ?? 0);
  const port = listener.port;
  const cutOff = (): void => {
    for (const client of clients) client.socket.terminate();
    clients.clear();
    listener?.stop(true);
    listener = null;
  };

  return {
    host: "127.0.0.1",
    port,
    commands,
    onCommand: (next) => void (handler = next),
    emit,
    misbehave(m) {
      Object.assign(flags, m);
      if (flags.stallCommands) return;
      for (const client of clients) for (const line of client.held.splice(0)) execute(client, line);
    },
    dropClients: (options) => {
      for (const client of clients) hangUp(client, options?.notice === true);
    },
    stopListening: cutOff,
    listenAgain: () => void (listener ??= listen(port)),
    waitForCommand(prefix, timeoutMs = 2000) {
      const index = commands.findIndex((c, i) => !claimed.has(i) && c.line.startsWith(prefix));
      if (index >= 0) {
        claimed.add(index);
        return Promise.resolve(commands[index]!);
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          prefix,
          take: (i: number): void => {
            clearTimeout(timer);
            waiters.delete(waiter);
            claimed.add(i);
            resolve(commands[i]!);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = commands.slice(-5).map((c) => JSON.stringify(c.line)).join(", ") || "none";
          reject(new Error(`fake ESL: no command starting with ${JSON.stringify(prefix)} within ${timeoutMs} ms (last: ${seen})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    get clients() {
      let authed = 0;
      for (const client of clients) if (client.authed && !client.closing) authed++;
      return authed;
    },
    async stop() {
      cutOff();
    },
  };
}
