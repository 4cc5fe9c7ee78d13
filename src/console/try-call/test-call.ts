/**
 * The console's test call, browser side: the microphone streams to voicebot over the WebSocket at
 * /api/try-call and the bot's audio plays back (wire protocol: README, Admin API). Browser code
 * only (no UI): the page calls startTestCall from its button and shows what the callbacks say.
 */
import captureSource from "./capture.worklet.js" with { type: "text" };
import playbackSource from "./playback.worklet.js" with { type: "text" };
import resamplerUrl from "@alexanderolsen/libsamplerate-js/dist/libsamplerate.worklet.js" with { type: "file" };

export interface TestCallOptions {
  /** The socket's URL: `/api/try-call` (relative to the page, or absolute; http(s) becomes ws(s)), with `?tenant=`/`?caller=` if wanted. */
  url: string;
  /** The call is connected: its UUID, as /api/calls and the live feed show it. */
  onCallId(id: string): void;
  /** The call is over: the bot's end reason (e.g. "resolved", "busy", "shutdown"), or "caller-hangup" after hangup(). */
  onEnded(reason: string): void;
  /** It failed (microphone refused, connection refused or lost, a protocol fault); everything is released. */
  onError(message: string): void;
  /** About 10 times a second: the microphone's and the bot's levels, in dBFS. */
  onLevel?(inDb: number, outDb: number): void;
  /** Capture at the device's rate and resample in the page, as Firefox needs; tests force it in Chromium. */
  captureAtDeviceRate?: boolean;
}

export interface TestCall {
  /** One keypad digit: 0-9, *, #, A-D (anything else is ignored). */
  sendDtmf(digit: string): void;
  /** Ends the call from the page; onEnded("caller-hangup") follows. */
  hangup(): void;
  /** Times the bot's audio ran dry in the jitter buffer (a gap heard). */
  readonly underruns: number;
}

const RATE = 16000;
const DIGIT = /^[0-9*#A-D]$/;
/** After the bot's "end", what is still queued (the jitter buffer's ~40-60 ms) plays out before the sound stops. */
const PLAY_OUT_MS = 250;
const MEDIA: MediaStreamConstraints = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } };

interface PlaybackReport {
  db: number;
  underruns: number;
}

function socketUrl(url: string): string {
  const resolved = new URL(url, location.href);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  else if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.href;
}

function messageOf(error: unknown): string {
  if (error instanceof DOMException && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
    return "the microphone was refused: allow it for this page (browsers only offer it on https:// or localhost)";
  }
  if (error instanceof DOMException && error.name === "NotFoundError") return "no microphone was found";
  return error instanceof Error ? error.message : String(error);
}

