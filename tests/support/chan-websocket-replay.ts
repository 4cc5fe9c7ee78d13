/**
 * The chan_websocket captures (/work/shared/fixtures/chan_websocket) and a listener to replay them
 * to: each scenario's messages.json with its binary payloads cut from the .bin files, a real
 * ChanWebsocket server on port 0 whose calls are recorded legs the test drives, and the Asterisk
 * side as a WebSocket client that keeps every message voicebot sends.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { rootLogger } from "../../src/log.ts";
import { startChanWebsocketServer, type ChanWebsocketServer } from "../../src/transports/chan-websocket.ts";
import { newTransportStats, type CallLeg, type LegCloseReason, type TransportStats } from "../../src/transports/types.ts";
import { waitFor } from "./log-capture.ts";

export const CWS_FIXTURES = "/work/shared/fixtures/chan_websocket";

export interface CapturedMessage {
  t_ms: number;
  dir: "rx" | "tx" | "note";
  type: "text" | "binary" | "close" | "tcp_abort" | "skipped_send_closed";
  text?: string;
  len?: number;
  offset?: number;
  close_code?: number;
  close_reason?: string;
  note?: string;
}

export interface Scenario {
  name: string;
  requestPath: string | null;
  headers: Record<string, string>;
  subprotocol: string | null;
  format: string | null;
  optimalFrameSize: number | null;
  messages: CapturedMessage[];
  /** What Asterisk sent (rx binary payloads, in order) and what the capture server sent. */
  fromAsterisk: Uint8Array;
  toAsterisk: Uint8Array;
}

export function scenarioNames(): string[] {
  return readdirSync(CWS_FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^s\d+[a-z]?_/.test(d.name))
    .map((d) => d.name)
    .sort();
}

export function loadScenario(name: string): Scenario {
  const dir = join(CWS_FIXTURES, name);
  const bin = (file: string): Uint8Array => {
    try {
      return new Uint8Array(readFileSync(join(dir, file)));
    } catch {
      return new Uint8Array(0);
    }
  };
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(readFileSync(join(dir, "messages.json"), "utf8")) as Record<string, unknown>;
  } catch {
    // s11: Asterisk never connected, so there is no conversation.
  }
  return {
    name,
    requestPath: (raw.request_path as string | undefined) ?? null,
    headers: (raw.request_headers as Record<string, string> | undefined) ?? {},
    subprotocol: (raw.subprotocol as string | null | undefined) ?? null,
    format: (raw.media_format as string | undefined) ?? null,
    optimalFrameSize: (raw.optimal_frame_size as number | undefined) ?? null,
    messages: (raw.messages as CapturedMessage[] | undefined) ?? [],
    fromAsterisk: bin("asterisk_to_server.bin"),
    toAsterisk: bin("server_to_asterisk.bin"),
  };
}

/** A call as the call layer saw it. */
export interface RecordedLeg {
  leg: CallLeg;
  audio: number[];
  digits: string;
  closed: { reason: LegCloseReason; detail: string | undefined } | null;
}

export interface ReplayServer {
  server: ChanWebsocketServer;
  stats: TransportStats;
  legs: RecordedLeg[];
  stop(): Promise<void>;
}

/** `silenceFillAfterMs`: off by default, so a replay hears exactly the captured frames. */
export function startReplayServer(token: string | null = null, resolveTenant: (id: string | null) => string | null = (id) => id ?? "default", silenceFillAfterMs = 600_000): ReplayServer {
  const legs: RecordedLeg[] = [];
  const stats = newTransportStats();
  const server = startChanWebsocketServer({
    host: "127.0.0.1", port: 0, token, resolveTenant, stats, log: rootLogger.child("test"), firstMessageTimeoutMs: 2000, silenceFillAfterMs,
    admit: (leg) => {
      const record: RecordedLeg = { leg, audio: [], digits: "", closed: null };
      legs.push(record);
      return {
        onAudio: (samples) => {
          for (const s of samples) record.audio.push(s);
        },
        onDtmf: (digit) => (record.digits += digit),
        onRateChange: () => {},
        onClose: (reason, detail) => (record.closed = { reason, detail }),
      };
    },
  });
  return { server, stats, legs, stop: () => server.stop() };
}

/** The Asterisk side: a client that keeps what voicebot sends. */
export class AsteriskSide {
  readonly texts: string[] = [];
  readonly binaries: Uint8Array[] = [];
  closed: { code: number; reason: string } | null = null;
  protocol = "";

  private constructor(readonly ws: WebSocket) {}

  static async connect(port: number, path: string, protocols: string[] = ["media"], headers: Record<string, string> = {}): Promise<AsteriskSide> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { protocols, headers } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    const side = new AsteriskSide(ws);
    ws.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => {
      if (typeof event.data === "string") side.texts.push(event.data);
      else side.binaries.push(new Uint8Array(event.data));
    });
    ws.addEventListener("close", (event) => (side.closed = { code: event.code, reason: event.reason }));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("close", (event) => reject(new Error(`closed before open: ${event.code}`)));
    });
    side.protocol = ws.protocol;
    return side;
  }

  /** Sends every rx message of the capture in order (texts verbatim, binaries cut from the .bin). */
  replayRx(s: Scenario, until: (m: CapturedMessage) => boolean = () => false): number {
    let sent = 0;
    for (const m of s.messages) {
      if (until(m)) break;
      if (m.dir !== "rx") continue;
      if (m.type === "text") this.ws.send(m.text!);
      else if (m.type === "binary") this.ws.send(s.fromAsterisk.subarray(m.offset!, m.offset! + m.len!));
      else continue;
      sent++;
    }
    return sent;
  }

  async waitClosed(): Promise<{ code: number; reason: string }> {
    await waitFor("the connection to close", () => this.closed !== null);
    return this.closed!;
  }
}
