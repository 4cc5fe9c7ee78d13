/**
 * The console page's side of a test call (src/console/try-call/), as its module behaves: a
 * WebSocket to the admin port's /api/try-call, 20 ms PCM16LE frames at 16 kHz every 20 ms from
 * the microphone, digits as `{"type":"dtmf"}` text, and a close to hang up. The bot's frames are
 * heard as they arrive (the page's jitter buffer then holds them 40 to 60 ms more).
 */
import { BROWSER_FRAME_SAMPLES, BROWSER_RATE, TRY_CALL_PATH } from "../transports/browser-protocol.ts";
import type { CallWire, WireEvents } from "./wire.ts";

export interface BrowserTarget {
  /** The admin port, `http://HOST:PORT` (the socket is `ws://HOST:PORT/api/try-call`). */
  admin: string;
  /** The console token (`?token=`), or null with a session `cookie` instead. */
  token: string | null;
  /** `voicebot_session=…` from POST /api/session. */
  cookie?: string;
  /** `tenant=` and `caller=` for the call. */
  tenant?: string;
  caller?: string;
}

/** More than this unsent makes a frame wait: a browser does not queue seconds of microphone. */
const MAX_BUFFERED_BYTES = 16 * 1024;

export class BrowserWire implements CallWire {
  readonly target: string;
  readonly idleTimeoutMs = 0;
  readonly digitsUnsupported = null;
  framesSkipped = 0;
  /** The call's UUID as the server named it in its first message. */
  serverCallId: string | null = null;
  private readonly url: string;
  private readonly silence = new Uint8Array(BROWSER_FRAME_SAMPLES * 2);
  private readonly out = new Int16Array(BROWSER_FRAME_SAMPLES);
  private readonly outBytes = new Uint8Array(this.out.buffer);
  private ws: WebSocket | null = null;
  private events: WireEvents | null = null;
  private closing = false;
  private ended = false;

  constructor(private readonly browser: BrowserTarget, rate: number) {
    if (rate !== BROWSER_RATE) throw new Error(`the console's test call runs at ${BROWSER_RATE} Hz, not ${rate} Hz`);
    const url = new URL(TRY_CALL_PATH, browser.admin);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (browser.token !== null) url.searchParams.set("token", browser.token);
    if (browser.tenant !== undefined) url.searchParams.set("tenant", browser.tenant);
    if (browser.caller !== undefined) url.searchParams.set("caller", browser.caller);
    this.url = url.href;
    this.target = url.href.replace(/([?&]token=)[^&]*/, "$1…");
  }

  /** Resolves once the server's `call` message came (the call is admitted and named). */
  connect(events: WireEvents): Promise<void> {
    this.events = events;
    return new Promise<void>((resolve, reject) => {
      const headers: Record<string, string> = this.browser.cookie === undefined ? {} : { cookie: this.browser.cookie };
      const ws = new WebSocket(this.url, { headers });
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      let named = false;
      let failure = "";
      ws.addEventListener("error", (event) => (failure = (event as ErrorEvent).message ?? ""));
      ws.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => {
        if (typeof event.data !== "string") return this.onAudio(event.data);
        if (!named && this.onFirstText(event.data, reject)) {
          named = true;
          resolve();
        } else if (named) this.onText(event.data);
      });
      ws.addEventListener("close", (event) => {
        if (!named) reject(new Error(notNamed(failure, event.code, event.reason)));
        else this.onClose(event.code, event.reason);
      });
    });
  }

  tick(frame: Int16Array | null): void {
    const ws = this.ws;
    if (ws === null || this.closing || this.serverCallId === null) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.framesSkipped++;
      return;
    }
    if (frame === null) ws.send(this.silence);
    else {
      this.out.set(frame);
      ws.send(this.outBytes);
    }
  }

  sendDigit(digit: string): void {
    if (!this.closing) this.ws?.send(JSON.stringify({ type: "dtmf", digit }));
  }

  /** The page hangs up (or is closed): the socket closes. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.ws?.close(1000, "page hung up");
  }

  private onFirstText(text: string, reject: (err: Error) => void): boolean {
    const message = parse(text);
    if (message?.type !== "call" || typeof message.id !== "string" || message.sampleRate !== BROWSER_RATE) {
      reject(new Error(`the server's first message is not {"type":"call",…,"sampleRate":${BROWSER_RATE}}: ${text.slice(0, 120)}`));
      this.close();
      return false;
    }
    this.serverCallId = message.id;
    return true;
  }

  private onText(text: string): void {
    const events = this.events;
    if (events === null || this.closing) return;
    const message = parse(text);
    if (message?.type === "flush") events.playbackBroken(performance.now());
    else if (message?.type === "end") this.ended = true;
    else events.failed(`the server sent an unknown text message: ${text.slice(0, 120)}`);
  }

  private onAudio(data: ArrayBuffer): void {
    if (this.closing || this.events === null) return;
    const bytes = new Uint8Array(data);
    if (bytes.length !== BROWSER_FRAME_SAMPLES * 2) {
      this.events.failed(`the server sent a binary message of ${bytes.length} bytes: the page expects 20 ms frames (${BROWSER_FRAME_SAMPLES * 2} bytes)`);
      return;
    }
    this.events.heard(bytes, 0, bytes.length, BROWSER_RATE, performance.now());
  }

  private onClose(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    if (this.ended && code === 1000) this.events?.serverEnded(true);
    else if (code === 1000 || code === 1001) this.events?.serverEnded(false);
    else this.events?.failed(`the server closed the test call: ${code}${reason ? ` ${reason}` : ""}`);
  }
}

/** Why the call never started: the upgrade's HTTP refusal, no listener, or the server's close. */
function notNamed(failure: string, code: number, reason: string): string {
  const status = /Expected 101 status code: (\d+)/.exec(failure)?.[1];
  if (status === "401") return "the upgrade was refused with HTTP 401: sign in (POST /api/session) or give the console token";
  if (status === "403") return "the upgrade was refused with HTTP 403: a foreign Origin, or PBX_TOKEN instead of the console token";
  if (status !== undefined) return `the upgrade was refused with HTTP ${status}`;
  if (/Failed to connect|ECONNREFUSED/.test(failure)) return "connection refused (is that voicebot's admin port, HTTP_HOST/HTTP_PORT?)";
  return `the server closed the test call before naming it (${code}${reason ? ` ${reason}` : ""})`;
}

function parse(text: string): { type?: unknown; id?: unknown; sampleRate?: unknown } | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as { type?: unknown }) : null;
  } catch {
    return null;
  }
}