async function addWorklet(context: AudioContext, source: string): Promise<void> {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    await context.audioWorklet.addModule(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Starts a test call. Every failure is reported once through onError (never as a rejection): the
 * promise resolves with the call's controls as soon as the microphone and audio are running and the
 * socket is opening, or, when they could not start, with controls that do nothing.
 */
export async function startTestCall(options: TestCallOptions): Promise<TestCall> {
  const call = new BrowserTestCall(options);
  await call.start();
  return call;
}

class BrowserTestCall implements TestCall {
  underruns = 0;
  private stream: MediaStream | null = null;
  private context: AudioContext | null = null;
  /** Firefox's microphone path: a context at the device's rate (null where the call's context takes the microphone). */
  private deviceContext: AudioContext | null = null;
  private playback: AudioWorkletNode | null = null;
  private socket: WebSocket | null = null;
  private done = false;
  private endReason: string | null = null;
  private inDb = -100;

  constructor(private readonly options: TestCallOptions) {}

  async start(): Promise<void> {
    try {
      this.stream = await navigator.mediaDevices.getUserMedia(MEDIA);
      // The browser resamples the microphone to the call's rate, and the bot's audio from it.
      const context = new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
      this.context = context;
      await Promise.all([addWorklet(context, captureSource), addWorklet(context, playbackSource)]);
      await context.resume();
      await this.startCapture(context, this.stream);
      const playback = new AudioWorkletNode(context, "voicebot-playback", { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
      playback.port.onmessage = (event: MessageEvent<PlaybackReport>) => this.onPlaybackReport(event.data);
      playback.connect(context.destination);
      this.playback = playback;
      this.connect(socketUrl(this.options.url));
    } catch (error) {
      this.fail(messageOf(error));
    }
  }

  /**
   * The microphone into the 16 kHz context; where the browser refuses that (Firefox: "different
   * sample-rate is currently not supported"), into a context of its own at the device's rate.
   */
  private async startCapture(context: AudioContext, stream: MediaStream): Promise<void> {
    if (this.options.captureAtDeviceRate !== true) {
      try {
        this.capture(context, context.createMediaStreamSource(stream), false);
        return;
      } catch (error) {
        if (!(error instanceof DOMException && error.name === "NotSupportedError")) throw error;
      }
    }
    const device = new AudioContext({ latencyHint: "interactive" });
    this.deviceContext = device;
    await device.audioWorklet.addModule(resamplerUrl);
    await addWorklet(device, captureSource);
    await device.resume();
    this.capture(device, device.createMediaStreamSource(stream), device.sampleRate !== RATE);
  }

  private capture(context: AudioContext, source: MediaStreamAudioSourceNode, resample: boolean): void {
    const node = new AudioWorkletNode(context, "voicebot-capture", { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit", processorOptions: { resample } });
    node.port.onmessage = (event: MessageEvent<{ frame: ArrayBuffer; db: number }>) => this.onCaptured(event.data.frame, event.data.db);
    source.connect(node);
  }

  sendDtmf(digit: string): void {
    if (DIGIT.test(digit)) this.sendText(JSON.stringify({ type: "dtmf", digit }));
  }

  hangup(): void {
    if (this.done) return;
    const socket = this.socket;
    if (socket !== null && socket.readyState === WebSocket.OPEN) {
      // The server closes 1000 "caller hung up": onClose reports the end.
      this.endReason = "caller-hangup";
      socket.send(JSON.stringify({ type: "hangup" }));
      return;
    }
    this.finish("caller-hangup");
  }

  private connect(url: string): void {
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      if (typeof event.data === "string") this.onText(event.data);
      else this.playback?.port.postMessage(event.data, [event.data]);
    };
    socket.onclose = (event) => this.onClose(event.code, event.reason);
  }

  private onCaptured(frame: ArrayBuffer, db: number): void {
    this.inDb = db;
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  private onPlaybackReport(report: PlaybackReport): void {
    this.underruns = report.underruns;
    this.options.onLevel?.(this.inDb, report.db);
  }

  private onText(text: string): void {
    let message: { type?: unknown; id?: unknown; sampleRate?: unknown; reason?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return this.fail(`the server sent text that is not JSON: ${text.slice(0, 80)}`);
    }
    if (message.type === "call" && typeof message.id === "string") {
      if (message.sampleRate !== RATE) return this.fail(`the server's call runs at ${String(message.sampleRate)} Hz; this page speaks ${RATE} Hz`);
      this.options.onCallId(message.id);
    } else if (message.type === "flush") {
      this.playback?.port.postMessage("flush");
    } else if (message.type === "end") {
      this.endReason = typeof message.reason === "string" ? message.reason : "hangup";
    }
  }

  private onClose(code: number, reason: string): void {
    if (this.done) return;
    if (this.endReason !== null) {
      const ended = this.endReason;
      // The bot's last word is still in the jitter buffer: let it play out.
      setTimeout(() => this.finish(ended), PLAY_OUT_MS);
      this.stopCapture();
      return;
    }
    if (code === 1006) this.fail("the test call's connection failed or was refused (signed out, or another origin?)");
    else this.fail(`the server closed the test call: ${code}${reason ? ` ${reason}` : ""}`);
  }

  private sendText(text: string): void {
    if (!this.done && this.socket?.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  private finish(reason: string): void {
    if (this.done) return;
    this.release();
    this.options.onEnded(reason);
  }

  private fail(message: string): void {
    if (this.done) return;
    this.release();
    this.options.onError(message);
  }

  /** The microphone stops at once (its light goes off); the bot's audio may still play out. */
  private stopCapture(): void {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
  }

  private release(): void {
    this.done = true;
    this.stopCapture();
    const socket = this.socket;
    if (socket !== null) {
      socket.onmessage = null;
      socket.onclose = null;
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000, "page hung up");
    }
    if (this.playback !== null) this.playback.port.onmessage = null;
    void this.context?.close().catch(() => undefined);
    void this.deviceContext?.close().catch(() => undefined);
  }
}
